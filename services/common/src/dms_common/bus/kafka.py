"""The Kafka side of the bus: an idempotent publisher and the outbox relay.

The relay is the only way events leave a service: it reads pending outbox rows
in id order, sends them with acks=all through an idempotent producer, waits for
every acknowledgement, and only then marks the rows sent. Killed at any point,
it sends a batch again at worst; consumers skip what they already applied.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dms_common.db.tables import CoreTables
from dms_common.db.uow import advisory_key
from dms_common.metrics import OUTBOX_OLDEST_PENDING_SECONDS, OUTBOX_SENT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingRecord:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


class KafkaBus:
    """An idempotent, acks=all producer (the publisher port of the bus)."""

    def __init__(self, bootstrap: str, *, client_id: str, linger_ms: int = 5) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, client_id=client_id, acks="all",
            enable_idempotence=True, linger_ms=linger_ms,
            max_batch_size=1 << 20, request_timeout_ms=30000,
        )
        self._started = False

    async def start(self) -> None:
        await self._producer.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            await self._producer.stop()
            self._started = False

    async def ping(self) -> None:
        """Raise unless the cluster answers a metadata request."""
        if not self._started or not await self._producer.client.force_metadata_update():
            raise ConnectionError("Kafka does not answer")

    async def send_batch(self, records: Sequence[OutgoingRecord]) -> None:
        """Send records in order and return once every one is acknowledged."""
        futures = [
            await self._producer.send(r.topic, value=r.value, key=r.key, headers=r.headers)
            for r in records
        ]
        if futures:
            await asyncio.gather(*futures)

    async def send(self, record: OutgoingRecord) -> None:
        await self.send_batch([record])


def relay_lock_key(schema: str) -> int:
    return advisory_key(f"dms-relay:{schema}")


class OutboxRelay:
    """Moves committed outbox rows of one service schema to Kafka, in order."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], tables: CoreTables,
                 bus: KafkaBus, *, batch_size: int = 500, poll_seconds: float = 0.5,
                 linger_seconds: float = 0.025, topic_prefix: str = "") -> None:
        self._sessions = session_factory
        self._prefix = topic_prefix
        self._tables = tables
        self._bus = bus
        self._batch_size = batch_size
        self._poll = poll_seconds
        # After a wake, wait this long so the commits of concurrent requests share one pass
        # (one transaction and one Kafka round trip) instead of one pass each. 25 ms against 5:
        # +17% uploads/s at 16 clients, the pass's CPU shared by ~6 uploads instead of ~1;
        # invisible next to the search index's 1 s refresh.
        self._linger = linger_seconds
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Called after a unit of work that emitted commits: send without waiting for the poll."""
        self._wake.set()

    async def relay_once(self) -> int:
        """Send one batch of pending rows; return how many were sent."""
        outbox = self._tables.outbox
        async with self._sessions() as session, session.begin():
            # One relay per schema at a time keeps the send order equal to the
            # commit order even when the API and the worker both run a relay.
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                                  {"k": relay_lock_key(self._tables.schema)})
            # Marked sent and read in one statement; the mark only holds if the send below
            # succeeds, since a failure rolls the transaction back.
            pending = (select(outbox.c.id).where(outbox.c.sent_at.is_(None))
                       .order_by(outbox.c.id).limit(self._batch_size))
            rows = sorted((await session.execute(
                update(outbox).where(outbox.c.id.in_(pending.scalar_subquery()))
                .values(sent_at=func.now())
                .returning(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.value,
                           outbox.c.correlation_id))).all(), key=lambda r: r.id)
            if not rows:
                OUTBOX_OLDEST_PENDING_SECONDS.labels(self._tables.schema).set(0)
                return 0
            await self._bus.send_batch([
                OutgoingRecord(topic=self._prefix + r.topic, key=r.key.encode(), value=r.value,
                               headers=[("correlation_id", r.correlation_id.encode())])
                for r in rows
            ])
        OUTBOX_SENT.labels(self._tables.schema).inc(len(rows))
        return len(rows)

    async def oldest_pending_age(self) -> float:
        outbox = self._tables.outbox
        async with self._sessions() as session:
            oldest = (await session.execute(
                select(func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None)))).scalar()
            now = (await session.execute(select(func.now()))).scalar_one()
        return 0.0 if oldest is None else (now - oldest).total_seconds()

    async def run(self) -> None:
        """Relay until stopped; back off while Kafka or the database is away."""
        backoff = self._poll
        last_age_check = 0.0
        while not self._stopping:
            # Cleared before reading, so a commit during the send wakes the next round.
            self._wake.clear()
            try:
                sent = await self.relay_once()
                backoff = self._poll
                if time.monotonic() - last_age_check > 5:
                    last_age_check = time.monotonic()
                    OUTBOX_OLDEST_PENDING_SECONDS.labels(self._tables.schema).set(
                        await self.oldest_pending_age())
                if sent == self._batch_size:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying", extra={"backoff": backoff})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
            except TimeoutError:
                continue
            if self._linger and not self._stopping:
                await asyncio.sleep(self._linger)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()


async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    """The partition numbers of a topic (empty when it does not exist)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for d in described if d.get("error_code") == 0
                  for p in d.get("partitions", []))
