"""An in-process ingest on the real servers, with token users of two offices, for the
document tests (versions, listing, limits, sweeper). Tokens come from the test key pair, so
these tests do not depend on the login routes."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select

from dms_common.events import Event, parse_event
from dms_common.identity.tokens import Role
from dms_ingest.bootstrap import IngestApp, bootstrap
from dms_ingest.main import create_app
from dms_ingest.models import Division
from dms_ingest.settings import IngestSettings
from tests.support.isolation import isolated
from tests.support.servers import Endpoints

USERS = {
    "staff": (Role.STAFF, "6302"),
    "staff2": (Role.STAFF, "6302"),
    "admin": (Role.OFFICE_ADMIN, "6302"),
    "other": (Role.OFFICE_ADMIN, "6303"),
    "ppid": (Role.PPID, "63"),
    "root": (Role.SUPERADMIN, "63"),
}


@dataclass
class DocsEnv:
    app: IngestApp
    client: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    user_ids: dict[str, uuid.UUID]
    settings: IngestSettings
    extra: dict[str, Any] = field(default_factory=dict)

    async def upload(self, who: str, content: bytes, *, filename: str = "a.txt",
                     **data: str) -> httpx.Response:
        data.setdefault("title", f"Dokumen {uuid.uuid4().hex[:6]}")
        return await self.client.post("/api/v1/documents", headers=self.headers[who],
                                      files={"file": (filename, content)}, data=data)

    async def division_ids(self) -> list[uuid.UUID]:
        async with self.app.core.sessions() as session:
            return list((await session.execute(select(Division.id))).scalars())

    async def events(self, document_id: str) -> list[Event]:
        """The events ingest's outbox holds for a document, in the order they were written."""
        outbox = self.app.core.tables.outbox
        async with self.app.core.sessions() as session:
            values = (await session.execute(
                select(outbox.c.value).where(outbox.c.key == document_id)
                .order_by(outbox.c.id))).scalars().all()
        return [parse_event(value) for value in values]

    async def objects(self, prefix: str) -> list[str]:
        return [o.key async for o in self.app.core.store.list_objects(prefix)]


@asynccontextmanager
async def documents_env(servers: Endpoints, **settings: Any) -> AsyncIterator[DocsEnv]:
    async with isolated(servers) as iso:
        config = iso.settings(IngestSettings, jwt_private_key=iso.private_key,
                              admin_username="root", admin_password="Root-pass-12345",
                              **settings)
        app = await bootstrap(config)
        try:
            headers: dict[str, dict[str, str]] = {}
            ids: dict[str, uuid.UUID] = {}
            for name, (role, office) in USERS.items():
                ids[name], token = iso.user(role=role, office_code=office)
                headers[name] = {"Authorization": f"Bearer {token}"}
            await iso.register_users(app.core)
            transport = httpx.ASGITransport(app=create_app(config, container=app))
            async with httpx.AsyncClient(transport=transport, base_url="http://ingest",
                                         timeout=60) as client:
                yield DocsEnv(app, client, headers, ids, config)
        finally:
            await app.close()


def make_docx(entries: int = 3, *, payload: bytes = b"<w:document/>") -> bytes:
    """A DOCX-shaped ZIP: the OOXML content-types entry first, then `entries` parts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", payload)
        for i in range(max(0, entries - 2)):
            archive.writestr(f"word/media/p{i}.xml", f"<p>{i}</p>")
    return buffer.getvalue()
