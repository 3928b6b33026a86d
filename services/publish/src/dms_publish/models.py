"""The publish service's tables, in its own schema "publish".

One row per document (`publications`): what the service has merged from the
`received` and `classified` events, the publication derived from it, and the
last `seq` applied from each source topic.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Date, DateTime, Integer, MetaData, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dms_common.db.tables import core_tables

SCHEMA = "publish"

metadata = MetaData(schema=SCHEMA)
core = core_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata


class Publication(Base):
    """A document as publish knows it, and whether (and what of it) is public."""

    __tablename__ = "publications"

    document_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    office_code: Mapped[str] = mapped_column(Text)
    # The version the latest decision is about (before any decision: the uploaded one).
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, server_default="")
    division_id: Mapped[UUID | None] = mapped_column(Uuid)
    document_date: Mapped[date | None] = mapped_column(Date)
    kip_category: Mapped[str | None] = mapped_column(Text)
    dip: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    decision_id: Mapped[UUID | None] = mapped_column(Uuid)
    # The uploaded original, from `received` (file_version: which version it is).
    filename: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(Text)
    object_key: Mapped[str | None] = mapped_column(Text)
    file_version: Mapped[int | None] = mapped_column(Integer)
    redacted_object_key: Mapped[str | None] = mapped_column(Text)
    # pending | published | withheld | withdrawn (see projection.PublicationState)
    state: Mapped[str] = mapped_column(Text, server_default="pending")
    publication_id: Mapped[UUID | None] = mapped_column(Uuid)
    public_object_key: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_seq: Mapped[int] = mapped_column(Integer, server_default="0")
    classified_seq: Mapped[int] = mapped_column(Integer, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
