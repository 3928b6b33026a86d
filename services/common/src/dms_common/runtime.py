"""What every service's composition root opens and closes: the shared half of `bootstrap`.

`open_core()` migrates the service's schema (under an advisory lock), opens the
engine, the unit-of-work factory, the object store, the Kafka producer and the
outbox relay, and the token verifier over the service's identity projection.
Tests pass their own `store` or `bus`. Nothing here runs at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dms_common.bus.kafka import KafkaBus, OutboxRelay
from dms_common.db.migrate import migrate
from dms_common.db.tables import CoreTables, core_tables
from dms_common.db.uow import UnitOfWorkFactory, make_engine, make_session_factory
from dms_common.identity.projection import DbUserStatus
from dms_common.identity.tokens import TokenVerifier, load_key
from dms_common.identity.users import CachedUserStatus
from dms_common.settings import ServiceSettings
from dms_common.storage import MinioStore, ObjectStore

log = logging.getLogger(__name__)


@dataclass
class Core:
    settings: ServiceSettings
    schema: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tables: CoreTables
    uow: UnitOfWorkFactory
    store: ObjectStore
    bus: KafkaBus
    relay: OutboxRelay
    verifier: TokenVerifier
    user_status: CachedUserStatus
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def start_relay(self) -> None:
        """Run the outbox relay in the background of this process."""
        self.tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.schema}-relay"))

    async def check_ready(self) -> dict[str, str]:
        """Ping each dependency; return {name: "ok" | error}."""
        results: dict[str, str] = {}

        async def probe(name: str, check: Any) -> None:
            try:
                await asyncio.wait_for(check(), timeout=3)
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"{type(exc).__name__}: {exc}"[:200]

        async def database() -> None:
            async with self.sessions() as session:
                await session.execute(text("SELECT 1"))

        async def kafka() -> None:
            await self.bus.ping()

        await asyncio.gather(probe("database", database), probe("kafka", kafka),
                             probe("object_store", self.store.ping))
        return results

    async def close(self) -> None:
        self.relay.stop()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.bus.stop()
        close = getattr(self.store, "close", None)
        if close is not None:
            result = close()
            if asyncio.iscoroutine(result):
                await result
        await self.engine.dispose()


class ServiceContainer(Protocol):
    """What a service's bootstrap returns: its Core plus its own parts."""

    core: Core

    async def close(self) -> None: ...


async def open_core(settings: ServiceSettings, *, schema: str, metadata: MetaData,
                    migrations: Path, client_id: str, store: ObjectStore | None = None,
                    bus: KafkaBus | None = None) -> Core:
    """Migrate and open everything a service shares with the others."""
    url = settings.database_url.get_secret_value()
    live_schema = schema + settings.db_schema_suffix
    await migrate(url, schema=live_schema, script_location=migrations)
    engine = make_engine(url, schema=live_schema, pool_size=settings.database_pool_size,
                         model_schema=schema)
    sessions = make_session_factory(engine)
    tables = core_tables(metadata)
    if store is None:
        minio_store = MinioStore(settings.s3_endpoint, settings.s3_access_key.get_secret_value(),
                                 settings.s3_secret_key.get_secret_value(), settings.s3_bucket,
                                 secure=settings.s3_secure)
        await minio_store.ensure_bucket()
        store = minio_store
    if bus is None:
        bus = KafkaBus(settings.kafka_bootstrap, client_id=client_id)
        await bus.start()
    relay = OutboxRelay(sessions, tables, bus, batch_size=settings.relay_batch_size,
                        poll_seconds=settings.relay_poll_seconds,
                        topic_prefix=settings.kafka_topic_prefix)
    uow = UnitOfWorkFactory(sessions, tables, on_commit=relay.wake)
    verifier = TokenVerifier(load_key(settings.jwt_public_key.get_secret_value()))
    user_status = CachedUserStatus(DbUserStatus(sessions, tables), ttl_seconds=2.0)
    return Core(settings=settings, schema=live_schema, engine=engine, sessions=sessions,
                tables=tables, uow=uow, store=store, bus=bus, relay=relay, verifier=verifier,
                user_status=user_status)
