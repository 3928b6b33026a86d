"""Documents: retraction, and indexes for the staff listing and the orphan sweeper.

Revision ID: 0003
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    op.add_column("documents", sa.Column("retracted_at", sa.DateTime(timezone=True)),
                  schema=schema)
    op.add_column("documents", sa.Column("retracted_by", sa.Uuid), schema=schema)
    # The staff listing pages by (created_at, id) within an office.
    op.create_index("documents_office_created", "documents",
                    ["office_code", sa.text("created_at DESC"), sa.text("id DESC")],
                    schema=schema)
    op.create_index("document_versions_document", "document_versions",
                    ["document_id", "version"], schema=schema)
