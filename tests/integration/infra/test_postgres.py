"""PostgreSQL: a round trip through SQLAlchemy's async engine, and data kept over a restart."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.servers import Endpoints


async def test_round_trip_through_async_engine(servers: Endpoints) -> None:
    engine = create_async_engine(servers.database_url)
    table = f"smoke_{uuid.uuid4().hex[:8]}"
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE {table} (id uuid PRIMARY KEY, body text)"))
            row_id = uuid.uuid4()
            await conn.execute(text(f"INSERT INTO {table} VALUES (:id, :body)"),
                               {"id": row_id, "body": "Pemilihan umum 2024"})
        async with engine.connect() as conn:
            body = (await conn.execute(text(f"SELECT body FROM {table} WHERE id = :id"),
                                       {"id": row_id})).scalar_one()
            version = (await conn.execute(text("SHOW server_version"))).scalar_one()
        assert body == "Pemilihan umum 2024"
        assert version.startswith("15.")
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await engine.dispose()


@pytest.mark.restart
async def test_restart_keeps_data(servers: Endpoints,
                                  restart_server: Callable[[str], None]) -> None:
    engine = create_async_engine(servers.database_url)
    table = f"restart_{uuid.uuid4().hex[:8]}"
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE {table} (n int)"))
            await conn.execute(text(f"INSERT INTO {table} VALUES (42)"))
        await engine.dispose()
        restart_server("postgres")
        async with engine.connect() as conn:
            value = (await conn.execute(text(f"SELECT n FROM {table}"))).scalar_one()
        assert value == 42
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await engine.dispose()
