"""Tables every service keeps in its own schema: outbox, processed events,
per-stream event counters and the append-only audit log.

They are SQLAlchemy Core tables bound to a service's `MetaData(schema=...)`, so
the same definitions serve four schemas without any service reading another's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class CoreTables:
    outbox: Table
    processed_events: Table
    event_seq: Table
    audit_log: Table
    identities: Table

    @property
    def schema(self) -> str:
        return str(self.outbox.schema)


def core_tables(metadata: MetaData) -> CoreTables:
    """Define (once per MetaData) the core tables in that metadata's schema."""
    schema = metadata.schema
    key = f"{schema}.outbox" if schema else "outbox"
    if key in metadata.tables:
        t = metadata.tables
        prefix = f"{schema}." if schema else ""
        return CoreTables(t[prefix + "outbox"], t[prefix + "processed_events"],
                          t[prefix + "event_seq"], t[prefix + "audit_log"],
                          t[prefix + "identities"])
    outbox = Table(
        "outbox", metadata,
        # bigserial order is the send order; the relay reads pending rows by id.
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("correlation_id", Text, nullable=False, server_default=""),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True)),
    )
    Index(f"ix_{schema}_outbox_pending", outbox.c.id, postgresql_where=text("sent_at IS NULL"))
    processed = Table(
        "processed_events", metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("topic", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    seq = Table(
        "event_seq", metadata,
        Column("stream_id", Uuid, primary_key=True),
        Column("seq", Integer, nullable=False),
    )
    audit = Table(
        "audit_log", metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("actor_id", Uuid),
        Column("actor_role", Text),
        Column("office_code", Text),
        Column("action", Text, nullable=False),
        Column("subject_type", Text, nullable=False),
        Column("subject_id", Text),
        Column("reason", Text),
        Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("client_ip", Text),
        Column("correlation_id", Text),
    )
    Index(f"ix_{schema}_audit_subject", audit.c.subject_type, audit.c.subject_id)
    Index(f"ix_{schema}_audit_time", audit.c.occurred_at)
    # The service's copy of dms.identity.changed (users, offices, divisions):
    # enough to refuse a disabled user's token and to name offices locally.
    identities = Table(
        "identities", metadata,
        Column("entity_id", Uuid, primary_key=True),
        Column("kind", Text, nullable=False),
        Column("fields", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("disabled", Boolean, nullable=False, server_default=text("false")),
        Column("seq", Integer, nullable=False),
    )
    return CoreTables(outbox, processed, seq, audit, identities)
