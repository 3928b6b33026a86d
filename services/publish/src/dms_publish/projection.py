"""Merging document events into the publications row, and the state that follows (no I/O).

Each source topic has its own `seq` column: an event whose seq is not newer than
the one the row holds from that topic is stale and changes nothing. The
publication state is derived from the row and the decision being merged, so
replays and cross-topic reordering leave the same row behind.

A retraction by the uploader is final (ingest accepts no new version of a
retracted document): once the row holds one, no decision publishes the
document, whichever arrived first, and a live publication is withdrawn.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from dms_common.events import (
    DocumentClassified,
    DocumentReceived,
    DocumentRetracted,
    KipCategory,
)
from dms_common.storage import original_key
from dms_publish.models import Publication


class PublicationState(StrEnum):
    PENDING = "pending"  # no decision yet
    PUBLISHED = "published"
    WITHHELD = "withheld"  # exempt and never public
    WITHDRAWN = "withdrawn"  # was public, exempt now
    RETRACTED = "retracted"  # taken back by its uploader; never public again


class Change(StrEnum):
    """What a merge asks the outside world to be told."""

    NONE = "none"
    PUBLISHED = "published"  # a publication was created or updated
    WITHDRAWN = "withdrawn"
    RETRACTED = "retracted"  # withdrawn because the uploader retracted the document


def new_row(document_id: UUID, office_code: str, version: int) -> Publication:
    """A row for a document nothing has been merged into yet."""
    return Publication(document_id=document_id, office_code=office_code, version=version,
                       title="", state=PublicationState.PENDING.value, received_seq=0,
                       classified_seq=0, retracted_seq=0)


def next_state(current: PublicationState, category: KipCategory) -> PublicationState:
    """The state a decision of `category` leads to from `current`."""
    if category.is_public:
        return PublicationState.PUBLISHED
    if current in (PublicationState.PUBLISHED, PublicationState.WITHDRAWN):
        return PublicationState.WITHDRAWN
    return PublicationState.WITHHELD


def is_retracted(row: Publication) -> bool:
    """Tell whether the uploader retracted the document (final, whatever arrives later)."""
    return row.retracted_seq > 0


def public_object_key(row: Publication) -> str:
    """The object the public may download: the redacted copy if any, else the original."""
    if row.redacted_object_key:
        return row.redacted_object_key
    if row.object_key and row.file_version == row.version:
        return row.object_key
    # The received event has not arrived (or was for another version): DESIGN.md §5's key.
    return original_key(row.office_code, row.document_id, row.version)


def merge_received(row: Publication, event: DocumentReceived) -> Change:
    """Merge an upload's file facts into the row; refresh a live publication's object."""
    if event.seq <= row.received_seq:
        return Change.NONE
    payload = event.payload
    row.received_seq = event.seq
    row.office_code = event.office_code
    row.filename = payload.filename
    row.content_type = payload.content_type
    row.object_key = payload.object_key
    row.file_version = event.version
    row.size = payload.size
    if row.classified_seq == 0:
        # Until a decision arrives, the upload's own metadata describes the document.
        row.version = event.version
        row.title = payload.title
        row.division_id = payload.division_id
        row.document_date = payload.document_date
    if row.state == PublicationState.PUBLISHED and row.public_object_key != public_object_key(row):
        row.public_object_key = public_object_key(row)
        return Change.PUBLISHED
    return Change.NONE


def merge_classified(row: Publication, event: DocumentClassified, *, now: datetime) -> Change:
    """Merge a decision into the row and derive the publication from it."""
    if event.seq <= row.classified_seq:
        return Change.NONE
    payload = event.payload
    row.classified_seq = event.seq
    row.office_code = event.office_code
    row.version = event.version
    row.title = payload.title
    row.division_id = payload.division_id
    row.document_date = payload.document_date
    row.kip_category = payload.kip_category.value
    row.dip = payload.dip.model_dump(mode="json") if payload.dip is not None else None
    row.decision_id = payload.decision_id
    row.redacted_object_key = payload.redacted_object_key
    row.document_type = payload.document_type
    row.approval_state = payload.approval_state
    row.decided_at = now
    # Only an exemption keeps consequence-test fields; a public decision clears them.
    exempt = not payload.kip_category.is_public
    row.legal_basis = payload.legal_basis if exempt else None
    row.exempt_until = payload.exempt_until if exempt else None
    row.exempt_public_description = payload.exempt_public_description if exempt else None
    row.exempt_consequence = payload.exempt_consequence if exempt else None
    if is_retracted(row):
        return _retract(row, now=now)
    current = PublicationState(row.state)
    state = next_state(current, payload.kip_category)
    row.state = state.value
    if state is PublicationState.PUBLISHED:
        if current is not PublicationState.PUBLISHED:
            # A new publication (first time, or again after a withdrawal).
            row.publication_id = uuid4()
            row.published_at = now
        row.public_object_key = public_object_key(row)
        return Change.PUBLISHED
    if state is PublicationState.WITHDRAWN and current is PublicationState.PUBLISHED:
        row.withdrawn_at = now
        return Change.WITHDRAWN
    return Change.NONE


def merge_retracted(row: Publication, event: DocumentRetracted, *, now: datetime) -> Change:
    """Merge the uploader's retraction: never published from now on, withdrawn if it was."""
    if event.seq <= row.retracted_seq:
        return Change.NONE
    row.retracted_seq = event.seq
    row.retracted_at = event.payload.retracted_at
    row.office_code = event.office_code
    return _retract(row, now=now)


def _retract(row: Publication, *, now: datetime) -> Change:
    current = PublicationState(row.state)
    row.state = PublicationState.RETRACTED.value
    if current is PublicationState.PUBLISHED:
        row.withdrawn_at = now
        return Change.RETRACTED
    return Change.NONE
