"""Ingest's API: `uvicorn dms_ingest.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from dms_common.logging import configure_logging
from dms_common.settings import load_settings
from dms_common.web import create_service_app
from dms_ingest import api
from dms_ingest.bootstrap import IngestApp, bootstrap
from dms_ingest.settings import IngestSettings


def create_app(settings: IngestSettings | None = None,
               container: IngestApp | None = None) -> FastAPI:
    """Build the API; a pre-built container (tests) skips bootstrap and close."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal settings
        owned = container is None
        if container is None:
            settings = settings or load_settings(IngestSettings)
            configure_logging("ingest-api", settings.log_level)
            ingest = await bootstrap(settings)
        else:
            ingest = container
        install(app, ingest)
        if owned:
            ingest.core.start_relay()
        try:
            yield
        finally:
            if owned:
                await ingest.close()

    async def readiness(request: Request) -> dict[str, str]:
        ingest: IngestApp = request.app.state.container
        return await ingest.core.check_ready()

    app = create_service_app(
        title="DMS Ingest",
        description="Unggah dokumen, kantor, pengguna dan token (Bawaslu Kalimantan Selatan).",
        lifespan=lifespan, readiness=readiness)
    app.include_router(api.router)
    if container is not None:
        install(app, container)
    return app


def install(app: FastAPI, ingest: IngestApp) -> None:
    app.state.container = ingest
    app.state.token_verifier = ingest.core.verifier
    app.state.user_status = ingest.core.user_status
