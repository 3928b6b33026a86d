"""The search service's tables, in its own schema: a projection of each document.

One row per document, merged from the six document events. Each source topic
has its own `*_seq` column, so a stale or repeated event is recognised per
topic; `revision` grows by one with every applied event and is the external
version of the document in OpenSearch.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import DateTime, Index, MetaData, Text, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dms_common.db.tables import core_tables

metadata = MetaData(schema="search")
core = core_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads it as a class attribute
        str: Text(),
        datetime: DateTime(timezone=True),
        list[str]: ARRAY(Text()),
    }


class SearchDocument(Base):
    """What search knows of one document, merged from its events."""

    __tablename__ = "documents"

    document_id: Mapped[UUID] = mapped_column(primary_key=True)
    office_code: Mapped[str]
    version: Mapped[int]
    # From `received` (title, division and date are overridden by `classified`).
    title: Mapped[str]
    description: Mapped[str]
    division_id: Mapped[UUID | None]
    document_date: Mapped[date | None]
    tags: Mapped[list[str]]
    filename: Mapped[str | None]
    content_type: Mapped[str | None]
    received_at: Mapped[datetime | None]
    # From `extracted`.
    extraction_ok: Mapped[bool | None]
    text_key: Mapped[str | None]
    # From `classified`.
    kip_category: Mapped[str | None]
    document_type: Mapped[str | None]
    redacted_text_key: Mapped[str | None]
    redacted_object_key: Mapped[str | None]
    # From `published` / `withdrawn`.
    publication_id: Mapped[UUID | None]
    # Derived from the columns above after every applied event (projection.derive).
    status: Mapped[str]
    published: Mapped[bool]
    withdrawn: Mapped[bool]
    # The newest seq applied from each source topic.
    received_seq: Mapped[int]
    extracted_seq: Mapped[int]
    classified_seq: Mapped[int]
    published_seq: Mapped[int]
    withdrawn_seq: Mapped[int]
    # From `retracted` (ingest's counter, the one `received_seq` holds too).
    retracted_seq: Mapped[int] = mapped_column(server_default="0")
    revision: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (Index("ix_documents_office_status", "office_code", "status"),)
