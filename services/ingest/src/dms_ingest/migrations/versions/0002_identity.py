"""Identity: login attempts, refresh token families, the account life cycle, audit lookups.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    schema = context.config.attributes["schema"]
    now = sa.text("now()")
    # Throttling must hold across processes, so the attempts live in the database.
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("client", sa.Text, nullable=False, server_default=""),
        sa.Column("succeeded", sa.Boolean, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        schema=schema)
    op.create_index("login_attempts_username_at", "login_attempts", ["username", "at"],
                    schema=schema)
    op.add_column("users", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                                     server_default=now), schema=schema)
    op.add_column("users", sa.Column("password_changed_at", sa.DateTime(timezone=True)),
                  schema=schema)
    op.add_column("users", sa.Column("deleted_at", sa.DateTime(timezone=True)), schema=schema)
    # A refresh token's row id is its jti; rotation keeps a family so that replaying a rotated
    # token revokes every descendant.
    op.add_column("refresh_tokens", sa.Column("family_id", sa.Uuid), schema=schema)
    op.add_column("refresh_tokens", sa.Column("replaced_by", sa.Uuid), schema=schema)
    op.add_column("refresh_tokens", sa.Column("client", sa.Text, nullable=False,
                                              server_default=""), schema=schema)
    op.add_column("refresh_tokens", sa.Column("created_at", sa.DateTime(timezone=True),
                                              nullable=False, server_default=now), schema=schema)
    op.execute(f'UPDATE "{schema}".refresh_tokens SET family_id = id WHERE family_id IS NULL')
    op.alter_column("refresh_tokens", "family_id", nullable=False, schema=schema)
    op.create_index("refresh_tokens_family", "refresh_tokens", ["family_id"], schema=schema)
    op.create_index("refresh_tokens_user", "refresh_tokens", ["user_id"], schema=schema)
    op.add_column("offices", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                                       server_default=now), schema=schema)
    op.add_column("divisions", sa.Column("updated_at", sa.DateTime(timezone=True),
                                         nullable=False, server_default=now), schema=schema)
    # The audit read API pages newest-first within an office.
    op.create_index("audit_log_office_id", "audit_log", ["office_code", "id"], schema=schema)
