"""A pooled connection the server has closed is replaced at checkout, not handed to a request."""

from __future__ import annotations

from sqlalchemy import text

from dms_common.db.uow import make_engine
from tests.support.servers import Endpoints


async def test_a_connection_the_server_closed_is_replaced_without_an_error(
        servers: Endpoints) -> None:
    url = servers.database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = make_engine(url, schema="public", pool_size=1, restricted=False)
    other = make_engine(url, schema="public", pool_size=1, restricted=False)
    try:
        async with engine.connect() as connection:
            first = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        # The one pooled connection is idle now; the server ends it, as a restart would.
        async with other.connect() as killer:
            ended = (await killer.execute(text("SELECT pg_terminate_backend(:pid)"),
                                          {"pid": first})).scalar_one()
            assert ended is True
            for _ in range(50):
                still = (await killer.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": first})).scalar_one()
                if not still:
                    break
        async with engine.connect() as connection:
            second = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert second != first
    finally:
        await engine.dispose()
        await other.dispose()
