"""The seq of an uploader's retraction (`dms.document.retracted`).

Revision ID: 0003
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    op.add_column("documents", sa.Column("retracted_seq", sa.Integer, nullable=False,
                                         server_default="0"), schema=schema)


def downgrade() -> None:
    schema = context.config.attributes["schema"]
    op.drop_column("documents", "retracted_seq", schema=schema)
