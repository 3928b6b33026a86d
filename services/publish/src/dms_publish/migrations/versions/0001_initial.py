"""Core tables and the per-document publications row.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from dms_common.db.migrate import create_core_schema

revision = "0001"
down_revision = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    create_core_schema(op.get_bind(), schema)
    op.create_table(
        "publications",
        sa.Column("document_id", sa.Uuid, primary_key=True),
        sa.Column("office_code", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("division_id", sa.Uuid),
        sa.Column("document_date", sa.Date),
        sa.Column("kip_category", sa.Text),
        sa.Column("dip", postgresql.JSONB),
        sa.Column("decision_id", sa.Uuid),
        sa.Column("filename", sa.Text),
        sa.Column("content_type", sa.Text),
        sa.Column("object_key", sa.Text),
        sa.Column("file_version", sa.Integer),
        sa.Column("redacted_object_key", sa.Text),
        sa.Column("state", sa.Text, nullable=False, server_default="pending"),
        sa.Column("publication_id", sa.Uuid),
        sa.Column("public_object_key", sa.Text),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("received_seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("classified_seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint("state IN ('pending', 'published', 'withheld', 'withdrawn')",
                           name="ck_publications_state"),
        sa.CheckConstraint("state <> 'published' OR (publication_id IS NOT NULL"
                           " AND public_object_key IS NOT NULL AND published_at IS NOT NULL)",
                           name="ck_publications_published_complete"),
        schema=schema,
    )
    # The portal's lists: published documents, newest first, optionally by office.
    op.create_index("ix_publications_published", "publications",
                    [sa.text("published_at DESC"), sa.text("document_id DESC")],
                    postgresql_where=sa.text("state = 'published'"), schema=schema)
    op.create_index("ix_publications_office_published", "publications",
                    ["office_code", sa.text("published_at DESC"), sa.text("document_id DESC")],
                    postgresql_where=sa.text("state = 'published'"), schema=schema)
