"""Wiring of the sample service, and a command line to run its parts as processes.

    python -m tests.support.sample_service.app relay
    python -m tests.support.sample_service.app consume [--kill-after-commit] [--poison-title T]

Environment: DMS_DATABASE_URL, DMS_KAFKA_BOOTSTRAP, SAMPLE_SCHEMA, SAMPLE_GROUP, SAMPLE_PREFIX.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dms_common.bus.consumer import EventConsumer
from dms_common.bus.kafka import KafkaBus, OutboxRelay
from dms_common.db.migrate import migrate
from dms_common.db.tables import CoreTables
from dms_common.db.uow import UnitOfWork, UnitOfWorkFactory, make_engine, make_session_factory
from dms_common.events import DocumentReceived, Event, Topic
from tests.support.sample_service.models import tables

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class Sample:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    core: CoreTables
    effects: Table
    uow: UnitOfWorkFactory

    async def close(self) -> None:
        await self.engine.dispose()


async def open_sample(url: str, schema: str, *, revision: str = "head") -> Sample:
    await migrate(url, schema=schema, script_location=MIGRATIONS, revision=revision)
    _, core, effects = tables(schema)
    engine = make_engine(url, schema=schema, pool_size=4)
    sessions = make_session_factory(engine)
    return Sample(engine, sessions, core, effects, UnitOfWorkFactory(sessions, core))


def make_handler(effects: Table, poison_title: str | None = None) -> Any:
    async def record_effect(event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, DocumentReceived)
        if poison_title is not None and event.payload.title == poison_title:
            raise ValueError(f"refusing poison document {event.payload.title!r}")
        await uow.session.execute(insert(effects).values(
            event_id=event.event_id, document_id=event.document_id, title=event.payload.title))
    return record_effect


async def run_relay() -> None:
    sample = await open_sample(os.environ["DMS_DATABASE_URL"], os.environ["SAMPLE_SCHEMA"])
    bus = KafkaBus(os.environ["DMS_KAFKA_BOOTSTRAP"], client_id="sample-relay")
    await bus.start()
    relay = OutboxRelay(sample.sessions, sample.core, bus, batch_size=200, poll_seconds=0.2,
                        topic_prefix=os.environ["SAMPLE_PREFIX"])
    try:
        while await relay.relay_once():
            pass
    finally:
        await bus.stop()
        await sample.close()


async def run_consumer(kill_after_commit: bool, poison_title: str | None, until: int) -> None:
    sample = await open_sample(os.environ["DMS_DATABASE_URL"], os.environ["SAMPLE_SCHEMA"])
    bus = KafkaBus(os.environ["DMS_KAFKA_BOOTSTRAP"], client_id="sample-dlq")
    await bus.start()

    class KillingConsumer(EventConsumer):
        async def handle_record(self, record: Any) -> None:
            await super().handle_record(record)
            if kill_after_commit:
                # The effect's transaction has committed; the offset has not.
                os.kill(os.getpid(), signal.SIGKILL)

    consumer = KillingConsumer(
        bootstrap=os.environ["DMS_KAFKA_BOOTSTRAP"], group_id=os.environ["SAMPLE_GROUP"],
        handlers={Topic.RECEIVED.value: make_handler(sample.effects, poison_title)},
        uow_factory=sample.uow, bus=bus, retries=2, backoff_seconds=0.05,
        topic_prefix=os.environ["SAMPLE_PREFIX"])
    await consumer.start()
    try:
        while consumer.handled < until:
            await asyncio.wait_for(consumer.run_once(), timeout=60)
    finally:
        await consumer.stop()
        await bus.stop()
        await sample.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["relay", "consume"])
    parser.add_argument("--kill-after-commit", action="store_true")
    parser.add_argument("--poison-title")
    parser.add_argument("--until", type=int, default=1)
    args = parser.parse_args()
    if args.mode == "relay":
        asyncio.run(run_relay())
    else:
        asyncio.run(run_consumer(args.kill_after_commit, args.poison_title, args.until))


if __name__ == "__main__":
    main()
