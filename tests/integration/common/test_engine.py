"""A pooled connection the server has closed is replaced at checkout, not handed to a request;
a healthy one is kept, however long it sat idle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dms_common.db.uow import IDLE_CHECK_SECONDS, make_engine
from tests.support.servers import Endpoints


@asynccontextmanager
async def one_connection_pool(servers: Endpoints) -> AsyncIterator[AsyncEngine]:
    url = servers.database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = make_engine(url, schema="public", pool_size=1, restricted=False)
    try:
        yield engine
    finally:
        await engine.dispose()


async def backend_of(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def end_backend(servers: Endpoints, pid: int) -> None:
    """End one server process, as a restart does to every connection, and wait until it is."""
    async with one_connection_pool(servers) as other, other.connect() as killer:
        ended = (await killer.execute(text("SELECT pg_terminate_backend(:pid)"),
                                      {"pid": pid})).scalar_one()
        assert ended is True
        for _ in range(50):
            still = (await killer.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid})).scalar_one()
            if not still:
                return
            await asyncio.sleep(0.02)


async def test_a_healthy_idle_connection_is_kept(servers: Endpoints) -> None:
    # Reconnecting costs a TCP and TLS handshake and the session set-up, on the request's time.
    async with one_connection_pool(servers) as engine:
        first = await backend_of(engine)
        await asyncio.sleep(IDLE_CHECK_SECONDS * 2)  # long enough to be checked at checkout
        assert await backend_of(engine) == first
        assert await backend_of(engine) == first  # and right away, without a check


async def test_the_hottest_connection_is_reused_first(servers: Endpoints) -> None:
    url = servers.database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = make_engine(url, schema="public", pool_size=4, restricted=False)
    try:
        async with engine.connect() as a, engine.connect() as b:  # two in the pool now
            pids = [int((await c.execute(text("SELECT pg_backend_pid()"))).scalar_one())
                    for c in (a, b)]
        # b went back first and a last: a lone request takes a again, so b may idle out.
        assert await backend_of(engine) == pids[0]
        assert await backend_of(engine) == pids[0]
    finally:
        await engine.dispose()


async def test_a_connection_the_server_closed_is_replaced_without_an_error(
        servers: Endpoints) -> None:
    async with one_connection_pool(servers) as engine:
        first = await backend_of(engine)
        await end_backend(servers, first)
        await asyncio.sleep(IDLE_CHECK_SECONDS * 2)  # idle in the pool, as during a restart
        assert await backend_of(engine) != first


async def test_an_idle_connection_is_checked_even_before_the_driver_knows_it_is_gone(
        servers: Endpoints, monkeypatch: pytest.MonkeyPatch) -> None:
    async with one_connection_pool(servers) as engine:
        first = await backend_of(engine)
        await end_backend(servers, first)
        await asyncio.sleep(IDLE_CHECK_SECONDS * 2)
        # Right after a restart the driver may not have read the close yet: only the one
        # query at checkout can tell.
        monkeypatch.setattr(asyncpg.Connection, "is_closed", lambda _self: False)
        assert await backend_of(engine) != first
