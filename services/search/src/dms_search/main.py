"""The search API process: `uvicorn dms_search.main:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI, Request

from dms_common.pages import install_page_errors
from dms_common.web import attach_container, core_readiness, create_service_app, service_lifespan
from dms_search import api, pages
from dms_search.bootstrap import SearchApp, bootstrap
from dms_search.settings import SearchSettings


async def _readiness(request: Request) -> dict[str, str]:
    checks = await core_readiness(request)
    container: SearchApp | None = getattr(request.app.state, "container", None)
    if container is not None:
        checks["opensearch"] = await container.index.check()
    return checks


def create_app(settings: SearchSettings | None = None, *,
               container: SearchApp | None = None) -> FastAPI:
    """Build the search API; with `container`, use that already bootstrapped one (tests)."""
    app = create_service_app(
        title="DMS search",
        description="Pencarian dokumen: publik (yang diterbitkan) dan internal (staf).",
        lifespan=service_lifespan(name="search", settings_cls=SearchSettings, settings=settings,
                                  bootstrap=bootstrap, container=container, relay=False),
        readiness=_readiness)
    if container is not None:
        attach_container(app, container)
    install_page_errors(app)
    app.state.templates = pages.make_templates()
    app.include_router(api.router)
    app.include_router(pages.router)
    return app
