"""The consequence of disclosure, as the DIK shows it beside each exemption.

Revision ID: 0003
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    op.add_column("publications", sa.Column("exempt_consequence", sa.Text), schema=schema)


def downgrade() -> None:
    schema = context.config.attributes["schema"]
    op.drop_column("publications", "exempt_consequence", schema=schema)
