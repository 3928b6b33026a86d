"""Upload limits against the real servers: Office archives, the bytes read before a 413,
and duplicates kept on request."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from dms_ingest.models import Document, DocumentVersion
from tests.integration.ingest.documents_env import DocsEnv, documents_env, make_docx
from tests.support.servers import Endpoints

LIMIT = 2 * 1024 * 1024
MiB = 1024 * 1024


@pytest.fixture
async def docs(servers: Endpoints) -> AsyncIterator[DocsEnv]:
    async with documents_env(servers, max_upload_bytes=LIMIT, max_archive_entries=50,
                             max_archive_uncompressed_bytes=5 * MiB) as env:
        yield env


async def test_a_normal_docx_is_accepted(docs: DocsEnv) -> None:
    response = await docs.upload("staff", make_docx(10, payload=uuid.uuid4().bytes),
                                 filename="notulen.docx")
    assert response.status_code == 201, response.text
    assert response.json()["versions"][0]["content_type"].endswith("wordprocessingml.document")


async def test_docx_with_too_many_entries_is_422_and_not_stored(docs: DocsEnv) -> None:
    before = await docs.objects("6302/")
    response = await docs.upload("staff", make_docx(51), filename="banyak.docx")
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "archive_too_many_entries"
    assert "51" in body["message"] and "batas 50" in body["message"]
    assert await docs.objects("6302/") == before


async def test_docx_that_inflates_past_the_limit_is_422(docs: DocsEnv) -> None:
    before = await docs.objects("6302/")
    bomb = make_docx(3, payload=b"\0" * (6 * MiB))  # ~6 KB compressed, 6 MB inflated
    assert len(bomb) < 100_000
    response = await docs.upload("staff", bomb, filename="bom.docx")
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "archive_too_large"
    assert "setelah diekstrak" in response.json()["message"]
    assert await docs.objects("6302/") == before


async def test_truncated_docx_is_422_invalid_archive(docs: DocsEnv) -> None:
    response = await docs.upload("staff", make_docx(5)[:-30], filename="rusak.docx")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_archive"


async def test_413_reads_at_most_the_limit_plus_one_mib(docs: DocsEnv) -> None:
    boundary = "dmsbound"
    consumed = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal consumed
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nBesar"
                f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"besar.pdf\"\r\n\r\n").encode() + b"%PDF-1.4\n"
        consumed += len(head)
        yield head
        chunk = b"0" * 65536
        for _ in range(20 * MiB // len(chunk)):  # ten times the limit, never sent whole
            consumed += len(chunk)
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    before = await docs.objects("6302/")
    # A generator body has no Content-Length: only the streaming check can stop it.
    response = await docs.client.post(
        "/api/v1/documents", content=body(),
        headers={**docs.headers["staff"],
                 "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert consumed <= LIMIT + MiB, consumed
    assert await docs.objects("6302/") == before


async def test_declared_oversize_is_refused_before_reading(docs: DocsEnv) -> None:
    response = await docs.client.post(
        "/api/v1/documents", content=b"x",
        headers={**docs.headers["staff"], "Content-Length": str(LIMIT + 2 * MiB),
                 "Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413


async def test_duplicate_points_at_the_existing_document_unless_kept(docs: DocsEnv) -> None:
    content = f"Notulen rapat {uuid.uuid4()}".encode()
    first = await docs.upload("staff", content)
    assert first.status_code == 201
    before = await _written(docs)
    again = await docs.upload("staff2", content)
    assert again.status_code == 409
    assert again.headers["location"] == f"/api/v1/documents/{first.json()['id']}"
    assert await _written(docs) == before  # no row, event, audit entry or object of its own
    kept = await docs.upload("staff2", content, keep_both="true")
    assert kept.status_code == 201 and kept.json()["id"] != first.json()["id"]
    # Another office may hold the same content without a conflict.
    elsewhere = await docs.upload("other", content)
    assert elsewhere.status_code == 201


async def _written(docs: DocsEnv) -> tuple[int, ...]:
    tables = docs.app.core.tables
    async with docs.app.core.sessions() as session:
        counts = [(await session.execute(select(func.count()).select_from(table))).scalar_one()
                  for table in (Document.__table__, DocumentVersion.__table__, tables.outbox,
                                tables.audit_log, tables.event_seq)]
    return (*counts, len(await docs.objects("6302/")))


async def test_a_form_with_two_files_is_refused_and_nothing_stored(docs: DocsEnv) -> None:
    before = await docs.objects("6302/")
    response = await docs.client.post(
        "/api/v1/documents", headers=docs.headers["staff"], data={"title": "Dua berkas"},
        files=[("file", ("a.txt", b"isi pertama", "text/plain")),
               ("file", ("b.txt", b"isi kedua", "text/plain"))])
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_form"
    assert "satu berkas" in response.json()["message"]
    assert await docs.objects("6302/") == before
