"""Alembic per service schema, run at start under an advisory lock.

Each service keeps its migrations in `dms_<name>/migrations/` with a two-line
`env.py` calling `run_env(metadata)`. `migrate()` runs them as the database
owner, serialised across processes by an advisory lock (the API and the worker
of one service start together), then (re)grants the service's runtime role:
read and write on its tables, but only SELECT and INSERT on `audit_log`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from dms_common.db.tables import core_tables
from dms_common.db.uow import advisory_key, runtime_role


def lock_key(schema: str) -> int:
    return advisory_key(f"dms-migrate:{schema}")


def alembic_config(script_location: Path, schema: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["schema"] = schema
    return cfg


def run_env(metadata: MetaData) -> None:
    """The body of every service's migrations/env.py (online mode only)."""
    config = context.config
    connection: Connection = config.attributes["connection"]
    schema = config.attributes["schema"]
    context.configure(connection=connection, target_metadata=metadata,
                      version_table_schema=schema, include_schemas=False)
    with context.begin_transaction():
        context.run_migrations()


def _upgrade(connection: Connection, cfg: Config, revision: str) -> None:
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def migrate(url: str, *, schema: str, script_location: Path, revision: str = "head") -> None:
    """Bring a service's schema to `revision` (head by default), once across processes."""
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key(schema)})
            try:
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                await conn.execute(text(f'SET search_path TO "{schema}", public'))
                await conn.run_sync(_upgrade, alembic_config(script_location, schema), revision)
                await conn.run_sync(grant_runtime_role, schema)
                await conn.commit()
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(schema)})
                await conn.commit()
    finally:
        await engine.dispose()


def create_core_schema(bind: Connection, schema: str) -> None:
    """Create the outbox, processed-events, counters and audit tables (first migration)."""
    metadata = MetaData(schema=schema)
    tables = core_tables(metadata)
    metadata.create_all(bind)
    audit = f'"{schema}".audit_log'
    bind.execute(text(f"""
        CREATE OR REPLACE FUNCTION "{schema}".refuse_audit_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only';
        END $$;
    """))
    bind.execute(text(f"""
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON {audit}
        FOR EACH ROW EXECUTE FUNCTION "{schema}".refuse_audit_change()
    """))
    bind.execute(text(f"""
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON {audit}
        FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".refuse_audit_change()
    """))
    del tables


def grant_runtime_role(bind: Connection, schema: str) -> None:
    """Create the schema's runtime role if needed and give it exactly its rights."""
    role = runtime_role(schema)
    exists = bind.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if exists is None:
        bind.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
    owner = bind.execute(text("SELECT current_user")).scalar_one()
    member = bind.execute(text("SELECT pg_has_role(:u, :r, 'MEMBER')"),
                          {"u": owner, "r": role}).scalar_one()
    if not member:
        bind.execute(text(f'GRANT "{role}" TO "{owner}"'))
    statements = [
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"',
        f'REVOKE UPDATE, DELETE, TRUNCATE ON "{schema}".audit_log FROM "{role}"',
    ]
    for statement in statements:
        bind.execute(text(statement))


def current_revision(bind: Connection, schema: str) -> Any:
    sql = f'SELECT version_num FROM "{schema}".alembic_version'  # noqa: S608 - our schema name
    row = bind.execute(text(sql)).first()
    return None if row is None else row[0]
