"""Ingest against the real servers: login, streaming upload and its refusals, reading."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from dms_ingest.bootstrap import IngestApp, bootstrap
from dms_ingest.main import create_app
from dms_ingest.models import Document
from dms_ingest.settings import IngestSettings
from tests.support.isolation import isolated
from tests.support.pdf import make_pdf
from tests.support.servers import Endpoints

LIMIT = 2 * 1024 * 1024


@dataclass
class Ingest:
    app: IngestApp
    client: httpx.AsyncClient
    admin: dict[str, str]
    other_office: dict[str, str]


@pytest.fixture
async def ingest(servers: Endpoints) -> AsyncIterator[Ingest]:
    async with isolated(servers) as iso:
        settings = iso.settings(IngestSettings, jwt_private_key=iso.private_key,
                                admin_username="root", admin_password="Root-pass-12345",
                                max_upload_bytes=LIMIT)
        app = await bootstrap(settings)
        try:
            transport = httpx.ASGITransport(app=create_app(settings, container=app))
            async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
                root = await _login(client, "root", "Root-pass-12345")
                for name, office in (("kotabaru", "6302"), ("banjar", "6303")):
                    created = await client.post("/api/v1/users", headers=root, json={
                        "username": name, "password": "Rahasia-12345", "role": "office_admin",
                        "office_code": office})
                    assert created.status_code == 201, created.text
                yield Ingest(app, client, await _login(client, "kotabaru", "Rahasia-12345"),
                             await _login(client, "banjar", "Rahasia-12345"))
        finally:
            await app.close()


async def _login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/token",
                                 data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _objects(ingest: Ingest, office: str) -> list[str]:
    return [o.key async for o in ingest.app.core.store.list_objects(f"{office}/")]


async def _count(ingest: Ingest) -> int:
    async with ingest.app.core.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Document)))
                   .scalar_one())


async def test_wrong_password_is_refused(ingest: Ingest) -> None:
    response = await ingest.client.post("/api/v1/auth/token",
                                        data={"username": "kotabaru", "password": "salah"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


async def test_upload_streams_into_s3_and_announces_it(ingest: Ingest) -> None:
    pdf = make_pdf(["Berita acara rapat pleno"])
    response = await ingest.client.post(
        "/api/v1/documents", headers=ingest.admin,
        files={"file": ("berita-acara.pdf", pdf, "application/pdf")},
        data={"title": "Berita acara", "tags": "pleno, rekapitulasi"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["office_code"] == "6302" and body["tags"] == ["pleno", "rekapitulasi"]
    assert body["versions"][0]["sha256"] == hashlib.sha256(pdf).hexdigest()
    content = await ingest.client.get(f"/api/v1/documents/{body['id']}/content",
                                      headers=ingest.admin)
    assert content.status_code == 200 and content.content == pdf
    async with ingest.app.core.sessions() as session:
        outbox = ingest.app.core.tables.outbox
        topics = (await session.execute(
            select(outbox.c.topic).where(outbox.c.key == body["id"]))).scalars().all()
    assert topics == ["dms.document.received"]


async def test_another_office_gets_404(ingest: Ingest) -> None:
    response = await ingest.client.post(
        "/api/v1/documents", headers=ingest.admin,
        files={"file": ("a.txt", b"Surat edaran pengawasan", "text/plain")},
        data={"title": "Surat edaran"})
    doc_id = response.json()["id"]
    for path in (f"/api/v1/documents/{doc_id}", f"/api/v1/documents/{doc_id}/content"):
        other = await ingest.client.get(path, headers=ingest.other_office)
        assert other.status_code == 404
        assert other.json()["code"] == "not_found"
    listing = await ingest.client.get("/api/v1/documents", headers=ingest.other_office)
    assert doc_id not in {d["id"] for d in listing.json()["items"]}


async def test_exe_renamed_to_pdf_is_refused_and_nothing_stored(ingest: Ingest) -> None:
    before = await _count(ingest)
    exe = b"MZ\x90\x00\x03" + os.urandom(20000)
    response = await ingest.client.post(
        "/api/v1/documents", headers=ingest.admin,
        files={"file": ("laporan.pdf", exe, "application/pdf")}, data={"title": "Bukan PDF"})
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_type"
    assert "application/x-msdownload" in response.json()["message"]
    assert await _count(ingest) == before


async def test_oversize_is_refused_with_413_and_nothing_stored(ingest: Ingest) -> None:
    objects = await _objects(ingest, "6302")
    big = b"%PDF-1.4\n" + b"0" * (LIMIT + 3 * 1024 * 1024)
    response = await ingest.client.post(
        "/api/v1/documents", headers=ingest.admin,
        files={"file": ("besar.pdf", big, "application/pdf")}, data={"title": "Besar"})
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert await _objects(ingest, "6302") == objects


async def test_invalid_fields_delete_the_stored_object(ingest: Ingest) -> None:
    objects = await _objects(ingest, "6302")
    response = await ingest.client.post(
        "/api/v1/documents", headers=ingest.admin,
        files={"file": ("a.txt", f"isi {uuid.uuid4()}".encode(), "text/plain")},
        data={"title": "  ", "document_date": "bukan-tanggal"})
    assert response.status_code == 422
    assert "document_date" in response.json()["message"]
    assert await _objects(ingest, "6302") == objects


async def test_same_content_twice_is_409_unless_kept(ingest: Ingest) -> None:
    content = f"Notulen {uuid.uuid4()}".encode()
    first = await ingest.client.post("/api/v1/documents", headers=ingest.admin,
                                     files={"file": ("n.txt", content)}, data={"title": "N1"})
    assert first.status_code == 201
    again = await ingest.client.post("/api/v1/documents", headers=ingest.admin,
                                     files={"file": ("n.txt", content)}, data={"title": "N2"})
    assert again.status_code == 409
    assert first.json()["id"] in again.json()["message"]
    kept = await ingest.client.post("/api/v1/documents", headers=ingest.admin,
                                    files={"file": ("n.txt", content)},
                                    data={"title": "N3", "keep_both": "true"})
    assert kept.status_code == 201


async def test_superadmin_reads_no_documents(ingest: Ingest) -> None:
    root = await _login(ingest.client, "root", "Root-pass-12345")
    response = await ingest.client.get("/api/v1/documents", headers=root)
    assert response.status_code == 403


async def test_staff_may_not_create_accounts(ingest: Ingest) -> None:
    response = await ingest.client.post("/api/v1/users", headers=ingest.other_office, json={
        "username": "ppidbaru", "password": "Rahasia-12345", "role": "ppid",
        "office_code": "63"})
    assert response.status_code == 403

