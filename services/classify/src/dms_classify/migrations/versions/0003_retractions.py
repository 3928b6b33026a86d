"""Uploaders' retractions (`dms.document.retracted`), which may arrive before the upload.

Revision ID: 0003
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    op.create_table(
        "retractions",
        sa.Column("document_id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("office_code", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("retracted_by", sa.Uuid, nullable=False),
        sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )


def downgrade() -> None:
    schema = context.config.attributes["schema"]
    op.drop_table("retractions", schema=schema)
