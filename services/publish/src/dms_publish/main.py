"""The publish API process: the public PPID portal and its JSON API.

Run with `uvicorn dms_publish.main:create_app --factory`.
"""

from __future__ import annotations

from fastapi import FastAPI

from dms_common.pages import install_page_errors
from dms_common.web import attach_container, core_readiness, create_service_app, service_lifespan
from dms_publish import api, catalog, pages
from dms_publish.bootstrap import PublishApp, bootstrap
from dms_publish.settings import PublishSettings


def create_app(settings: PublishSettings | None = None, *,
               container: PublishApp | None = None) -> FastAPI:
    """Build the API; with `container`, serve an already bootstrapped one (its owner closes it)."""
    app = create_service_app(
        title="DMS publish",
        description="Portal PPID publik Bawaslu Provinsi Kalimantan Selatan dan API JSON-nya: "
                    "hanya dokumen yang dipublikasikan.",
        # The API only reads; the worker emits and relays.
        lifespan=service_lifespan(name="publish", settings_cls=PublishSettings,
                                  settings=settings, bootstrap=bootstrap, container=container,
                                  relay=False),
        readiness=core_readiness)
    install_page_errors(app)
    app.state.templates = pages.make_templates()
    if container is not None:
        attach_container(app, container)
    app.include_router(api.router)
    app.include_router(catalog.router)
    app.include_router(pages.router)
    return app
