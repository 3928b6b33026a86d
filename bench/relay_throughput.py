"""Outbox relay throughput against a raw aiokafka produce loop, in the same run.

    uv run python bench/relay_throughput.py [--events 20000]

Both sides send the same records to their own fresh topic with the same
producer settings (acks=all, idempotent, linger 5 ms) in batches of 500 and
wait for every acknowledgement. The relay additionally reads the rows from
PostgreSQL and marks them sent, which is the price of "no event without its
state". Prints events/s for each and the ratio relay/raw.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import insert

from dms_common.bus.kafka import KafkaBus, OutboxRelay, OutgoingRecord
from dms_common.events import DocumentReceived, DocumentReceivedPayload, Topic
from tests.support.sample_service.app import open_sample
from tests.support.servers import ensure_native_stack

BATCH = 500


def make_events(n: int) -> list[DocumentReceived]:
    events = []
    for i in range(n):
        doc = uuid.uuid4()
        events.append(DocumentReceived.build(
            document_id=doc, version=1, office_code="6302", seq=1,
            payload=DocumentReceivedPayload(
                title=f"Dokumen {i}", filename="a.pdf", content_type="application/pdf",
                size=1000, sha256="0" * 64, object_key=f"6302/{doc}/1/original",
                uploader_id=doc)))
    return events


async def main(n: int) -> None:
    servers = ensure_native_stack()
    tag = uuid.uuid4().hex[:8]
    raw_topic, relay_prefix = f"bench.{tag}.raw", f"bench.{tag}."
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(raw_topic, 3, 1),
                               NewTopic(relay_prefix + Topic.RECEIVED.value, 3, 1)])
    events = make_events(n)
    records = [OutgoingRecord(Topic.RECEIVED.value, e.key.encode(), e.to_bytes(), [])
               for e in events]

    bus = KafkaBus(servers.kafka_bootstrap, client_id="bench-raw")
    await bus.start()
    started = time.perf_counter()
    for i in range(0, n, BATCH):
        await bus.send_batch([OutgoingRecord(raw_topic, r.key, r.value, []) for r in
                              records[i:i + BATCH]])
    raw_seconds = time.perf_counter() - started

    sample = await open_sample(servers.database_url, f"bench_{tag}")
    async with sample.sessions() as session, session.begin():
        for i in range(0, n, 2000):
            await session.execute(insert(sample.core.outbox), [
                {"event_id": e.event_id, "topic": e.TOPIC.value, "key": e.key,
                 "value": e.to_bytes(), "correlation_id": ""} for e in events[i:i + 2000]])
    relay = OutboxRelay(sample.sessions, sample.core, bus, batch_size=BATCH,
                        topic_prefix=relay_prefix)
    started = time.perf_counter()
    sent = 0
    while (batch := await relay.relay_once()):
        sent += batch
    relay_seconds = time.perf_counter() - started
    assert sent == n, f"relay sent {sent} of {n}"
    await bus.stop()
    await sample.close()
    await admin.delete_topics([raw_topic, relay_prefix + Topic.RECEIVED.value])
    await admin.close()
    raw_rate, relay_rate = n / raw_seconds, n / relay_seconds
    print(f"events: {n}, batch {BATCH}, record ~{len(records[0].value)} bytes")
    print(f"raw aiokafka produce loop: {raw_rate:10.0f} events/s ({raw_seconds:.2f}s)")
    print(f"outbox relay:              {relay_rate:10.0f} events/s ({relay_seconds:.2f}s)")
    print(f"ratio relay/raw: {relay_rate / raw_rate:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_EVENTS", 20000)))
    asyncio.run(main(parser.parse_args().events))
