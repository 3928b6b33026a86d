"""Merging document events into the search projection, and what the row says about a document.

Events of different topics arrive in any order and any number of times
(DESIGN.md §4). Each is applied only if its `seq` is newer than the row holds
from its topic, and the document's state is derived from the row afterwards,
never from the order of arrival. `published` and `withdrawn` come from one
emitter with one per-document counter, so whichever of the two has the higher
seq is the newer: a `withdrawn` that arrives before its `published` still wins.
`retracted` and `received` share ingest's counter: a retraction newer than the
upload it is about takes the document out of every public surface for good,
whichever of the other events arrive before or after it.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from dms_common.events import (
    DocumentClassified,
    DocumentEvent,
    DocumentExtracted,
    DocumentPublished,
    DocumentReceived,
    DocumentRetracted,
    DocumentWithdrawn,
    KipCategory,
)
from dms_search.models import SearchDocument


class DocumentStatus(StrEnum):
    """The lifecycle state staff see (DESIGN.md §2)."""

    RECEIVED = "received"
    EXTRACTED = "extracted"
    EXTRACTION_FAILED = "extraction_failed"
    CLASSIFIED = "classified"
    PUBLISHED = "published"
    WITHHELD = "withheld"
    WITHDRAWN = "withdrawn"
    RETRACTED = "retracted"


def new_document(document_id: UUID, office_code: str) -> SearchDocument:
    """Build the empty row a document's first event is merged into."""
    document = SearchDocument(
        document_id=document_id, office_code=office_code, version=1, title="", description="",
        division_id=None, document_date=None, tags=[], filename=None, content_type=None,
        received_at=None, extraction_ok=None, text_key=None, kip_category=None,
        document_type=None,
        redacted_text_key=None, redacted_object_key=None, publication_id=None,
        status=DocumentStatus.RECEIVED.value, published=False, withdrawn=False,
        received_seq=0, extracted_seq=0, classified_seq=0, published_seq=0, withdrawn_seq=0,
        retracted_seq=0, revision=0)
    derive(document)
    return document


def apply_event(document: SearchDocument, event: DocumentEvent) -> bool:
    """Merge one event into the row; False (row untouched) when it is not newer from its topic."""
    if event.document_id != document.document_id:
        raise ValueError("the event belongs to another document")
    match event:
        case DocumentReceived():
            if event.seq <= document.received_seq:
                return False
            document.received_seq = event.seq
            _merge_received(document, event)
        case DocumentExtracted():
            if event.seq <= document.extracted_seq:
                return False
            document.extracted_seq = event.seq
            document.extraction_ok = event.payload.ok
            document.text_key = event.payload.text_key if event.payload.ok else None
        case DocumentClassified():
            if event.seq <= document.classified_seq:
                return False
            document.classified_seq = event.seq
            _merge_classified(document, event)
        case DocumentPublished():
            if event.seq <= document.published_seq:
                return False
            document.published_seq = event.seq
            document.publication_id = event.payload.publication_id
        case DocumentWithdrawn():
            if event.seq <= document.withdrawn_seq:
                return False
            document.withdrawn_seq = event.seq
        case DocumentRetracted():
            if event.seq <= document.retracted_seq:
                return False
            document.retracted_seq = event.seq
        case _:
            raise TypeError(f"search does not consume {type(event).__name__}")
    document.office_code = event.office_code
    # The newest version any source has spoken of (a max, so arrival order does not matter).
    document.version = max(document.version, event.version)
    derive(document)
    document.revision += 1
    return True


def _merge_received(document: SearchDocument, event: DocumentReceived) -> None:
    payload = event.payload
    document.description = payload.description
    document.tags = list(payload.tags)
    document.filename = payload.filename
    document.content_type = payload.content_type
    document.received_at = event.occurred_at
    # The classification may correct title, division and date; once one is
    # applied it is authoritative, whichever event came first.
    if document.classified_seq == 0:
        document.title = payload.title
        document.division_id = payload.division_id
        document.document_date = payload.document_date


def _merge_classified(document: SearchDocument, event: DocumentClassified) -> None:
    payload = event.payload
    document.kip_category = payload.kip_category.value
    document.document_type = payload.document_type
    document.redacted_text_key = payload.redacted_text_key
    document.redacted_object_key = payload.redacted_object_key
    document.title = payload.title
    document.division_id = payload.division_id
    document.document_date = payload.document_date


def category_is_public(document: SearchDocument) -> bool:
    """Tell whether the latest classification puts the document in a public category."""
    return document.kip_category is not None and KipCategory(document.kip_category).is_public


def is_retracted(document: SearchDocument) -> bool:
    """Tell whether the uploader retracted the document after its newest upload."""
    return document.retracted_seq > document.received_seq


def derive(document: SearchDocument) -> None:
    """Set status, published and withdrawn from the row's columns alone."""
    document.withdrawn = document.withdrawn_seq > document.published_seq
    document.published = (document.published_seq > document.withdrawn_seq
                          and category_is_public(document) and not is_retracted(document))
    document.status = derive_status(document).value


def derive_status(document: SearchDocument) -> DocumentStatus:
    """Derive the staff-facing status from the row."""
    if is_retracted(document):
        return DocumentStatus.RETRACTED
    if document.published:
        return DocumentStatus.PUBLISHED
    if document.withdrawn:
        return DocumentStatus.WITHDRAWN
    if document.classified_seq > 0:
        # Public but not yet published; or exempt (including a published document
        # reclassified as exempt whose withdrawal has not arrived yet).
        return (DocumentStatus.CLASSIFIED if category_is_public(document)
                else DocumentStatus.WITHHELD)
    if document.extracted_seq > 0:
        return (DocumentStatus.EXTRACTED if document.extraction_ok
                else DocumentStatus.EXTRACTION_FAILED)
    return DocumentStatus.RECEIVED


def public_text_key(document: SearchDocument) -> str | None:
    """The object whose text the public index may hold: the redacted text where there is one.

    A document published as a redacted derivative without a redacted text gets
    no text in the public index: the original's text must not leak.
    """
    if document.redacted_text_key:
        return document.redacted_text_key
    if document.redacted_object_key:
        return None
    return document.text_key
