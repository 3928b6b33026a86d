"""Core tables and the document projection.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import ARRAY

from dms_common.db.migrate import create_core_schema

revision = "0001"
down_revision = None


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, nullable=False, server_default="0")


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    create_core_schema(op.get_bind(), schema)
    op.create_table(
        "documents",
        sa.Column("document_id", sa.Uuid, primary_key=True),
        sa.Column("office_code", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("division_id", sa.Uuid),
        sa.Column("document_date", sa.Date),
        sa.Column("tags", ARRAY(sa.Text), nullable=False),
        sa.Column("filename", sa.Text),
        sa.Column("content_type", sa.Text),
        sa.Column("received_at", sa.DateTime(timezone=True)),
        sa.Column("extraction_ok", sa.Boolean),
        sa.Column("text_key", sa.Text),
        sa.Column("kip_category", sa.Text),
        sa.Column("redacted_text_key", sa.Text),
        sa.Column("redacted_object_key", sa.Text),
        sa.Column("publication_id", sa.Uuid),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("published", sa.Boolean, nullable=False),
        sa.Column("withdrawn", sa.Boolean, nullable=False),
        _counter("received_seq"),
        _counter("extracted_seq"),
        _counter("classified_seq"),
        _counter("published_seq"),
        _counter("withdrawn_seq"),
        _counter("revision"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        schema=schema,
    )
    op.create_index("ix_documents_office_status", "documents", ["office_code", "status"],
                    schema=schema)
