"""Core tables and the first effect table.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import context, op

from dms_common.db.migrate import create_core_schema

revision = "0001"
down_revision = None


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    create_core_schema(op.get_bind(), schema)
    op.create_table(
        "effects",
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("document_id", sa.Uuid, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        schema=schema,
    )
