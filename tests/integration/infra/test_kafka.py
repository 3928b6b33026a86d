"""The stack's Kafka: delivery as DMS uses it, its topics, and its data across a restart.

These run against the real broker (DESIGN.md §6) with the client the services
use, aiokafka, so a Kafka version the client cannot speak to fails here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import UnknownTopicOrPartitionError

from tests.support.servers import ROOT, Endpoints

TOPICS_FILE: Path = ROOT / "deploy" / "kafka-topics.txt"
RECEIVED = "dms.document.received"
WAIT = 20.0  # seconds; a healthy single node answers in well under one


def topics_in_file() -> dict[str, tuple[int, dict[str, str]]]:
    """name -> (partitions, configs), as deploy/kafka-topics.txt declares them."""
    topics: dict[str, tuple[int, dict[str, str]]] = {}
    for raw in TOPICS_FILE.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, partitions, *configs = line.split()
            topics[name] = (int(partitions), dict(c.split("=", 1) for c in configs))
    return topics


async def send(bootstrap: str, topic: str, key: bytes, value: bytes) -> tuple[TopicPartition, int]:
    """Send one record the way the outbox relay does; return its partition and offset."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()
    assert sent.topic == topic
    assert sent.offset >= 0
    return TopicPartition(topic, sent.partition), sent.offset


async def wait_assigned(consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
    """Poll until the group coordinator has given this consumer the partition."""
    async with asyncio.timeout(WAIT):
        while tp not in consumer.assignment():
            await consumer.getmany(timeout_ms=100)


async def read_until(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> ConsumerRecord:
    """Fetch from the consumer's position until the record at `offset` comes."""
    async with asyncio.timeout(WAIT):
        while True:
            batches = await consumer.getmany(tp, timeout_ms=500, max_records=10_000)
            for record in batches.get(tp, []):
                if record.offset == offset:
                    return record
                assert record.offset < offset, f"skipped past offset {offset}"


@pytest.fixture
async def scratch_topic(servers: Endpoints) -> AsyncIterator[str]:
    """A topic of our own: the DMS topics are read by running workers, which would park
    these non-event records on their DLQs."""
    name = f"smoke.{uuid4().hex}"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 3, 1)])
        yield name
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def test_idempotent_produce_then_consume_with_manual_commit(
        servers: Endpoints, scratch_topic: str) -> None:
    key = f"doc-{uuid4()}".encode()
    value = b'{"event_type": "received", "test": "manual commit"}'
    tp, offset = await send(servers.kafka_bootstrap, scratch_topic, key, value)

    group = f"test-kafka-{uuid4()}"
    consumer = AIOKafkaConsumer(
        scratch_topic, bootstrap_servers=servers.kafka_bootstrap, group_id=group,
        enable_auto_commit=False, auto_offset_reset="latest")
    await consumer.start()
    try:
        await wait_assigned(consumer, tp)
        # A new group starts at the end; go back to our record like a replay would.
        consumer.seek(tp, offset)
        record = await read_until(consumer, tp, offset)
        assert (record.key, record.value) == (key, value)
        assert await consumer.committed(tp) is None  # nothing is committed behind our back

        await consumer.commit({tp: offset + 1})
        assert await consumer.committed(tp) == offset + 1
    finally:
        await consumer.stop()

    # The commit lives in the broker, not in the client: a fresh member of the group sees it.
    again = AIOKafkaConsumer(bootstrap_servers=servers.kafka_bootstrap, group_id=group,
                             enable_auto_commit=False)
    await again.start()
    try:
        assert await again.committed(tp) == offset + 1
    finally:
        await again.stop()


async def test_dms_topics_and_dlq_twins_exist(servers: Endpoints) -> None:
    declared = topics_in_file()
    assert "dms.identity.changed" in declared
    expected = {name: spec[0] for name, spec in declared.items()}
    expected |= {f"{name}.dlq": 1 for name in declared}

    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(sorted(expected))
        found = {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}
        assert found == expected
        for topic in described:
            assert all(p["leader"] >= 0 for p in topic["partitions"]), topic

        responses = await admin.describe_configs([
            ConfigResource(ConfigResourceType.TOPIC, name, {"cleanup.policy": None})
            for name in ("dms.identity.changed", "dms.identity.changed.dlq", RECEIVED)
        ])
    finally:
        await admin.close()

    policies = {
        resource["resource_name"]: {
            entry["config_names"]: entry["config_value"] for entry in resource["config_entries"]
        }["cleanup.policy"]
        for response in responses for resource in response.to_object()["resources"]
    }
    # Compacted: the latest identity record per entity is kept forever. Its
    # parking lot and the document topics keep everything until retention.
    assert policies == {
        "dms.identity.changed": "compact",
        "dms.identity.changed.dlq": "delete",
        RECEIVED: "delete",
    }


async def test_auto_creation_is_off(servers: Endpoints) -> None:
    # A typo in a topic name must fail, not create a topic nobody reads.
    producer = AIOKafkaProducer(bootstrap_servers=servers.kafka_bootstrap, request_timeout_ms=1000)
    await producer.start()
    try:
        # The client keeps asking for the topic's metadata until it gives up.
        with pytest.raises(UnknownTopicOrPartitionError):
            await producer.send_and_wait(f"dms.typo.{uuid4().hex}", b"x")
    finally:
        await producer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        assert not [t for t in await admin.list_topics() if t.startswith("dms.typo.")]
    finally:
        await admin.close()


@pytest.mark.restart
async def test_restart_keeps_records_and_offsets(
        servers: Endpoints, restart_server: Callable[[str], None], scratch_topic: str) -> None:
    key = f"doc-{uuid4()}".encode()
    value = b'{"event_type": "withdrawn", "test": "restart"}'
    tp, offset = await send(servers.kafka_bootstrap, scratch_topic, key, value)
    group = f"test-kafka-restart-{uuid4()}"
    committer = AIOKafkaConsumer(bootstrap_servers=servers.kafka_bootstrap, group_id=group,
                                 enable_auto_commit=False)
    await committer.start()
    try:
        committer.assign([tp])
        await committer.commit({tp: offset + 1})
    finally:
        await committer.stop()

    await asyncio.to_thread(restart_server, "kafka")

    consumer = AIOKafkaConsumer(bootstrap_servers=servers.kafka_bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        assert await consumer.committed(tp) == offset + 1
        assert (await consumer.beginning_offsets([tp]))[tp] <= offset
        assert (await consumer.end_offsets([tp]))[tp] > offset
        await consumer.seek_to_beginning(tp)
        record = await read_until(consumer, tp, offset)
        assert (record.key, record.value) == (key, value)
    finally:
        await consumer.stop()
