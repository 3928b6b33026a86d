"""Ingest's API: `uvicorn dms_ingest.main:create_app --factory`."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from dms_common.pages import install_page_errors
from dms_common.web import attach_container, core_readiness, create_service_app, service_lifespan
from dms_ingest import api, identity_api, pages
from dms_ingest.bootstrap import IngestApp, bootstrap
from dms_ingest.settings import IngestSettings


def create_app(settings: IngestSettings | None = None, *,
               container: IngestApp | None = None) -> FastAPI:
    """Build the API; a pre-built container (tests) skips bootstrap and close."""
    app = create_service_app(
        title="DMS Ingest",
        description="Unggah dokumen, kantor, pengguna dan token (Bawaslu Kalimantan Selatan).",
        lifespan=service_lifespan(name="ingest", settings_cls=IngestSettings, settings=settings,
                                  bootstrap=bootstrap, container=container, relay=True),
        readiness=core_readiness)
    app.include_router(identity_api.auth_router)
    app.include_router(identity_api.router)
    # A user who must replace a reset password may use nothing but the auth routes: the APIs'
    # authentication refuses them; the pages, which read their user leniently, ask here.
    app.include_router(api.router)
    app.include_router(pages.router, dependencies=[Depends(identity_api.password_current)])
    app.state.templates = pages.build_templates()
    install_page_errors(app)
    if container is not None:
        attach_container(app, container)
    return app
