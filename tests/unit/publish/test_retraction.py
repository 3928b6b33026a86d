"""A retraction in the publications row: final, in any order, a live publication withdrawn."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from uuid import UUID

from dms_common.events import (
    DocumentClassified,
    DocumentEvent,
    DocumentReceived,
    DocumentRetracted,
    DocumentRetractedPayload,
    KipCategory,
)
from dms_publish.models import Publication
from dms_publish.projection import (
    Change,
    PublicationState,
    merge_classified,
    merge_received,
    merge_retracted,
    new_row,
)
from tests.unit.publish.test_projection import NOW, OFFICE, classified, received


def retracted(doc: UUID, *, seq: int = 2) -> DocumentRetracted:
    event: DocumentRetracted = DocumentRetracted.build(
        document_id=doc, version=1, office_code=OFFICE, seq=seq,
        payload=DocumentRetractedPayload(reason="salah unggah", retracted_by=uuid.uuid4(),
                                         retracted_at=NOW))
    return event


def merge(row: Publication, event: DocumentEvent) -> Change:
    if isinstance(event, DocumentReceived):
        return merge_received(row, event)
    if isinstance(event, DocumentRetracted):
        return merge_retracted(row, event, now=NOW)
    assert isinstance(event, DocumentClassified)
    return merge_classified(row, event, now=NOW)


def test_a_retraction_wins_in_every_order_and_is_told_at_most_once() -> None:
    doc = uuid.uuid4()
    events: list[DocumentEvent] = [received(doc, seq=1),
                                   classified(doc, KipCategory.SETIAP_SAAT, seq=1),
                                   retracted(doc)]
    for order in itertools.permutations(events):
        row = new_row(doc, OFFICE, 1)
        changes = [merge(row, event) for event in order]
        assert row.state == PublicationState.RETRACTED
        assert row.retracted_seq == 2 and row.retracted_at == NOW
        if order.index(events[1]) < order.index(events[2]):
            # Published before the retraction arrived: withdrawn, once.
            assert changes.count(Change.PUBLISHED) == changes.count(Change.RETRACTED) == 1
            assert row.withdrawn_at == NOW
        else:
            assert set(changes) == {Change.NONE}
            assert row.publication_id is None


def test_a_published_document_is_withdrawn_once_by_its_retraction() -> None:
    doc = uuid.uuid4()
    row = new_row(doc, OFFICE, 1)
    assert merge_classified(row, classified(doc, KipCategory.BERKALA, seq=1),
                            now=datetime(2025, 1, 1, tzinfo=UTC)) is Change.PUBLISHED
    assert merge_retracted(row, retracted(doc), now=NOW) is Change.RETRACTED
    assert (row.state, row.withdrawn_at) == (PublicationState.RETRACTED, NOW)
    # The same retraction again, and a later decision: nothing more to tell.
    assert merge_retracted(row, retracted(doc), now=NOW) is Change.NONE
    assert merge_classified(row, classified(doc, KipCategory.SETIAP_SAAT, seq=2),
                            now=NOW) is Change.NONE
    assert row.state == PublicationState.RETRACTED


def test_an_exempt_document_retracted_leaves_the_dik_states() -> None:
    doc = uuid.uuid4()
    row = new_row(doc, OFFICE, 1)
    merge_classified(row, classified(doc, KipCategory.DIKECUALIKAN, seq=1), now=NOW)
    assert row.state == PublicationState.WITHHELD
    assert merge_retracted(row, retracted(doc), now=NOW) is Change.NONE
    assert row.state == PublicationState.RETRACTED
