"""The consumer loop: effects exactly once over at-least-once delivery.

For each record: decode it, then in one unit of work claim its `event_id`
(skipping one already claimed) and run the handler. Offsets are committed by
hand only after those transactions committed, so a crash between the two
replays records whose claims make them no-ops. A record that keeps failing is
retried with backoff, then parked on `<topic>.dlq` with its error, and the
partition moves on.

An outage is not a poison event: while PostgreSQL, OpenSearch, the object store
or Kafka itself does not answer, every event would fail, and parking them all
would empty the partition into the DLQ. Such failures (`is_transient`) are
retried with capped backoff for as long as `outage_seconds`, holding the
partition until the server is back; only then does an event count as failing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from dms_common.bus.kafka import KafkaBus, OutgoingRecord
from dms_common.db.uow import UnitOfWork
from dms_common.events import Event, UnknownEvent, dlq_topic, parse_event
from dms_common.logging import correlation
from dms_common.metrics import CONSUMER_LAG, DLQ_PARKED, EVENTS_HANDLED
from dms_common.outages import is_transient

log = logging.getLogger(__name__)

Handler = Callable[[Event, UnitOfWork], Awaitable[None]]

class EventConsumer:
    """Runs a service's handlers over its topics as one consumer group."""

    def __init__(self, *, bootstrap: str, group_id: str, handlers: Mapping[str, Handler],
                 uow_factory: Callable[[], UnitOfWork], bus: KafkaBus, retries: int = 4,
                 backoff_seconds: float = 0.5, max_poll_records: int = 200,
                 topic_prefix: str = "", outage_seconds: float = 600.0,
                 max_backoff_seconds: float = 5.0) -> None:
        self.group_id = group_id
        # A prefix namespaces every topic (tests, or several environments on one cluster).
        self._prefix = topic_prefix
        self._handlers = {f"{topic_prefix}{topic}": h for topic, h in handlers.items()}
        self._uow_factory = uow_factory
        self._bus = bus
        self._retries = retries
        self._backoff = backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._outage_seconds = outage_seconds
        self._consumer = AIOKafkaConsumer(
            *self._handlers, bootstrap_servers=bootstrap, group_id=group_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            max_poll_records=max_poll_records, client_id=group_id,
        )
        self._stopping = False
        self.handled = 0

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        self._stopping = True
        await self._consumer.stop()

    async def run(self) -> None:
        """Consume until stopped, riding out a broker that goes away and comes back."""
        while not self._stopping:
            try:
                await self.run_once()
            except Exception as exc:
                rebalanced = type(exc).__name__ == "CommitFailedError"
                if self._stopping or not (is_transient(exc) or rebalanced):
                    raise
                # The batch's effects are committed in PostgreSQL; offsets not committed here
                # are delivered again and their claims make them no-ops.
                log.warning("consumer interrupted; resuming", extra={"error": repr(exc)})
                await asyncio.sleep(self._max_backoff)

    async def run_once(self, timeout_ms: int = 500) -> int:
        """Handle one fetched batch, committing each partition's offset after its effects."""
        batch = await self._consumer.getmany(timeout_ms=timeout_ms)
        count = 0
        for tp, records in batch.items():
            for record in records:
                await self.handle_record(record)
            next_offset = records[-1].offset + 1
            await self._consumer.commit({tp: next_offset})
            self._report_lag(tp, next_offset)
            count += len(records)
        return count

    def _report_lag(self, tp: TopicPartition, next_offset: int) -> None:
        highwater = self._consumer.highwater(tp)
        if highwater is not None:
            CONSUMER_LAG.labels(self.group_id, tp.topic, str(tp.partition)).set(
                max(0, highwater - next_offset))

    async def handle_record(self, record: ConsumerRecord[Any, Any]) -> None:
        """Apply one record, retrying, or park it on the DLQ."""
        try:
            event = parse_event(record.value)
        except UnknownEvent as exc:
            await self._park(record, f"undecodable: {exc}")
            return
        handler = self._handlers.get(record.topic)
        if handler is None:  # pragma: no cover - we subscribe only to handled topics
            return
        with correlation(event.correlation_id or None):
            failures = 0
            outage_started: float | None = None
            loop = asyncio.get_running_loop()
            while True:
                try:
                    applied = await self._apply(event, record.topic.removeprefix(self._prefix),
                                                handler)
                except Exception as exc:
                    if is_transient(exc):
                        outage_started = outage_started or loop.time()
                        if loop.time() - outage_started < self._outage_seconds:
                            log.warning("a server does not answer; retrying the event", extra={
                                "event_id": str(event.event_id), "error": repr(exc)})
                            await asyncio.sleep(self._max_backoff)
                            continue
                    if failures >= self._retries:
                        log.exception("event failed after retries; parking it", extra={
                            "event_id": str(event.event_id), "topic": record.topic})
                        await self._park(record, f"{type(exc).__name__}: {exc}")
                        return
                    await asyncio.sleep(min(self._max_backoff, self._backoff * (2 ** failures)))
                    failures += 1
                    continue
                EVENTS_HANDLED.labels(self.group_id, record.topic,
                                      "applied" if applied else "duplicate").inc()
                self.handled += 1
                return

    async def _apply(self, event: Event, topic: str, handler: Handler) -> bool:
        async with self._uow_factory() as uow:
            if not await uow.claim_event(event.event_id, topic):
                return False
            await handler(event, uow)
        return True

    async def _park(self, record: ConsumerRecord[Any, Any], error: str) -> None:
        headers = [
            ("dms-error", error[:4000].encode()),
            ("dms-original-topic", record.topic.encode()),
            ("dms-original-partition", str(record.partition).encode()),
            ("dms-original-offset", str(record.offset).encode()),
            ("dms-consumer-group", self.group_id.encode()),
            ("dms-failed-at", datetime.now(UTC).isoformat().encode()),
        ]
        key = record.key if isinstance(record.key, bytes) else b""
        await self._bus.send(OutgoingRecord(topic=dlq_topic(record.topic), key=key,
                                            value=record.value or b"", headers=headers))
        DLQ_PARKED.labels(self.group_id, record.topic).inc()
        EVENTS_HANDLED.labels(self.group_id, record.topic, "parked").inc()
