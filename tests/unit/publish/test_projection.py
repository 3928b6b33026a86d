"""The publications row: merging events and deriving the publication state (no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from dms_common.events import (
    DipFields,
    DocumentClassified,
    DocumentClassifiedPayload,
    DocumentReceived,
    DocumentReceivedPayload,
    KipCategory,
)
from dms_common.storage import original_key
from dms_publish.models import Publication
from dms_publish.projection import (
    Change,
    PublicationState,
    merge_classified,
    merge_received,
    new_row,
    next_state,
    public_object_key,
)

OFFICE = "6302"
NOW = datetime(2025, 3, 5, 6, 30, tzinfo=UTC)


def classified(doc: UUID, category: KipCategory, *, seq: int, version: int = 1,
               redacted: str | None = None, title: str = "Laporan") -> DocumentClassified:
    event: DocumentClassified = DocumentClassified.build(
        document_id=doc, version=version, office_code=OFFICE, seq=seq,
        payload=DocumentClassifiedPayload(
            decision_id=uuid.uuid4(), kip_category=category, title=title,
            dip=DipFields(summary="Ringkasan") if category.is_public else None,
            redacted_object_key=redacted))
    return event


def received(doc: UUID, *, seq: int, version: int = 1,
             filename: str = "laporan.pdf") -> DocumentReceived:
    event: DocumentReceived = DocumentReceived.build(
        document_id=doc, version=version, office_code=OFFICE, seq=seq,
        payload=DocumentReceivedPayload(
            title="Unggahan", filename=filename, content_type="application/pdf", size=3,
            sha256="0" * 64, object_key=f"{OFFICE}/{doc}/{version}/original",
            uploader_id=uuid.uuid4()))
    return event


@pytest.fixture
def row() -> Publication:
    return new_row(uuid.uuid4(), OFFICE, 1)


def test_a_new_row_is_pending(row: Publication) -> None:
    assert row.state == PublicationState.PENDING
    assert (row.received_seq, row.classified_seq) == (0, 0)


@pytest.mark.parametrize(("current", "category", "expected"), [
    (PublicationState.PENDING, KipCategory.SETIAP_SAAT, PublicationState.PUBLISHED),
    (PublicationState.PENDING, KipCategory.DIKECUALIKAN, PublicationState.WITHHELD),
    (PublicationState.WITHHELD, KipCategory.DIKECUALIKAN, PublicationState.WITHHELD),
    (PublicationState.PUBLISHED, KipCategory.DIKECUALIKAN, PublicationState.WITHDRAWN),
    (PublicationState.WITHDRAWN, KipCategory.DIKECUALIKAN, PublicationState.WITHDRAWN),
    (PublicationState.WITHDRAWN, KipCategory.BERKALA, PublicationState.PUBLISHED),
    (PublicationState.WITHHELD, KipCategory.SERTA_MERTA, PublicationState.PUBLISHED),
])
def test_next_state(current: PublicationState, category: KipCategory,
                    expected: PublicationState) -> None:
    assert next_state(current, category) is expected


def test_a_public_decision_publishes_the_original(row: Publication) -> None:
    assert merge_received(row, received(row.document_id, seq=1)) is Change.NONE
    assert merge_classified(row, classified(row.document_id, KipCategory.SETIAP_SAAT, seq=1),
                            now=NOW) is Change.PUBLISHED
    assert row.state == PublicationState.PUBLISHED
    assert row.publication_id is not None and row.published_at == NOW
    assert row.public_object_key == f"{OFFICE}/{row.document_id}/1/original"
    assert row.dip is not None and row.dip["summary"] == "Ringkasan"


def test_a_redacted_copy_is_what_becomes_public(row: Publication) -> None:
    redacted = f"{OFFICE}/{row.document_id}/1/derived/redacted.pdf"
    merge_received(row, received(row.document_id, seq=1))
    merge_classified(row, classified(row.document_id, KipCategory.BERKALA, seq=1,
                                     redacted=redacted), now=NOW)
    assert row.public_object_key == redacted


def test_without_the_upload_the_original_key_is_derived(row: Publication) -> None:
    merge_classified(row, classified(row.document_id, KipCategory.SETIAP_SAAT, seq=1), now=NOW)
    assert row.public_object_key == original_key(OFFICE, row.document_id, 1)
    # The upload arriving later names the same object: nothing to announce again.
    assert merge_received(row, received(row.document_id, seq=1)) is Change.NONE
    assert row.filename == "laporan.pdf"


def test_a_newer_upload_does_not_change_what_the_decision_published(row: Publication) -> None:
    merge_received(row, received(row.document_id, seq=1))
    merge_classified(row, classified(row.document_id, KipCategory.SETIAP_SAAT, seq=1), now=NOW)
    assert merge_received(row, received(row.document_id, seq=2, version=2)) is Change.NONE
    assert row.public_object_key == original_key(OFFICE, row.document_id, 1)
    assert public_object_key(row) == original_key(OFFICE, row.document_id, 1)


def test_exempting_a_published_document_withdraws_it(row: Publication) -> None:
    merge_classified(row, classified(row.document_id, KipCategory.SETIAP_SAAT, seq=1), now=NOW)
    publication = row.publication_id
    change = merge_classified(
        row, classified(row.document_id, KipCategory.DIKECUALIKAN, seq=2), now=NOW)
    assert change is Change.WITHDRAWN
    assert row.state == PublicationState.WITHDRAWN
    # The withdrawal names the publication it ends.
    assert row.publication_id == publication
    # A second exemption of a withdrawn document announces nothing more.
    assert merge_classified(row, classified(row.document_id, KipCategory.DIKECUALIKAN, seq=3),
                            now=NOW) is Change.NONE
    assert row.state == PublicationState.WITHDRAWN


def test_exempting_an_unpublished_document_withholds_it(row: Publication) -> None:
    change = merge_classified(
        row, classified(row.document_id, KipCategory.DIKECUALIKAN, seq=1), now=NOW)
    assert change is Change.NONE
    assert row.state == PublicationState.WITHHELD
    assert row.publication_id is None


def test_a_later_public_decision_republishes_a_withdrawn_document(row: Publication) -> None:
    merge_classified(row, classified(row.document_id, KipCategory.SETIAP_SAAT, seq=1), now=NOW)
    first = row.publication_id
    merge_classified(row, classified(row.document_id, KipCategory.DIKECUALIKAN, seq=2), now=NOW)
    later = NOW + timedelta(days=30)
    change = merge_classified(
        row, classified(row.document_id, KipCategory.BERKALA, seq=3), now=later)
    assert change is Change.PUBLISHED
    assert row.state == PublicationState.PUBLISHED
    assert row.publication_id != first and row.published_at == later
    assert row.kip_category == KipCategory.BERKALA


def test_updating_a_live_publication_keeps_its_identity(row: Publication) -> None:
    merge_classified(row, classified(row.document_id, KipCategory.SETIAP_SAAT, seq=1), now=NOW)
    first = row.publication_id
    change = merge_classified(
        row, classified(row.document_id, KipCategory.BERKALA, seq=2, title="Baru"),
        now=NOW + timedelta(hours=1))
    assert change is Change.PUBLISHED
    assert (row.publication_id, row.published_at, row.title) == (first, NOW, "Baru")


def test_a_stale_decision_is_ignored(row: Publication) -> None:
    merge_classified(row, classified(row.document_id, KipCategory.SETIAP_SAAT, seq=1), now=NOW)
    merge_classified(row, classified(row.document_id, KipCategory.DIKECUALIKAN, seq=3), now=NOW)
    for seq in (1, 2, 3):  # a replay, an older one, and the same seq again
        stale = classified(row.document_id, KipCategory.SETIAP_SAAT, seq=seq, title="Lama")
        assert merge_classified(row, stale, now=NOW) is Change.NONE
    assert row.state == PublicationState.WITHDRAWN
    assert (row.classified_seq, row.title) == (3, "Laporan")


def test_a_stale_upload_is_ignored(row: Publication) -> None:
    merge_received(row, received(row.document_id, seq=2, filename="baru.pdf"))
    assert merge_received(row, received(row.document_id, seq=1, filename="lama.pdf")) \
        is Change.NONE
    assert (row.received_seq, row.filename) == (2, "baru.pdf")


def test_seqs_are_kept_per_source_topic(row: Publication) -> None:
    # Ingest and classify count independently: a high received seq never hides a decision.
    merge_received(row, received(row.document_id, seq=7))
    change = merge_classified(
        row, classified(row.document_id, KipCategory.SETIAP_SAAT, seq=1), now=NOW)
    assert change is Change.PUBLISHED
    assert (row.received_seq, row.classified_seq) == (7, 1)


def test_the_upload_describes_the_document_only_until_a_decision(row: Publication) -> None:
    merge_received(row, received(row.document_id, seq=1))
    assert row.title == "Unggahan"
    merge_classified(row, classified(row.document_id, KipCategory.SETIAP_SAAT, seq=1), now=NOW)
    merge_received(row, received(row.document_id, seq=2))
    assert row.title == "Laporan"


def test_an_exemption_keeps_only_its_public_consequence_test_fields(row: Publication) -> None:
    exempt: DocumentClassified = DocumentClassified.build(
        document_id=row.document_id, version=1, office_code=OFFICE, seq=1,
        payload=DocumentClassifiedPayload(
            decision_id=uuid.uuid4(), kip_category=KipCategory.DIKECUALIKAN, title="Rahasia",
            legal_basis="Pasal 17 huruf h", exempt_until=NOW.date() + timedelta(days=365),
            exempt_public_description="Data pribadi pelapor", approval_state="approved",
            document_type="laporan"))
    assert merge_classified(row, exempt, now=NOW) is Change.NONE
    assert (row.state, row.legal_basis, row.exempt_public_description, row.approval_state) == (
        "withheld", "Pasal 17 huruf h", "Data pribadi pelapor", "approved")
    assert (row.decided_at, row.document_type) == (NOW, "laporan")
    # A later public decision clears the exemption fields (the DIK entry disappears).
    assert merge_classified(row, classified(row.document_id, KipCategory.BERKALA, seq=2),
                            now=NOW) is Change.PUBLISHED
    assert (row.legal_basis, row.exempt_until, row.exempt_public_description) == (
        None, None, None)


def test_a_withdrawal_records_when(row: Publication) -> None:
    merge_classified(row, classified(row.document_id, KipCategory.BERKALA, seq=1), now=NOW)
    later = NOW + timedelta(hours=1)
    assert merge_classified(row, classified(row.document_id, KipCategory.DIKECUALIKAN, seq=2),
                            now=later) is Change.WITHDRAWN
    assert row.withdrawn_at == later
