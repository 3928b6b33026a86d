"""An unreachable store answers 503 with Retry-After; our own bug answers a plain 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from dms_common.web import create_service_app


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield


async def _ready(_: Request) -> dict[str, str]:
    return {}


def _client() -> TestClient:
    app = create_service_app(title="uji", description="uji", lifespan=_lifespan,
                             readiness=_ready)

    @app.get("/putus")
    async def outage() -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    @app.get("/rusak")
    async def bug() -> None:
        raise ValueError("a bug of ours")

    return TestClient(app, raise_server_exceptions=False)


def test_an_unreachable_server_answers_503_with_retry_after() -> None:
    response = _client().get("/putus")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "service_unavailable"


def test_a_bug_answers_500_without_details() -> None:
    response = _client().get("/rusak")
    assert response.status_code == 500
    assert response.json() == {"code": "internal_error",
                               "message": "Terjadi kesalahan pada server. Silakan coba lagi."}


def test_every_answer_carries_its_correlation_id_and_is_counted() -> None:
    from dms_common.metrics import HTTP_REQUESTS

    def count(path: str, status: str) -> float:
        sample = HTTP_REQUESTS.labels("GET", path, status)
        return float(sample._sum.get())

    client = _client()
    before = count("/rusak", "500")
    kept = client.get("/healthz", headers={"X-Correlation-ID": "uji-123"})
    assert kept.headers["x-correlation-id"] == "uji-123"
    made = client.get("/rusak", headers={"X-Correlation-ID": "bukan id;\n"})
    assert made.status_code == 500
    assert made.headers["x-correlation-id"] not in ("", "bukan id;\n")
    assert count("/rusak", "500") > before


def test_logging_keeps_an_access_log_that_uvicorn_turned_off_off() -> None:
    import logging

    from dms_common.logging import configure_logging

    access, root = logging.getLogger("uvicorn.access"), logging.getLogger()
    saved = (access.handlers[:], access.propagate)
    saved_root = (root.handlers[:], root.level)
    try:
        access.handlers[:] = []
        access.propagate = False  # what `uvicorn --no-access-log` leaves
        configure_logging("uji")
        assert access.propagate is False
        access.handlers[:] = [logging.NullHandler()]  # uvicorn's own access handler
        configure_logging("uji")
        assert access.propagate is True and access.handlers == []
    finally:
        access.handlers[:], access.propagate = saved
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
