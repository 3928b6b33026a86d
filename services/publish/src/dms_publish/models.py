"""The publish service's tables, in its own schema "publish".

One row per document (`publications`): what the service has merged from the
`received`, `classified` and `retracted` events, the publication derived from it, and the
last `seq` applied from each source topic.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Integer, MetaData, Text, Uuid, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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
    document_type: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)
    # The exemption (DIK) of an exempt decision: only public fields of the consequence test.
    legal_basis: Mapped[str | None] = mapped_column(Text)
    exempt_until: Mapped[date | None] = mapped_column(Date)
    exempt_public_description: Mapped[str | None] = mapped_column(Text)
    exempt_consequence: Mapped[str | None] = mapped_column(Text)
    approval_state: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The uploaded original, from `received` (file_version: which version it is).
    filename: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(Text)
    object_key: Mapped[str | None] = mapped_column(Text)
    file_version: Mapped[int | None] = mapped_column(Integer)
    redacted_object_key: Mapped[str | None] = mapped_column(Text)
    # pending | published | withheld | withdrawn | retracted (see projection.PublicationState)
    state: Mapped[str] = mapped_column(Text, server_default="pending")
    publication_id: Mapped[UUID | None] = mapped_column(Uuid)
    public_object_key: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_seq: Mapped[int] = mapped_column(Integer, server_default="0")
    classified_seq: Mapped[int] = mapped_column(Integer, server_default="0")
    # From `retracted` (ingest's counter); the uploader's retraction is final.
    retracted_seq: Mapped[int] = mapped_column(Integer, server_default="0")
    retracted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now())


class WebhookSubscription(Base):
    """An outside system told about publications and withdrawals (HMAC-signed POSTs)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    # Kept to sign each delivery; shown once, when the subscription is made.
    secret: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # None: every office.
    office_code: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_by: Mapped[UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookDelivery(Base):
    """One event to one subscriber, and what happened when it was sent (the delivery log)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    subscription_id: Mapped[UUID] = mapped_column(Uuid)
    event_id: Mapped[UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(Text)
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # pending | delivered | failed (gave up after the last attempt)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                      server_default=func.now())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
