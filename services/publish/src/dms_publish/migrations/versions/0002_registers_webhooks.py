"""Exemption (DIK) fields and list filters on publications; webhook subscriptions and deliveries.

Revision ID: 0002
"""
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    columns: list[tuple[str, Any]] = [
        ("document_type", sa.Text), ("legal_basis", sa.Text), ("exempt_until", sa.Date),
        ("exempt_public_description", sa.Text), ("approval_state", sa.Text),
        ("size", sa.BigInteger), ("decided_at", sa.DateTime(timezone=True)),
        ("withdrawn_at", sa.DateTime(timezone=True))]
    for name, kind in columns:
        op.add_column("publications", sa.Column(name, kind), schema=schema)
    # The DIK: exempt decisions (withheld, or withdrawn after being public).
    op.create_index("ix_publications_exempt", "publications", ["office_code", "decided_at"],
                    postgresql_where=sa.text("kip_category = 'dikecualikan'"), schema=schema)
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("office_code", sa.Text),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_by", sa.Uuid),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        schema=schema,
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.Uuid,
                  sa.ForeignKey(f"{schema}.webhook_subscriptions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("body", postgresql.JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')",
                           name="ck_webhook_deliveries_status"),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery_event"),
        schema=schema,
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at"],
                    postgresql_where=sa.text("status = 'pending'"), schema=schema)
