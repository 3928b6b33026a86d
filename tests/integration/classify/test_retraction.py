"""A retracted document in classify, against the real servers: out of the queue, no decision.

Events go through the service's handlers as its consumer runs them; the
retraction arrives after the upload, before it, after a decision, and twice.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from dms_classify.main import create_app
from dms_common.events import DocumentRetracted, DocumentRetractedPayload
from dms_common.identity.tokens import Role
from tests.integration.classify.conftest import Classify, received
from tests.integration.classify.test_api import DECISION
from tests.unit.classify.pdfs import make_pdf

OFFICE = "6302"


def retracted(doc: uuid.UUID, *, seq: int = 2) -> DocumentRetracted:
    event: DocumentRetracted = DocumentRetracted.build(
        document_id=doc, version=1, office_code=OFFICE, seq=seq,
        payload=DocumentRetractedPayload(reason="Salah unggah", retracted_by=uuid.uuid4(),
                                         retracted_at=datetime.now(UTC)))
    return event


@dataclass
class Env:
    classify: Classify
    client: httpx.AsyncClient
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def upload(self, doc: uuid.UUID) -> bool:
        pdf = make_pdf(["Rekapitulasi hasil pengawasan"])
        key = await self.classify.put_original(OFFICE, doc, 1, pdf, "application/pdf")
        return await self.classify.deliver(received(doc, office=OFFICE, key=key,
                                                    content_type="application/pdf",
                                                    size=len(pdf)))

    async def queue(self) -> list[str]:
        response = await self.client.get("/api/v1/review/queue", headers=self.auth)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    async def decide(self, doc: uuid.UUID) -> httpx.Response:
        return await self.client.post(f"/api/v1/review/documents/{doc}/decisions",
                                      json=DECISION, headers=self.auth)

    async def forget_derived(self, doc: uuid.UUID) -> None:
        row = await self.classify.row(doc)
        self.classify.keys += [key for key in (row.text_key, *(row.preview_keys or [])) if key]


@pytest.fixture
async def env(classify: Classify) -> AsyncIterator[Env]:
    _, token = classify.iso.user(role=Role.OFFICE_ADMIN, office_code=OFFICE)
    await classify.iso.register_users(classify.app.core)
    transport = httpx.ASGITransport(app=create_app(container=classify.app))
    async with httpx.AsyncClient(transport=transport, base_url="http://classify") as client:
        yield Env(classify, client, token)


async def test_a_retracted_document_leaves_the_queue_and_refuses_a_decision(env: Env) -> None:
    doc, kept = uuid.uuid4(), uuid.uuid4()
    assert await env.upload(doc) and await env.upload(kept)
    await env.forget_derived(doc)
    await env.forget_derived(kept)
    assert set(await env.queue()) == {str(doc), str(kept)}
    before = len(await env.classify.outbox())

    retraction = retracted(doc)
    assert await env.classify.deliver(retraction)
    assert not await env.classify.deliver(retraction)  # redelivered: skipped by its id
    # A copy under a new id is stale by its seq.
    assert await env.classify.deliver(retraction.model_copy(update={"event_id": uuid.uuid4()}))

    assert await env.queue() == [str(kept)]
    row = await env.classify.row(doc)
    assert (row.status, row.decision_id) == ("retracted", None)
    refused = await env.decide(doc)
    assert refused.status_code == 409
    assert refused.json()["code"] == "document_retracted"
    assert "ditarik" in refused.json()["message"]
    assert len(await env.classify.outbox()) == before  # nothing announced
    shown = await env.client.get(f"/api/v1/review/documents/{doc}", headers=env.auth)
    assert shown.status_code == 200 and shown.json()["status"] == "retracted"


async def test_a_retraction_before_its_upload_is_never_extracted(env: Env) -> None:
    doc = uuid.uuid4()
    assert await env.classify.deliver(retracted(doc))
    assert await env.upload(doc)

    row = await env.classify.row(doc)
    assert (row.status, row.text_key, row.extracted_at) == ("retracted", None, None)
    assert await env.queue() == []
    assert await env.classify.outbox() == []
    assert (await env.decide(doc)).status_code == 409


async def test_a_decided_document_retracted_late_is_not_announced_again(env: Env) -> None:
    doc = uuid.uuid4()
    assert await env.upload(doc)
    await env.forget_derived(doc)
    decided = await env.decide(doc)
    assert decided.status_code == 201, decided.text
    before = await env.classify.outbox()

    assert await env.classify.deliver(retracted(doc))
    row = await env.classify.row(doc)
    assert row.status == "retracted"
    assert str(row.decision_id) == decided.json()["decision_id"]  # the history stays
    assert await env.classify.outbox() == before
    assert (await env.decide(doc)).status_code == 409
    assert await env.queue() == []
