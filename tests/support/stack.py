"""Helpers for tests that drive the running stack through the gateway (tests/e2e, tests/chaos).

The stack is `deploy/local/stack up` (or `make run`): the real servers, the four services' APIs
and workers, and nginx on 8080.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import httpx

from tests.support.servers import ROOT, read_env_file

GATEWAY = os.environ.get("DMS_GATEWAY_URL", "http://127.0.0.1:8080")
SERVICE_PORTS = {"ingest": 8001, "classify": 8002, "publish": 8003, "search": 8004}
T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], *, timeout: float = 60,
                     what: str, interval: float = 0.2) -> T:
    """Poll `probe` until it returns something truthy, or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await probe()
        if result:
            return result
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@asynccontextmanager
async def gateway_client(timeout: float = 30) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the gateway, after checking that every service is ready."""
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=timeout) as client:
        for service, port in SERVICE_PORTS.items():
            ready = (await client.get(f"http://127.0.0.1:{port}/readyz")).json()
            assert ready["status"] == "ready", f"{service} is not ready: {ready}"
        yield client


def admin_credentials() -> tuple[str, str]:
    """The first superadmin's username and password of the local stack."""
    dev = read_env_file(ROOT / "deploy" / "local" / "dev.env")
    return dev["DMS_ADMIN_USERNAME"], dev["DMS_ADMIN_PASSWORD"]


async def login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    """Bearer headers for a user, through the OAuth2 password flow."""
    response = await client.post("/api/v1/auth/token",
                                 data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@dataclass(frozen=True)
class StackUser:
    id: str
    username: str
    password: str
    headers: dict[str, str]


async def create_user(client: httpx.AsyncClient, *, role: str, office: str,
                      permissions: tuple[str, ...] = (), division_id: str | None = None,
                      ) -> StackUser:
    """A fresh account made by the superadmin, logged in."""
    root = await login(client, *admin_credentials())
    username, password = f"{role[:5]}{uuid.uuid4().hex[:10]}", f"Uji-{uuid.uuid4().hex}"
    body: dict[str, object] = {"username": username, "password": password,
                               "full_name": f"Pengguna Uji {username}", "role": role,
                               "office_code": office}
    if permissions:
        body["permissions"] = list(permissions)
    if division_id is not None:
        body["division_id"] = division_id
    created = await client.post("/api/v1/users", headers=root, json=body)
    assert created.status_code == 201, created.text
    return StackUser(id=created.json()["id"], username=username, password=password,
                     headers=await login(client, username, password))
