"""The uploader's retraction (`dms.document.retracted`) and the `retracted` state.

Revision ID: 0004
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"

STATES = ("pending", "published", "withheld", "withdrawn")


def _states(states: tuple[str, ...]) -> str:
    return "state IN (" + ", ".join(f"'{s}'" for s in states) + ")"


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    op.add_column("publications", sa.Column("retracted_seq", sa.Integer, nullable=False,
                                            server_default="0"), schema=schema)
    op.add_column("publications", sa.Column("retracted_at", sa.DateTime(timezone=True)),
                  schema=schema)
    op.drop_constraint("ck_publications_state", "publications", schema=schema)
    op.create_check_constraint("ck_publications_state", "publications",
                               _states((*STATES, "retracted")), schema=schema)


def downgrade() -> None:
    schema = context.config.attributes["schema"]
    # The previous release knows no retraction: a retracted row reads as a withdrawn one.
    op.execute(sa.text(f"UPDATE \"{schema}\".publications SET state = 'withdrawn' "
                       "WHERE state = 'retracted'"))
    op.drop_constraint("ck_publications_state", "publications", schema=schema)
    op.create_check_constraint("ck_publications_state", "publications", _states(STATES),
                               schema=schema)
    op.drop_column("publications", "retracted_at", schema=schema)
    op.drop_column("publications", "retracted_seq", schema=schema)
