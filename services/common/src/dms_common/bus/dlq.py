"""Parked events: list them, count them, and replay them onto their topic.

A replay reads `<topic>.dlq` as the consumer group `dms-dlq-replay.<topic>`,
sends each record back to the topic it failed on, and commits, so every parked
record is replayed once. Consumers that had already applied the event skip it
by its `event_id`.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from dms_common.bus.kafka import KafkaBus, OutgoingRecord, partitions_of
from dms_common.events import dlq_topic


def replay_group(topic: str) -> str:
    return f"dms-dlq-replay.{topic}"


@dataclass(frozen=True)
class ParkedEvent:
    partition: int
    offset: int
    key: str
    error: str
    original_topic: str
    consumer_group: str
    failed_at: str
    value: bytes


def _header(headers: object, name: str) -> str:
    for key, value in headers or ():  # type: ignore[attr-defined]
        if key == name:
            return bytes(value).decode(errors="replace")
    return ""


async def _consumer(bootstrap: str, topic: str, *, group: str | None) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    partitions = await partitions_of(bootstrap, dlq_topic(topic))
    await consumer.start()
    if not partitions:
        await consumer.stop()
        raise ValueError(f"no dead-letter topic {dlq_topic(topic)!r}")
    consumer.assign([TopicPartition(dlq_topic(topic), p) for p in sorted(partitions)])
    return consumer


async def pending(bootstrap: str, topic: str) -> list[ParkedEvent]:
    """The parked records of a topic that have not been replayed yet."""
    consumer = await _consumer(bootstrap, topic, group=replay_group(topic))
    try:
        return await _drain(consumer)
    finally:
        await consumer.stop()


async def _drain(consumer: AIOKafkaConsumer) -> list[ParkedEvent]:
    assignment = consumer.assignment()
    ends = await consumer.end_offsets(list(assignment))
    for tp in assignment:
        committed = await consumer.committed(tp)
        if committed is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)
    parked: list[ParkedEvent] = []
    remaining = {tp for tp in assignment if await consumer.position(tp) < ends[tp]}
    while remaining:
        batch = await consumer.getmany(*remaining, timeout_ms=1000)
        for tp, records in batch.items():
            for r in records:
                if r.offset >= ends[tp]:
                    continue
                parked.append(ParkedEvent(
                    partition=r.partition, offset=r.offset,
                    key=(r.key or b"").decode(errors="replace"),
                    error=_header(r.headers, "dms-error"),
                    original_topic=_header(r.headers, "dms-original-topic"),
                    consumer_group=_header(r.headers, "dms-consumer-group"),
                    failed_at=_header(r.headers, "dms-failed-at"),
                    value=r.value or b""))
        remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    return parked


async def count_pending(bootstrap: str, topic: str) -> int:
    """How many records wait on a topic's DLQ (for the DLQ-size metric)."""
    consumer = await _consumer(bootstrap, topic, group=replay_group(topic))
    try:
        assignment = list(consumer.assignment())
        ends = await consumer.end_offsets(assignment)
        total = 0
        for tp in assignment:
            committed = await consumer.committed(tp)
            if committed is None:
                begin = (await consumer.beginning_offsets([tp]))[tp]
                committed = begin
            total += max(0, ends[tp] - committed)
        return total
    finally:
        await consumer.stop()


async def replay(bootstrap: str, topic: str) -> int:
    """Send every parked record of `topic` back to it; return how many."""
    consumer = await _consumer(bootstrap, topic, group=replay_group(topic))
    bus = KafkaBus(bootstrap, client_id=f"dms-dlq-replay-{topic}")
    await bus.start()
    try:
        parked = await _drain(consumer)
        await bus.send_batch([
            OutgoingRecord(topic=p.original_topic or topic, key=p.key.encode(), value=p.value,
                           headers=[("dms-replayed-from", f"{p.partition}:{p.offset}".encode())])
            for p in parked
        ])
        # Commit the replay group's position only once the records are back.
        offsets: dict[TopicPartition, int] = {}
        for p in parked:
            tp = TopicPartition(dlq_topic(topic), p.partition)
            offsets[tp] = max(offsets.get(tp, 0), p.offset + 1)
        if offsets:
            await consumer.commit(offsets)
        return len(parked)
    finally:
        await bus.stop()
        await consumer.stop()
