"""The publish API process: the public PPID portal and its JSON API.

Run with `uvicorn dms_publish.main:create_app --factory`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from dms_common.logging import configure_logging
from dms_common.settings import load_settings
from dms_common.web import create_service_app
from dms_publish import api, pages
from dms_publish.bootstrap import PublishApp, bootstrap
from dms_publish.settings import PublishSettings


def _attach(app: FastAPI, container: PublishApp) -> None:
    app.state.container = container
    app.state.token_verifier = container.core.verifier
    app.state.user_status = container.core.user_status


def create_app(settings: PublishSettings | None = None, *,
               container: PublishApp | None = None) -> FastAPI:
    """Build the API; with `container`, serve an already bootstrapped one (its owner closes it)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if container is not None:
            yield
            return
        loaded = settings or load_settings(PublishSettings)
        configure_logging(loaded.service_name, loaded.log_level)
        opened = await bootstrap(loaded)
        _attach(app, opened)
        try:
            yield
        finally:
            await opened.close()

    async def readiness(request: Request) -> dict[str, str]:
        return await api.get_container(request).core.check_ready()

    app = create_service_app(
        title="DMS publish",
        description="Portal PPID publik Bawaslu Provinsi Kalimantan Selatan dan API JSON-nya: "
                    "hanya dokumen yang dipublikasikan.",
        lifespan=lifespan, readiness=readiness)
    app.state.templates = pages.make_templates()
    if container is not None:
        _attach(app, container)
    app.include_router(api.router)
    app.include_router(pages.router)
    return app
