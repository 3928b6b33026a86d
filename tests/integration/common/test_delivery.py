"""Delivery of the shared core against real Kafka and PostgreSQL (DESIGN.md §4).

Each test runs a sample service (tests/support/sample_service) in a fresh
schema with its own topic prefix, so tests never see each other's records.
Relays and consumers that must be killed run as separate processes and are
killed with SIGKILL at the moments that matter.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from dms_common.bus import dlq
from dms_common.bus.consumer import EventConsumer
from dms_common.bus.kafka import KafkaBus, OutboxRelay, partitions_of
from dms_common.db.uow import Actor
from dms_common.events import DocumentReceived, DocumentReceivedPayload, Topic, parse_event
from tests.support.isolation import drop_schemas
from tests.support.sample_service.app import Sample, make_handler, open_sample
from tests.support.servers import ROOT, Endpoints

TOPIC = Topic.RECEIVED.value


@dataclass
class Env:
    servers: Endpoints
    schema: str
    prefix: str
    sample: Sample

    @property
    def topic(self) -> str:
        return self.prefix + TOPIC

    def process_env(self, group: str) -> dict[str, str]:
        return {**os.environ, **self.servers.as_env(), "SAMPLE_SCHEMA": self.schema,
                "SAMPLE_GROUP": group, "SAMPLE_PREFIX": self.prefix,
                "PYTHONPATH": str(ROOT)}


@pytest.fixture
async def env(servers: Endpoints) -> AsyncIterator[Env]:
    tag = uuid.uuid4().hex[:10]
    prefix = f"test.{tag}."
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(prefix + TOPIC, 3, 1),
                                   NewTopic(prefix + TOPIC + ".dlq", 1, 1)])
    finally:
        await admin.close()
    sample = await open_sample(servers.database_url, f"sample_{tag}")
    try:
        yield Env(servers, f"sample_{tag}", prefix, sample)
    finally:
        await sample.close()
        await asyncio.to_thread(drop_schemas, servers.database_url, f"sample\\_{tag}")
        admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([prefix + TOPIC, prefix + TOPIC + ".dlq"])
        finally:
            await admin.close()


def received(title: str, document_id: uuid.UUID | None = None) -> DocumentReceived:
    doc = document_id or uuid.uuid4()
    result: DocumentReceived = DocumentReceived.build(
        document_id=doc, version=1, office_code="6302",
        payload=DocumentReceivedPayload(
            title=title, filename="a.pdf", content_type="application/pdf", size=3,
            sha256="0" * 64, object_key=f"6302/{doc}/1/original", uploader_id=uuid.uuid4()))
    return result


async def emit_many(env: Env, events: list[DocumentReceived]) -> None:
    async with env.sample.uow() as uow:
        for event in events:
            await uow.emit(event)


async def count(env: Env, table: str) -> int:
    async with env.sample.sessions() as session:
        return int((await session.execute(
            text(f'SELECT count(*) FROM "{env.schema}".{table}'))).scalar_one())


async def consume_all(env: Env, group: str, *, expected: int, poison: str | None = None,
                      timeout: float = 60) -> EventConsumer:
    bus = KafkaBus(env.servers.kafka_bootstrap, client_id=f"{group}-dlq")
    await bus.start()
    consumer = EventConsumer(
        bootstrap=env.servers.kafka_bootstrap, group_id=group,
        handlers={TOPIC: make_handler(env.sample.effects, poison)},
        uow_factory=env.sample.uow, bus=bus, retries=2, backoff_seconds=0.05,
        topic_prefix=env.prefix)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while consumer.handled < expected and time.monotonic() < deadline:
            await consumer.run_once(timeout_ms=300)
    finally:
        await consumer.stop()
        await bus.stop()
    return consumer


async def records_on(bootstrap: str, topic: str) -> list[bytes]:
    # A throwaway group: aiokafka's group-less consumer raises CancelledError on stop.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", group_id=f"probe-{uuid.uuid4().hex}")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        values: list[bytes] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                values += [r.value for r in records]
        return values
    finally:
        await consumer.stop()


async def test_event_written_through_outbox_reaches_consumer(env: Env) -> None:
    event = received("Laporan pengawasan tahapan kampanye")
    async with env.sample.uow() as uow:
        stamped = await uow.emit(event)
        await uow.audit(actor=Actor.system(), action="upload", subject_type="document",
                        subject_id=event.document_id)
    assert stamped.seq == 1
    bus = KafkaBus(env.servers.kafka_bootstrap, client_id="test-relay")
    await bus.start()
    try:
        relay = OutboxRelay(env.sample.sessions, env.sample.core, bus, topic_prefix=env.prefix)
        assert await relay.relay_once() == 1
        assert await relay.relay_once() == 0
    finally:
        await bus.stop()
    await consume_all(env, f"g-{uuid.uuid4().hex[:6]}", expected=1)
    async with env.sample.sessions() as session:
        rows = (await session.execute(select(env.sample.effects))).all()
    assert [(r.event_id, r.title) for r in rows] == [(event.event_id, event.payload.title)]
    values = await records_on(env.servers.kafka_bootstrap, env.topic)
    assert parse_event(values[0]).event_id == event.event_id


async def test_seq_counts_per_document_within_the_transaction(env: Env) -> None:
    doc = uuid.uuid4()
    async with env.sample.uow() as uow:
        seqs = [(await uow.emit(received(f"v{i}", doc))).seq for i in range(3)]
        other = (await uow.emit(received("other"))).seq
    assert seqs == [1, 2, 3]
    assert other == 1


async def test_rolled_back_unit_of_work_leaves_no_event(env: Env) -> None:
    with pytest.raises(RuntimeError):
        async with env.sample.uow() as uow:
            await uow.emit(received("never"))
            raise RuntimeError("use case failed")
    assert await count(env, "outbox") == 0


async def test_a_statement_run_alone_is_its_own_transaction(env: Env) -> None:
    row = {"event_id": uuid.uuid4(), "topic": TOPIC, "key": "k", "value": b"v",
           "correlation_id": "c"}
    async with env.sample.uow() as uow:
        await uow.execute_alone(
            text(f'INSERT INTO "{env.schema}".outbox (event_id, topic, key, value, '
                 "correlation_id) VALUES (:event_id, :topic, :key, :value, :correlation_id)"),
            row)
        # Committed already, with no BEGIN before it: another connection sees the row.
        assert await count(env, "outbox") == 1
        with pytest.raises(RuntimeError, match="no more"):
            await uow.emit(received("after"))
    assert await count(env, "outbox") == 1
    # And the connection goes back to the pool as it was: the next unit of work is a transaction.
    with pytest.raises(RuntimeError):
        async with env.sample.uow() as uow:
            await uow.emit(received("rolled back"))
            raise RuntimeError("use case failed")
    assert await count(env, "outbox") == 1


async def test_relay_killed_mid_batch_sends_nothing_applied_twice(env: Env) -> None:
    total = 3000
    await emit_many(env, [received(f"doc {i}") for i in range(total)])
    relay = subprocess.Popen([sys.executable, "-m", "tests.support.sample_service.app", "relay"],
                             env=env.process_env("unused"), cwd=ROOT)
    # Kill it once it has marked some rows sent, i.e. mid-way through its batches.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        async with env.sample.sessions() as session:
            sent = (await session.execute(text(f'SELECT count(*) FROM "{env.schema}".outbox '
                                               "WHERE sent_at IS NOT NULL"))).scalar_one()
        if sent > 0:
            break
        await asyncio.sleep(0.02)
    relay.send_signal(signal.SIGKILL)
    relay.wait()
    assert 0 < sent < total, f"the relay should be killed mid-way, it had sent {sent}"
    # Restart: the relay finishes what is pending.
    subprocess.run([sys.executable, "-m", "tests.support.sample_service.app", "relay"],
                   env=env.process_env("unused"), cwd=ROOT, check=True, timeout=120)
    async with env.sample.sessions() as session:
        pending = (await session.execute(text(
            f'SELECT count(*) FROM "{env.schema}".outbox WHERE sent_at IS NULL'))).scalar_one()
    assert pending == 0
    on_kafka = await records_on(env.servers.kafka_bootstrap, env.topic)
    assert len({parse_event(v).event_id for v in on_kafka}) == total
    await consume_all(env, f"g-{uuid.uuid4().hex[:6]}", expected=len(on_kafka), timeout=120)
    assert await count(env, "effects") == total
    assert await count(env, "processed_events") == total


async def test_consumer_killed_between_db_commit_and_offset_commit(env: Env) -> None:
    event = received("dibunuh setelah commit")
    await emit_many(env, [event])
    bus = KafkaBus(env.servers.kafka_bootstrap, client_id="test-relay")
    await bus.start()
    try:
        await OutboxRelay(env.sample.sessions, env.sample.core, bus,
                          topic_prefix=env.prefix).relay_once()
    finally:
        await bus.stop()
    group = f"g-{uuid.uuid4().hex[:6]}"
    killed = subprocess.run(
        [sys.executable, "-m", "tests.support.sample_service.app", "consume",
         "--kill-after-commit"], env=env.process_env(group), cwd=ROOT, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    assert await count(env, "effects") == 1
    # Restarted, the consumer receives the record again (its offset was never
    # committed) and skips it by event id.
    restarted = await consume_all(env, group, expected=1)
    assert restarted.handled == 1
    assert await count(env, "effects") == 1
    async with env.sample.sessions() as session:
        n = (await session.execute(select(func.sum(env.sample.effects.c.n)))).scalar_one()
    assert n == 1


async def test_poison_event_is_parked_and_partition_moves_on(env: Env) -> None:
    doc = uuid.uuid4()  # one key, so one partition: the poison sits between the others
    events = [received("sebelum", doc), received("racun", doc), received("sesudah", doc)]
    await emit_many(env, events)
    bus = KafkaBus(env.servers.kafka_bootstrap, client_id="test-relay")
    await bus.start()
    try:
        await OutboxRelay(env.sample.sessions, env.sample.core, bus,
                          topic_prefix=env.prefix).relay_once()
    finally:
        await bus.stop()
    group = f"g-{uuid.uuid4().hex[:6]}"
    await consume_all(env, group, expected=3, poison="racun")
    async with env.sample.sessions() as session:
        titles = sorted((await session.execute(select(env.sample.effects.c.title))).scalars())
    assert titles == ["sebelum", "sesudah"]
    parked = await dlq.pending(env.servers.kafka_bootstrap, env.topic)
    assert [parse_event(p.value).event_id for p in parked] == [events[1].event_id]
    assert "refusing poison document" in parked[0].error
    assert parked[0].original_topic == env.topic
    # Once the cause is fixed, a replay sends it back and it is applied once.
    assert await dlq.replay(env.servers.kafka_bootstrap, env.topic) == 1
    assert await dlq.pending(env.servers.kafka_bootstrap, env.topic) == []
    assert await dlq.count_pending(env.servers.kafka_bootstrap, env.topic) == 0
    await consume_all(env, group, expected=1)
    async with env.sample.sessions() as session:
        titles = sorted((await session.execute(select(env.sample.effects.c.title))).scalars())
    assert titles == ["racun", "sebelum", "sesudah"]


async def test_audit_log_is_append_only_for_the_runtime_role(env: Env) -> None:
    async with env.sample.uow() as uow:
        await uow.audit(actor=Actor.system(), action="upload", subject_type="document",
                        subject_id="x", reason="test")
    for statement in (f'UPDATE "{env.schema}".audit_log SET reason = \'changed\'',
                      f'DELETE FROM "{env.schema}".audit_log',
                      f'TRUNCATE "{env.schema}".audit_log'):
        with pytest.raises(DBAPIError, match="permission denied"):
            async with env.sample.uow() as uow:
                await uow.session.execute(text(statement))
    async with env.sample.sessions() as session:
        role = (await session.execute(text("SELECT current_user"))).scalar_one()
        privileges = (await session.execute(text(
            "SELECT has_table_privilege(current_user, :t, 'UPDATE'), "
            "has_table_privilege(current_user, :t, 'DELETE'), "
            "has_table_privilege(current_user, :t, 'INSERT')"),
            {"t": f"{env.schema}.audit_log"})).one()
    assert role == f"dms_{env.schema}_app"
    assert tuple(privileges) == (False, False, True)
    assert await count(env, "audit_log") == 1


async def test_migrations_upgrade_a_database_that_holds_data(servers: Endpoints) -> None:
    schema = f"sample_{uuid.uuid4().hex[:10]}"
    old = await open_sample(servers.database_url, schema, revision="0001")
    event_id, doc = uuid.uuid4(), uuid.uuid4()
    async with old.sessions() as session, session.begin():
        await session.execute(text(
            f'INSERT INTO "{schema}".effects (event_id, document_id, title) VALUES (:e, :d, :t)'),
            {"e": event_id, "d": doc, "t": "data lama"})
    await old.close()
    new = await open_sample(servers.database_url, schema)  # upgrades to head at start
    try:
        async with new.sessions() as session:
            row = (await session.execute(select(new.effects))).one()
            version = (await session.execute(
                text(f'SELECT version_num FROM "{schema}".alembic_version'))).scalar_one()
        assert (row.event_id, row.title, row.n) == (event_id, "data lama", 1)
        assert version == "0002"
    finally:
        await new.close()


async def test_concurrent_migrations_are_serialised(servers: Endpoints) -> None:
    schema = f"sample_{uuid.uuid4().hex[:10]}"
    samples = await asyncio.gather(*[open_sample(servers.database_url, schema) for _ in range(3)])
    try:
        async with samples[0].sessions() as session:
            version = (await session.execute(
                text(f'SELECT version_num FROM "{schema}".alembic_version'))).scalar_one()
        assert version == "0002"
    finally:
        for s in samples:
            await s.close()
