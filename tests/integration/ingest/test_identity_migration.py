"""Migration 0002 on a real PostgreSQL: a database with accounts and sessions upgrades in place."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import dms_ingest
from dms_common.db.migrate import migrate
from tests.support.servers import Endpoints

MIGRATIONS = Path(dms_ingest.__file__).parent / "migrations"


async def test_0002_keeps_existing_users_and_refresh_tokens(servers: Endpoints) -> None:
    schema = f"ingest_m{uuid.uuid4().hex[:8]}"
    url = servers.database_url
    engine = create_async_engine(url)
    user_id, token_id = uuid.uuid4(), uuid.uuid4()
    try:
        await migrate(url, schema=schema, script_location=MIGRATIONS, revision="0001")
        async with engine.begin() as conn:
            await conn.execute(text(
                f'INSERT INTO "{schema}".users (id, username, password_hash, role, office_code) '
                "VALUES (:id, 'lama', 'x', 'staff', '6302')"), {"id": user_id})
            await conn.execute(text(
                f'INSERT INTO "{schema}".refresh_tokens (id, user_id, token_hash, expires_at) '
                "VALUES (:id, :user, 'h', now() + interval '1 day')"),
                {"id": token_id, "user": user_id})
        await migrate(url, schema=schema, script_location=MIGRATIONS)
        async with engine.begin() as conn:
            family = (await conn.execute(text(
                f'SELECT family_id FROM "{schema}".refresh_tokens'))).scalar_one()
            user = (await conn.execute(text(
                f'SELECT deleted_at, must_change_password FROM "{schema}".users'))).one()
            attempts = (await conn.execute(text(
                f'SELECT count(*) FROM "{schema}".login_attempts'))).scalar_one()
        assert family == token_id
        assert user.deleted_at is None and user.must_change_password is False
        assert attempts == 0
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
