"""The document type from the classification, for the type facet.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    op.add_column("documents", sa.Column("document_type", sa.Text), schema=schema)
