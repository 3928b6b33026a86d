"""The classify service's tables, in its own schema `classify`.

`documents` is this service's merge of each document's events (one row per
document, its current version); `decisions` keeps every KIP decision ever made.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dms_common.db.tables import core_tables

metadata = MetaData(schema="classify")
core = core_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata


class DocumentStatus(StrEnum):
    RECEIVED = "received"
    EXTRACTED = "extracted"
    EXTRACTION_FAILED = "extraction_failed"
    CLASSIFIED = "classified"
    # Decided before, back in front of an administrator (see `flag` for why).
    REOPENED = "reopened"
    # Taken back by its uploader (a `retracted` event): out of the queue, no decision taken.
    RETRACTED = "retracted"


# Statuses that still wait for an administrator's decision.
AWAITING_REVIEW: tuple[DocumentStatus, ...] = (
    DocumentStatus.RECEIVED, DocumentStatus.EXTRACTED, DocumentStatus.EXTRACTION_FAILED,
    DocumentStatus.REOPENED,
)


class ReviewDocument(Base):
    """A document's current version as classify knows it."""

    __tablename__ = "documents"

    document_id: Mapped[UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    office_code: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    division_id: Mapped[UUID | None]
    document_date: Mapped[date | None]
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    object_key: Mapped[str] = mapped_column(Text)
    uploader_id: Mapped[UUID]
    status: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    # The last `seq` merged from each source topic (DESIGN.md §4).
    received_seq: Mapped[int] = mapped_column(Integer)
    # Extraction results of the current version.
    text_key: Mapped[str | None] = mapped_column(Text)
    text_length: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(Text)
    extraction_reason: Mapped[str | None] = mapped_column(Text)
    extracted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ocr_used: Mapped[bool] = mapped_column(Boolean, default=False)
    # The start of the text, kept for the office's classifier (trained on decided documents).
    text_sample: Mapped[str | None] = mapped_column(Text)
    # Derived objects for the review page: page previews and a spreadsheet's table form.
    preview_keys: Mapped[list[str] | None] = mapped_column(JSONB)
    table_key: Mapped[str | None] = mapped_column(Text)
    # Personal-data findings (with offsets into the text) and the suggestion with its reasons.
    findings: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    suggestion: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Why the document is (back) in front of an administrator: exemption_expired, ...
    flag: Mapped[str | None] = mapped_column(Text)
    flagged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The decision that holds for the current version, if any.
    decision_id: Mapped[UUID | None]

    __table_args__ = (
        Index("ix_documents_queue", "office_code", "received_at", "document_id"),
    )


class Decision(Base):
    """One KIP classification decision of a document version (append-only)."""

    __tablename__ = "decisions"

    decision_id: Mapped[UUID] = mapped_column(primary_key=True)
    document_id: Mapped[UUID] = mapped_column(index=True)
    version: Mapped[int] = mapped_column(Integer)
    office_code: Mapped[str] = mapped_column(Text)
    kip_category: Mapped[str] = mapped_column(Text)
    document_type: Mapped[str | None] = mapped_column(Text)
    dip: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(Text)
    # Exemptions: the consequence test (DESIGN.md §2), its legal basis and period.
    legal_basis: Mapped[str | None] = mapped_column(Text)
    consequence_test: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    exempt_until: Mapped[date | None] = mapped_column(Date)
    approval_state: Mapped[str] = mapped_column(Text, default="not_required")
    approved_by: Mapped[UUID | None]
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approval_note: Mapped[str | None] = mapped_column(Text)
    # Partly exempt documents published as a redacted copy.
    redaction: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    redacted_object_key: Mapped[str | None] = mapped_column(Text)
    redacted_text_key: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[UUID]
    decided_role: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class Retraction(Base):
    """An uploader's retraction of a document, as ingest announced it (final for the document).

    Kept apart from `documents` because it may arrive before the upload it is about.
    """

    __tablename__ = "retractions"

    document_id: Mapped[UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    office_code: Mapped[str] = mapped_column(Text)
    # Ingest's per-document counter, the one `documents.received_seq` holds too.
    seq: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    retracted_by: Mapped[UUID]
    retracted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OfficeSetting(Base):
    """An office's review settings."""

    __tablename__ = "office_settings"

    office_code: Mapped[str] = mapped_column(Text, primary_key=True)
    # The Atasan PPID approves each exemption before it takes effect.
    exemption_requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class ClassifierModel(Base):
    """An office's text classifier, learned from its own decisions (a pickled TextClassifier)."""

    __tablename__ = "classifier_models"

    office_code: Mapped[str] = mapped_column(Text, primary_key=True)
    model: Mapped[bytes] = mapped_column(LargeBinary)
    samples: Mapped[int] = mapped_column(Integer)
    trained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
