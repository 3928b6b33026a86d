"""The classify API: `uvicorn dms_classify.main:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from dms_classify import api, pages
from dms_classify.bootstrap import ClassifyApp, bootstrap
from dms_classify.settings import ClassifySettings
from dms_common.pages import install_page_errors
from dms_common.web import attach_container, core_readiness, create_service_app, service_lifespan


def create_app(settings: ClassifySettings | None = None, *,
               container: ClassifyApp | None = None) -> FastAPI:
    """Build the API app; a given `container` (tests) is used as is and closed by its owner."""
    app = create_service_app(
        title="DMS classify",
        description="Ekstraksi teks dan klasifikasi informasi publik (UU 14/2008) oleh admin "
                    "kantor dan PPID.",
        # Decisions emit events: this process relays its own outbox.
        lifespan=service_lifespan(name="classify", settings_cls=ClassifySettings,
                                  settings=settings, bootstrap=bootstrap, container=container,
                                  relay=True),
        readiness=core_readiness)
    if container is not None:
        attach_container(app, container)
    app.include_router(api.router)
    app.include_router(api.exemptions)
    app.include_router(pages.router)
    app.state.templates = pages.build_templates()
    install_page_errors(app)
    return app
