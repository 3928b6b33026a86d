"""The search projection: merging events in any order and deriving the document's state."""

from __future__ import annotations

import itertools
import uuid
from typing import Any
from uuid import UUID

import pytest

from dms_common.events import DocumentEvent, KipCategory
from dms_search.models import SearchDocument
from dms_search.projection import (
    DocumentStatus,
    apply_event,
    new_document,
    public_text_key,
)
from tests.unit.search.events import (
    classified,
    extracted,
    published,
    received,
    text_key,
    withdrawn,
)

VOLATILE = {"revision", "updated_at"}


def merged(doc: UUID, events: list[DocumentEvent]) -> SearchDocument:
    document = new_document(doc, events[0].office_code)
    for event in events:
        apply_event(document, event)
    return document


def state(document: SearchDocument) -> dict[str, Any]:
    """The row's columns, without the ones that count deliveries."""
    return {c.key: getattr(document, c.key) for c in SearchDocument.__table__.columns
            if c.key not in VOLATILE}


def lifecycle(doc: UUID) -> list[DocumentEvent]:
    return [received(doc), extracted(doc), classified(doc), published(doc, 1)]


def test_every_arrival_order_gives_the_same_row() -> None:
    doc = uuid.uuid4()
    events = lifecycle(doc)
    rows = [merged(doc, list(order)) for order in itertools.permutations(events)]
    assert all(state(row) == state(rows[0]) for row in rows)
    assert {row.revision for row in rows} == {4}
    row = rows[0]
    assert row.status == DocumentStatus.PUBLISHED
    assert row.published and not row.withdrawn
    assert (row.received_seq, row.extracted_seq, row.classified_seq, row.published_seq,
            row.withdrawn_seq) == (1, 1, 1, 1, 0)
    assert row.text_key == text_key(doc)


def test_duplicates_are_ignored() -> None:
    doc = uuid.uuid4()
    events = lifecycle(doc)
    once = merged(doc, events)
    twice = merged(doc, events + events[::-1] + events)
    assert state(twice) == state(once)
    assert twice.revision == once.revision == 4


def test_an_event_not_newer_from_its_topic_changes_nothing() -> None:
    doc = uuid.uuid4()
    document = merged(doc, [classified(doc, 2, category=KipCategory.DIKECUALIKAN)])
    before = state(document)
    assert not apply_event(document, classified(doc, 1, category=KipCategory.SETIAP_SAAT))
    assert not apply_event(document, classified(doc, 2, category=KipCategory.SETIAP_SAAT))
    assert state(document) == before
    assert document.revision == 1
    # Another topic's seq 1 is still new.
    assert apply_event(document, received(doc, 1))


def test_newer_classification_wins_whatever_the_order() -> None:
    doc = uuid.uuid4()
    public, exempt = (classified(doc, 1, category=KipCategory.SETIAP_SAAT),
                      classified(doc, 2, category=KipCategory.DIKECUALIKAN))
    for order in ([public, exempt], [exempt, public]):
        document = merged(doc, [received(doc), *order, published(doc, 1)])
        assert document.kip_category == KipCategory.DIKECUALIKAN
        assert not document.published
        assert document.status == DocumentStatus.WITHHELD


@pytest.mark.parametrize("replays", [0, 1, 3])
def test_withdrawn_before_published_stays_non_public(replays: int) -> None:
    doc = uuid.uuid4()
    events: list[DocumentEvent] = [received(doc), classified(doc), withdrawn(doc, 3),
                                   published(doc, 2)]
    for _ in range(replays):
        # Redelivered with new event ids and the same seqs.
        events += [withdrawn(doc, 3), published(doc, 2)]
    document = merged(doc, events)
    assert document.withdrawn and not document.published
    assert document.status == DocumentStatus.WITHDRAWN
    assert document.revision == 4


def test_a_later_publication_supersedes_a_withdrawal() -> None:
    doc = uuid.uuid4()
    document = merged(doc, [classified(doc), published(doc, 4), withdrawn(doc, 3),
                            published(doc, 2)])
    assert document.published and not document.withdrawn
    assert document.status == DocumentStatus.PUBLISHED


def test_published_exempt_document_is_not_public() -> None:
    doc = uuid.uuid4()
    document = merged(doc, [published(doc, 1), classified(doc, category=KipCategory.DIKECUALIKAN)])
    assert not document.published
    assert document.status == DocumentStatus.WITHHELD


@pytest.mark.parametrize(("events", "status"), [
    (lambda d: [received(d)], DocumentStatus.RECEIVED),
    (lambda d: [received(d), extracted(d)], DocumentStatus.EXTRACTED),
    (lambda d: [extracted(d, ok=False), received(d)], DocumentStatus.EXTRACTION_FAILED),
    (lambda d: [received(d), extracted(d), classified(d)], DocumentStatus.CLASSIFIED),
    (lambda d: [classified(d, category=KipCategory.DIKECUALIKAN)], DocumentStatus.WITHHELD),
    (lambda d: [withdrawn(d, 2)], DocumentStatus.WITHDRAWN),
])
def test_status_is_derived_from_the_row(events: Any, status: DocumentStatus) -> None:
    doc = uuid.uuid4()
    assert merged(doc, events(doc)).status == status


def test_classified_title_wins_over_received_in_any_order() -> None:
    doc = uuid.uuid4()
    upload, decision = received(doc, title="Judul unggahan"), classified(doc, title="Judul resmi")
    assert merged(doc, [upload, decision]).title == "Judul resmi"
    assert merged(doc, [decision, upload]).title == "Judul resmi"
    # A later upload event does not undo the decision's title either.
    assert merged(doc, [upload, decision, received(doc, 2, title="Baru")]).title == "Judul resmi"


def test_failed_extraction_drops_the_text() -> None:
    doc = uuid.uuid4()
    document = merged(doc, [extracted(doc, 1), extracted(doc, 2, ok=False)])
    assert document.text_key is None
    assert document.status == DocumentStatus.EXTRACTION_FAILED


def test_version_is_the_newest_seen() -> None:
    doc = uuid.uuid4()
    assert merged(doc, [received(doc, 2, version=2), extracted(doc)]).version == 2


def test_public_text_is_the_redacted_one_when_there_is_one() -> None:
    doc = uuid.uuid4()
    plain = merged(doc, [extracted(doc), classified(doc)])
    assert public_text_key(plain) == text_key(doc)
    redacted = merged(doc, [extracted(doc), classified(doc, redacted_text_key="r.txt",
                                                         redacted_object_key="r.pdf")])
    assert public_text_key(redacted) == "r.txt"
    # A redacted file without a redacted text: the original's text must not go public.
    no_text = merged(doc, [extracted(doc), classified(doc, redacted_object_key="r.pdf")])
    assert public_text_key(no_text) is None


def test_event_of_another_document_is_refused() -> None:
    document = new_document(uuid.uuid4(), "6302")
    with pytest.raises(ValueError, match="another document"):
        apply_event(document, received(uuid.uuid4()))


def test_document_type_comes_from_the_classification() -> None:
    doc = uuid.uuid4()
    document = merged(doc, [classified(doc, document_type="berita_acara"), received(doc)])
    assert document.document_type == "berita_acara"
    assert merged(doc, [received(doc)]).document_type is None
