"""Versions and retraction against the real servers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from dms_common.events import DocumentExtracted, DocumentExtractedPayload, DocumentReceived
from dms_ingest import service
from dms_ingest.models import Document
from tests.integration.ingest.documents_env import DocsEnv, documents_env
from tests.support.servers import Endpoints


@pytest.fixture
async def docs(servers: Endpoints) -> AsyncIterator[DocsEnv]:
    async with documents_env(servers) as env:
        yield env


async def test_new_version_supersedes_and_reenters_review(docs: DocsEnv) -> None:
    v1 = f"Rekap suara {uuid.uuid4()}".encode()
    v2 = f"Rekap suara diperbaiki {uuid.uuid4()}".encode()
    created = (await docs.upload("staff", v1, filename="rekap.txt")).json()
    doc_id = created["id"]
    # The document moved on in review before the correction arrived.
    async with docs.app.core.sessions() as session, session.begin():
        row = await session.get(Document, uuid.UUID(doc_id))
        assert row is not None
        row.status, row.kip_category = "classified", "berkala"
        row.status_seqs = {"dms.document.classified": 3}

    response = await docs.client.post(f"/api/v1/documents/{doc_id}/versions",
                                      headers=docs.headers["staff2"],
                                      files={"file": ("rekap-v2.txt", v2)})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["version"] == 2 and body["status"] == "received"
    assert body["kip_category"] is None
    assert [v["version"] for v in body["versions"]] == [1, 2]
    assert [e.version for e in await docs.events(doc_id)
            if isinstance(e, DocumentReceived)] == [1, 2]

    latest = await docs.client.get(f"/api/v1/documents/{doc_id}/content",
                                   headers=docs.headers["admin"])
    assert latest.content == v2
    old = await docs.client.get(f"/api/v1/documents/{doc_id}/versions/1/content",
                                headers=docs.headers["ppid"])
    assert old.status_code == 200 and old.content == v1
    listed = await docs.client.get(f"/api/v1/documents/{doc_id}/versions",
                                   headers=docs.headers["staff"])
    assert [v["filename"] for v in listed.json()] == ["rekap.txt", "rekap-v2.txt"]
    detail = (await docs.client.get(f"/api/v1/documents/{doc_id}",
                                    headers=docs.headers["staff"])).json()
    actions = [h["action"] for h in detail["history"]]
    assert actions == ["upload", "upload_version", "download", "download"]


async def test_late_event_of_the_old_version_does_not_touch_the_new_one(docs: DocsEnv) -> None:
    created = (await docs.upload("staff", uuid.uuid4().bytes.hex().encode())).json()
    doc_id = created["id"]
    await docs.client.post(f"/api/v1/documents/{doc_id}/versions", headers=docs.headers["staff"],
                           files={"file": ("b.txt", uuid.uuid4().bytes.hex().encode())})
    old = DocumentExtracted.build(document_id=uuid.UUID(doc_id), version=1, office_code="6302",
                                  seq=50, payload=DocumentExtractedPayload(ok=True))
    async with docs.app.core.uow() as uow:
        await service.apply_status_event(uow=uow, event=old)
    detail = (await docs.client.get(f"/api/v1/documents/{doc_id}",
                                    headers=docs.headers["staff"])).json()
    assert detail["status"] == "received" and detail["version"] == 2


async def test_same_content_as_the_current_version_is_409(docs: DocsEnv) -> None:
    content = f"Sama {uuid.uuid4()}".encode()
    doc_id = (await docs.upload("staff", content)).json()["id"]
    again = await docs.client.post(f"/api/v1/documents/{doc_id}/versions",
                                   headers=docs.headers["staff"],
                                   files={"file": ("a.txt", content)})
    assert again.status_code == 409 and again.json()["code"] == "same_content"
    assert await docs.objects(f"6302/{doc_id}/2/") == []


async def test_versions_of_another_office_answer_404(docs: DocsEnv) -> None:
    doc_id = (await docs.upload("staff", uuid.uuid4().hex.encode())).json()["id"]
    for method, path in (("POST", f"/api/v1/documents/{doc_id}/versions"),
                         ("GET", f"/api/v1/documents/{doc_id}/versions"),
                         ("GET", f"/api/v1/documents/{doc_id}/versions/1/content"),
                         ("POST", f"/api/v1/documents/{doc_id}/retract")):
        kwargs = ({"files": {"file": ("x.txt", b"lain")}} if path.endswith("versions")
                  and method == "POST" else {"json": {}} if method == "POST" else {})
        response = await docs.client.request(method, path, headers=docs.headers["other"],
                                             **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 404, (path, response.text)
    assert await docs.objects(f"6302/{doc_id}/2/") == []
    missing = await docs.client.get(f"/api/v1/documents/{doc_id}/versions/7/content",
                                    headers=docs.headers["staff"])
    assert missing.status_code == 404


async def test_uploader_retracts_an_unreviewed_document(docs: DocsEnv) -> None:
    doc_id = (await docs.upload("staff", uuid.uuid4().hex.encode())).json()["id"]
    refused = await docs.client.post(f"/api/v1/documents/{doc_id}/retract",
                                     headers=docs.headers["staff2"], json={})
    assert refused.status_code == 403
    done = await docs.client.post(f"/api/v1/documents/{doc_id}/retract",
                                  headers=docs.headers["staff"],
                                  json={"reason": "salah unggah"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "retracted"
    twice = await docs.client.post(f"/api/v1/documents/{doc_id}/retract",
                                   headers=docs.headers["admin"], json={})
    assert twice.status_code == 409
    # A late extraction does not bring it back into review.
    late = DocumentExtracted.build(document_id=uuid.UUID(doc_id), version=1, office_code="6302",
                                   seq=5, payload=DocumentExtractedPayload(ok=True))
    async with docs.app.core.uow() as uow:
        await service.apply_status_event(uow=uow, event=late)
    detail = (await docs.client.get(f"/api/v1/documents/{doc_id}",
                                    headers=docs.headers["admin"])).json()
    assert detail["status"] == "retracted"
    retract = next(h for h in detail["history"] if h["action"] == "retract")
    assert retract["reason"] == "salah unggah"
    assert retract["actor_id"] == str(docs.user_ids["staff"])


async def test_a_reviewed_document_cannot_be_retracted(docs: DocsEnv) -> None:
    doc_id = (await docs.upload("staff", uuid.uuid4().hex.encode())).json()["id"]
    async with docs.app.core.sessions() as session, session.begin():
        row = await session.get(Document, uuid.UUID(doc_id))
        assert row is not None
        row.status = "published"
    response = await docs.client.post(f"/api/v1/documents/{doc_id}/retract",
                                      headers=docs.headers["admin"], json={})
    assert response.status_code == 409
    assert response.json()["code"] == "already_reviewed"
