"""A retracted document in publish, against the real servers: never published, or withdrawn.

Events go through the service's handlers as its consumer runs them (claim the
event id, then handle, in one unit of work); the retraction arrives after the
decision, before it, and twice.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from uuid import UUID

from dms_common.events import (
    DocumentPublished,
    DocumentRetracted,
    DocumentRetractedPayload,
    DocumentWithdrawn,
    KipCategory,
)
from dms_publish import service
from tests.integration.publish.helpers import OFFICE, Env, classified, ids, received


def retracted(doc: UUID, *, seq: int = 2) -> DocumentRetracted:
    event: DocumentRetracted = DocumentRetracted.build(
        document_id=doc, version=1, office_code=OFFICE, seq=seq,
        payload=DocumentRetractedPayload(reason="Salah unggah", retracted_by=uuid.uuid4(),
                                         retracted_at=datetime.now(UTC)))
    return event


async def _public_ids(env: Env) -> list[str]:
    return ids((await env.http.get("/api/v1/public/documents")).json()["items"])


async def test_a_published_document_is_withdrawn_by_its_retraction_once(env: Env) -> None:
    doc = uuid.uuid4()
    await env.deliver(received(doc), classified(doc, KipCategory.SETIAP_SAAT, seq=1))
    assert await _public_ids(env) == [str(doc)]

    retraction = retracted(doc)
    await env.deliver(retraction, retraction)
    await env.apply_unclaimed(retraction.model_copy(update={"event_id": uuid.uuid4()}))

    row = await env.row(doc)
    assert (row.state, row.retracted_seq) == ("retracted", 2)
    assert row.withdrawn_at is not None
    events = await env.outbox(doc)
    assert [type(e) for e in events] == [DocumentPublished, DocumentWithdrawn]
    published, withdrawn = events
    assert isinstance(published, DocumentPublished) and isinstance(withdrawn, DocumentWithdrawn)
    assert withdrawn.payload.reason == "ditarik"
    assert withdrawn.payload.publication_id == published.payload.publication_id
    assert withdrawn.seq > published.seq

    assert await _public_ids(env) == []
    gone = await env.http.get(f"/api/v1/public/documents/{doc}")
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"
    assert (await env.http.get(f"/api/v1/public/documents/{doc}/content")).status_code == 404
    assert (await env.http.get(f"/dokumen/{doc}")).status_code == 404

    # A later decision, public again, does not bring it back.
    await env.deliver(classified(doc, KipCategory.BERKALA, seq=2))
    assert (await env.row(doc)).state == "retracted"
    assert len(await env.outbox(doc)) == 2
    assert await _public_ids(env) == []


async def test_a_retraction_that_overtakes_the_decision_is_never_published(env: Env) -> None:
    public, exempt = uuid.uuid4(), uuid.uuid4()
    await env.deliver(retracted(public), retracted(exempt))
    await env.deliver(classified(public, KipCategory.SETIAP_SAAT, seq=1), received(public),
                      classified(exempt, KipCategory.DIKECUALIKAN, seq=1), received(exempt))

    for doc in (public, exempt):
        row = await env.row(doc)
        assert (row.state, row.publication_id, row.published_at) == ("retracted", None, None)
        assert (row.received_seq, row.classified_seq, row.retracted_seq) == (1, 1, 2)
        assert await env.outbox(doc) == []
    assert await _public_ids(env) == []
    # A retracted exemption is no longer one DMS holds: it leaves the DIK; a kept one stays.
    kept = uuid.uuid4()
    await env.deliver(received(kept), classified(kept, KipCategory.DIKECUALIKAN, seq=1))
    async with env.app.core.uow() as uow:
        exemptions = await service.list_exemptions(uow=uow, office=OFFICE)
    assert len(exemptions) == 1
