"""Core tables, the review read-model and decisions.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import JSONB

from dms_common.db.migrate import create_core_schema

revision = "0001"
down_revision = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    create_core_schema(op.get_bind(), schema)
    op.create_table(
        "documents",
        sa.Column("document_id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("office_code", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("division_id", sa.Uuid),
        sa.Column("document_date", sa.Date),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("object_key", sa.Text, nullable=False),
        sa.Column("uploader_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("received_seq", sa.Integer, nullable=False),
        sa.Column("text_key", sa.Text),
        sa.Column("text_length", sa.Integer, nullable=False),
        sa.Column("pages", sa.Integer),
        sa.Column("language", sa.Text),
        sa.Column("extraction_reason", sa.Text),
        sa.Column("extracted_at", sa.DateTime(timezone=True)),
        sa.Column("decision_id", sa.Uuid),
        schema=schema,
    )
    op.create_index("ix_documents_queue", "documents",
                    ["office_code", "received_at", "document_id"], schema=schema)
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.Uuid, primary_key=True),
        sa.Column("document_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("office_code", sa.Text, nullable=False),
        sa.Column("kip_category", sa.Text, nullable=False),
        sa.Column("document_type", sa.Text),
        sa.Column("dip", JSONB),
        sa.Column("reason", sa.Text),
        sa.Column("decided_by", sa.Uuid, nullable=False),
        sa.Column("decided_role", sa.Text, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        schema=schema,
    )
    op.create_index("ix_decisions_document_id", "decisions", ["document_id"], schema=schema)
