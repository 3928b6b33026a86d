"""An in-process ingest on the real servers, logged in as its first superadmin: what the auth,
identity and page-session tests start from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from dms_ingest.bootstrap import IngestApp, bootstrap
from dms_ingest.main import create_app
from dms_ingest.settings import IngestSettings
from tests.support.isolation import Isolated, isolated
from tests.support.servers import Endpoints

ROOT_PASSWORD = "Root-pass-12345"


@dataclass
class RunningIngest:
    iso: Isolated
    settings: IngestSettings
    app: IngestApp
    web: FastAPI
    client: httpx.AsyncClient
    root: dict[str, str]  # bearer headers of the first superadmin, "root"


@asynccontextmanager
async def running_ingest(servers: Endpoints, *,
                         client_ip: str | None = None) -> AsyncIterator[RunningIngest]:
    """Bootstrap ingest in isolated namespaces; `client` speaks to it from `client_ip`."""
    async with isolated(servers) as iso:
        settings = iso.settings(IngestSettings, jwt_private_key=iso.private_key,
                                admin_username="root", admin_password=ROOT_PASSWORD)
        app = await bootstrap(settings)
        try:
            web = create_app(settings, container=app)
            transport = (httpx.ASGITransport(app=web, client=(client_ip, 40000)) if client_ip
                         else httpx.ASGITransport(app=web))
            async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
                login = await client.post("/api/v1/auth/token", data={
                    "username": "root", "password": ROOT_PASSWORD})
                assert login.status_code == 200, login.text
                root = {"Authorization": f"Bearer {login.json()['access_token']}"}
                yield RunningIngest(iso, settings, app, web, client, root)
        finally:
            await app.close()
