"""The search API process: `uvicorn dms_search.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from dms_common.logging import configure_logging
from dms_common.settings import load_settings
from dms_common.web import create_service_app
from dms_search import api, pages
from dms_search.bootstrap import SearchApp, bootstrap
from dms_search.settings import SearchSettings


def _wire(app: FastAPI, container: SearchApp) -> None:
    app.state.container = container
    app.state.token_verifier = container.core.verifier
    app.state.user_status = container.core.user_status


async def _readiness(request: Request) -> dict[str, str]:
    container: SearchApp | None = getattr(request.app.state, "container", None)
    if container is None:
        return {"startup": "not started"}
    checks = await container.core.check_ready()
    checks["opensearch"] = await container.index.check()
    return checks


def create_app(settings: SearchSettings | None = None, *,
               container: SearchApp | None = None) -> FastAPI:
    """Build the search API; with `container`, use that already bootstrapped one (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if container is not None:
            yield  # owned, opened and closed by the caller
            return
        resolved = settings or load_settings(SearchSettings)
        configure_logging(resolved.service_name, resolved.log_level)
        opened = await bootstrap(resolved)
        _wire(app, opened)
        try:
            yield
        finally:
            await opened.close()

    app = create_service_app(
        title="DMS search",
        description="Pencarian dokumen: publik (yang diterbitkan) dan internal (staf).",
        lifespan=lifespan, readiness=_readiness)
    if container is not None:
        _wire(app, container)
    app.include_router(api.router)
    app.include_router(pages.router)
    return app
