"""The parts of every service's FastAPI app that are the same everywhere.

`create_service_app()` returns an app with the `{"code","message"}` error
handlers, a correlation id per request (taken from `X-Correlation-ID` or made
fresh, echoed back and carried into every event emitted while handling it),
request metrics, `/healthz` (the process lives), `/readyz` (its own
dependencies answer) and `/metrics` (Prometheus).
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dms_common.errors import error_response, install_error_handlers
from dms_common.logging import configure_logging, correlation
from dms_common.metrics import HTTP_REQUESTS
from dms_common.outages import is_transient
from dms_common.runtime import ServiceContainer
from dms_common.settings import ServiceSettings, load_settings

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[Request], Awaitable[dict[str, str]]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


class CorrelationMiddleware:
    """Give each request a correlation id, time it, and answer for errors nobody handled.

    Plain ASGI rather than ``BaseHTTPMiddleware``: that one runs every request in an extra task
    and pipes the response through a memory stream, a cost paid on each upload and search.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        incoming = request.headers.get("x-correlation-id", "")
        # Only accept ids that are safe to log and to put into events.
        if not (0 < len(incoming) <= 64 and incoming.replace("-", "").isalnum()):
            incoming = ""
        status = 500
        started_response = False
        with correlation(incoming or None) as correlation_id:
            header = (b"x-correlation-id", correlation_id.encode())

            async def send_with_id(message: Message) -> None:
                nonlocal status, started_response
                if message["type"] == "http.response.start":
                    started_response = True
                    status = message["status"]
                    message["headers"] = [*message.get("headers", []), header]
                await send(message)

            started = time.perf_counter()
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                if started_response:
                    raise  # too late for an error response: the client sees a cut stream
                response = self._error_response(request, exc)
                await response(scope, receive, send_with_id)
            finally:
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                HTTP_REQUESTS.labels(request.method, path, str(status)).observe(
                    time.perf_counter() - started)

    @staticmethod
    def _error_response(request: Request, exc: Exception) -> Response:
        if is_transient(exc):
            # A store that does not answer (a restart, an outage) is not a bug of
            # ours: say so, and when to come back, rather than a bare 500.
            log.warning("a server does not answer", extra={
                "path": request.url.path, "error": repr(exc)})
            return error_response(
                503, "service_unavailable",
                "Layanan sedang tidak tersedia sementara. Coba lagi beberapa saat lagi.",
                {"Retry-After": "5"})
        log.exception("unhandled error", extra={"path": request.url.path})
        return error_response(500, "internal_error",
                              "Terjadi kesalahan pada server. Silakan coba lagi.")


def create_service_app(*, title: str, description: str, lifespan: Lifespan,
                       readiness: ReadinessCheck, version: str = "0.1.0") -> FastAPI:
    """A FastAPI app with DMS's error shape, correlation ids, health and metrics."""
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    install_error_handlers(app)
    app.add_middleware(CorrelationMiddleware)

    @app.get("/healthz", tags=["ops"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], summary="The service's own dependencies answer",
             responses={503: {"description": "A dependency does not answer"}})
    async def readyz(request: Request) -> JSONResponse:
        checks = await readiness(request)
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                            status_code=200 if ready else 503)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


C = TypeVar("C", bound=ServiceContainer)
S = TypeVar("S", bound=ServiceSettings)


def container_of(request: Request, kind: type[C]) -> C:
    """The container the lifespan attached to the request's app, checked to be `kind`."""
    container = getattr(request.app.state, "container", None)
    if not isinstance(container, kind):
        raise RuntimeError("app.state.container is not set: wire it in the lifespan")
    return container


def container_dependency(kind: type[C]) -> Callable[[Request], Awaitable[C]]:
    """A FastAPI dependency giving the service's container.

    A coroutine on purpose: FastAPI runs a plain-function dependency on a worker thread, which
    cost every request a thread hop.
    """

    async def container(request: Request) -> C:
        return container_of(request, kind)

    return container


def attach_container(app: FastAPI, container: ServiceContainer) -> None:
    """Put a service's container where its dependencies (and the identity deps) look."""
    app.state.container = container
    app.state.token_verifier = container.core.verifier
    app.state.user_status = container.core.user_status


def service_lifespan(*, name: str, settings_cls: type[S], settings: S | None,
                     bootstrap: Callable[[S], Awaitable[C]], container: C | None,
                     relay: bool) -> Lifespan:
    """The API lifespan every service shares.

    With a `container` (tests), that already-open container is served and its
    owner closes it. Otherwise settings are loaded, logging configured, the
    service bootstrapped and, when its API emits events (`relay`), its outbox
    relayed from this process; all of it is closed on exit.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if container is not None:
            attach_container(app, container)
            yield
            return
        loaded = settings or load_settings(settings_cls)
        configure_logging(f"{name}-api", loaded.log_level)
        opened = await bootstrap(loaded)
        attach_container(app, opened)
        if relay:
            opened.core.start_relay()
        # Modules, the app and its clients (some 170,000 objects) live as long as the process,
        # yet every full garbage collection walked them all: a 40-130 ms pause of the event
        # loop every few thousand requests, stalling every request in flight (most of the
        # search API's p99). Frozen, a full pass walks only what requests leave behind.
        # A test's container (above) belongs to the test process and is not frozen.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await opened.close()

    return lifespan


async def core_readiness(request: Request) -> dict[str, str]:
    """Readiness of the dependencies every service has (database, Kafka, object store)."""
    container: ServiceContainer | None = getattr(request.app.state, "container", None)
    if container is None:
        return {"startup": "not started"}
    return await container.core.check_ready()


