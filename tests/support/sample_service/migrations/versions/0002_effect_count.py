"""Count per effect, filled for rows that already exist.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    op.add_column("effects", sa.Column("n", sa.Integer, nullable=True), schema=schema)
    op.execute(f'UPDATE "{schema}".effects SET n = 1')
    op.alter_column("effects", "n", nullable=False, server_default="1", schema=schema)
