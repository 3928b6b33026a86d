"""Ingest announces a retraction: `dms.document.retracted`, in the act's own transaction."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from dms_common.events import DocumentReceived, DocumentRetracted
from tests.integration.ingest.documents_env import DocsEnv, documents_env
from tests.support.servers import Endpoints


@pytest.fixture
async def docs(servers: Endpoints) -> AsyncIterator[DocsEnv]:
    async with documents_env(servers) as env:
        yield env


async def test_a_retraction_is_announced_once_with_the_next_seq(docs: DocsEnv) -> None:
    doc_id = (await docs.upload("staff", uuid.uuid4().hex.encode())).json()["id"]
    done = await docs.client.post(f"/api/v1/documents/{doc_id}/retract",
                                  headers=docs.headers["staff"],
                                  json={"reason": "  salah unggah "})
    assert done.status_code == 200, done.text
    twice = await docs.client.post(f"/api/v1/documents/{doc_id}/retract",
                                   headers=docs.headers["admin"], json={})
    assert twice.status_code == 409

    received, retracted = await docs.events(doc_id)
    assert isinstance(received, DocumentReceived) and isinstance(retracted, DocumentRetracted)
    assert (retracted.seq, received.seq) == (2, 1)
    assert (str(retracted.document_id), retracted.version, retracted.office_code) == (
        doc_id, 1, "6302")
    assert retracted.payload.reason == "salah unggah"
    assert retracted.payload.retracted_by == docs.user_ids["staff"]
    assert retracted.payload.retracted_at.isoformat() == done.json()["retracted_at"].replace(
        "Z", "+00:00")


async def test_a_refused_retraction_announces_nothing(docs: DocsEnv) -> None:
    doc_id = (await docs.upload("staff", uuid.uuid4().hex.encode())).json()["id"]
    refused = await docs.client.post(f"/api/v1/documents/{doc_id}/retract",
                                     headers=docs.headers["staff2"], json={})
    assert refused.status_code == 403
    [received] = await docs.events(doc_id)
    assert isinstance(received, DocumentReceived)
