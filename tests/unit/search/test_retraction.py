"""The search projection of a retracted document: in any order, never public, status retracted."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from uuid import UUID

from dms_common.events import DocumentEvent, DocumentRetracted, DocumentRetractedPayload
from dms_search.projection import DocumentStatus, apply_event, new_document
from tests.unit.search.events import OFFICE, classified, extracted, published, received, withdrawn
from tests.unit.search.test_projection import merged, state


def retracted(doc: UUID, seq: int, *, office: str = OFFICE) -> DocumentRetracted:
    event: DocumentRetracted = DocumentRetracted.build(
        document_id=doc, version=1, seq=seq, office_code=office,
        payload=DocumentRetractedPayload(reason="salah unggah", retracted_by=uuid.uuid4(),
                                         retracted_at=datetime.now(UTC)))
    return event


def test_a_retraction_in_any_order_gives_one_row_never_public() -> None:
    doc = uuid.uuid4()
    # ingest's counter: received 1, retracted 2; publish's counter: published 1.
    events: list[DocumentEvent] = [received(doc), extracted(doc), classified(doc),
                                   published(doc, 1), retracted(doc, 2)]
    rows = [merged(doc, list(order)) for order in itertools.permutations(events)]
    assert all(state(row) == state(rows[0]) for row in rows)
    row = rows[0]
    assert row.status == DocumentStatus.RETRACTED
    assert not row.published
    assert row.retracted_seq == 2


def test_a_retraction_alone_or_before_the_upload_is_retracted() -> None:
    doc = uuid.uuid4()
    alone = merged(doc, [retracted(doc, 2)])
    assert alone.status == DocumentStatus.RETRACTED and not alone.published
    first = merged(doc, [retracted(doc, 2), received(doc)])
    assert first.status == DocumentStatus.RETRACTED
    assert first.title == "Laporan hasil pemilihan"


def test_a_repeated_retraction_changes_nothing() -> None:
    doc = uuid.uuid4()
    document = new_document(doc, OFFICE)
    assert apply_event(document, received(doc))
    assert apply_event(document, retracted(doc, 2))
    revision = document.revision
    assert not apply_event(document, retracted(doc, 2))
    assert document.revision == revision


def test_withdrawal_after_a_retraction_keeps_it_retracted() -> None:
    doc = uuid.uuid4()
    row = merged(doc, [received(doc), classified(doc), published(doc, 1), retracted(doc, 2),
                       withdrawn(doc, 2)])
    assert row.status == DocumentStatus.RETRACTED
    assert not row.published and row.withdrawn


def test_without_a_retraction_the_lifecycle_is_unchanged() -> None:
    doc = uuid.uuid4()
    row = merged(doc, [received(doc), classified(doc), published(doc, 1)])
    assert row.status == DocumentStatus.PUBLISHED and row.published
    assert row.retracted_seq == 0
