"""Document events for the search tests (a document of office 6302 by default)."""

from __future__ import annotations

import uuid
from datetime import date
from uuid import UUID

from dms_common.events import (
    DocumentClassified,
    DocumentClassifiedPayload,
    DocumentExtracted,
    DocumentExtractedPayload,
    DocumentPublished,
    DocumentPublishedPayload,
    DocumentReceived,
    DocumentReceivedPayload,
    DocumentWithdrawn,
    DocumentWithdrawnPayload,
    KipCategory,
)
from dms_common.storage import derived_key, original_key

OFFICE = "6302"


def received(doc: UUID, seq: int = 1, *, title: str = "Laporan hasil pemilihan",
             office: str = OFFICE, version: int = 1) -> DocumentReceived:
    event: DocumentReceived = DocumentReceived.build(
        document_id=doc, version=version, seq=seq, office_code=office,
        payload=DocumentReceivedPayload(
            title=title, description="Rekapitulasi tingkat kabupaten", tags=["pemilu"],
            document_date=date(2024, 3, 1), filename="laporan.pdf",
            content_type="application/pdf", size=10, sha256="0" * 64,
            object_key=original_key(office, doc, version), uploader_id=uuid.uuid4()))
    return event


def text_key(doc: UUID, office: str = OFFICE) -> str:
    return derived_key(office, doc, 1, "text.txt")


def extracted(doc: UUID, seq: int = 1, *, ok: bool = True,
              office: str = OFFICE) -> DocumentExtracted:
    event: DocumentExtracted = DocumentExtracted.build(
        document_id=doc, version=1, seq=seq, office_code=office,
        payload=DocumentExtractedPayload(
            ok=ok, reason=None if ok else "unreadable",
            text_key=text_key(doc, office) if ok else None, language="id"))
    return event


def classified(doc: UUID, seq: int = 1, *, category: KipCategory = KipCategory.SETIAP_SAAT,
               title: str = "Laporan hasil pemilihan", office: str = OFFICE,
               redacted_text_key: str | None = None,
               redacted_object_key: str | None = None, document_type: str | None = None,
               division_id: UUID | None = None,
               document_date: date | None = date(2024, 3, 1)) -> DocumentClassified:
    event: DocumentClassified = DocumentClassified.build(
        document_id=doc, version=1, seq=seq, office_code=office,
        payload=DocumentClassifiedPayload(
            decision_id=uuid.uuid4(), kip_category=category, title=title,
            document_date=document_date, redacted_text_key=redacted_text_key,
            redacted_object_key=redacted_object_key, document_type=document_type,
            division_id=division_id))
    return event


def published(doc: UUID, seq: int, *, office: str = OFFICE) -> DocumentPublished:
    event: DocumentPublished = DocumentPublished.build(
        document_id=doc, version=1, seq=seq, office_code=office,
        payload=DocumentPublishedPayload(publication_id=uuid.uuid5(doc, "publication"),
                                         public_object_key=original_key(office, doc, 1)))
    return event


def withdrawn(doc: UUID, seq: int, *, office: str = OFFICE) -> DocumentWithdrawn:
    event: DocumentWithdrawn = DocumentWithdrawn.build(
        document_id=doc, version=1, seq=seq, office_code=office,
        payload=DocumentWithdrawnPayload(publication_id=uuid.uuid5(doc, "publication"),
                                         reason="ditarik untuk diperbaiki"))
    return event
