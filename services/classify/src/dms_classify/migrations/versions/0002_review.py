"""Extraction outputs, findings and suggestions; exemptions, approvals, redactions; settings.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    for column in (
        sa.Column("ocr_used", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("text_sample", sa.Text),
        sa.Column("preview_keys", JSONB),
        sa.Column("table_key", sa.Text),
        sa.Column("findings", JSONB),
        sa.Column("suggestion", JSONB),
        sa.Column("flag", sa.Text),
        sa.Column("flagged_at", sa.DateTime(timezone=True)),
    ):
        op.add_column("documents", column, schema=schema)
    for column in (
        sa.Column("legal_basis", sa.Text),
        sa.Column("consequence_test", JSONB),
        sa.Column("exempt_until", sa.Date),
        sa.Column("approval_state", sa.Text, nullable=False, server_default="not_required"),
        sa.Column("approved_by", sa.Uuid),
        sa.Column("approved_at", sa.DateTime(timezone=True)),
        sa.Column("approval_note", sa.Text),
        sa.Column("redaction", JSONB),
        sa.Column("redacted_object_key", sa.Text),
        sa.Column("redacted_text_key", sa.Text),
    ):
        op.add_column("decisions", column, schema=schema)
    op.create_index("ix_decisions_office_exempt", "decisions",
                    ["office_code", "kip_category", "exempt_until"], schema=schema)
    op.create_table(
        "office_settings",
        sa.Column("office_code", sa.Text, primary_key=True),
        sa.Column("exemption_requires_approval", sa.Boolean, nullable=False,
                  server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        schema=schema,
    )
    op.create_table(
        "classifier_models",
        sa.Column("office_code", sa.Text, primary_key=True),
        sa.Column("model", sa.LargeBinary, nullable=False),
        sa.Column("samples", sa.Integer, nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )
