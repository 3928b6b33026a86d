"""The classify API: `uvicorn dms_classify.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from dms_classify import api, pages
from dms_classify.bootstrap import ClassifyApp, bootstrap
from dms_classify.deps import get_container
from dms_classify.settings import ClassifySettings
from dms_common.logging import configure_logging
from dms_common.settings import load_settings
from dms_common.web import create_service_app


def _wire(app: FastAPI, container: ClassifyApp) -> None:
    app.state.container = container
    app.state.token_verifier = container.core.verifier
    app.state.user_status = container.core.user_status


def create_app(settings: ClassifySettings | None = None, *,
               container: ClassifyApp | None = None) -> FastAPI:
    """Build the API app; a given `container` (tests) is used as is and closed by its owner."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if container is not None:
            yield
            return
        resolved = settings or load_settings(ClassifySettings)
        configure_logging("classify", resolved.log_level)
        built = await bootstrap(resolved)
        _wire(app, built)
        # Decisions emit events: this process relays its own outbox.
        built.core.start_relay()
        try:
            yield
        finally:
            await built.close()

    async def readiness(request: Request) -> dict[str, str]:
        return await get_container(request).core.check_ready()

    app = create_service_app(
        title="DMS classify",
        description="Ekstraksi teks dan klasifikasi informasi publik (UU 14/2008) oleh admin "
                    "kantor dan PPID.",
        lifespan=lifespan, readiness=readiness)
    if container is not None:
        _wire(app, container)
    app.include_router(api.router)
    app.include_router(pages.router)
    return app
