"""One document travels the whole real path, through the gateway (DESIGN.md §3, §4).

Needs the whole native stack (`deploy/local/stack up`): the real servers, the
four services' APIs and workers, and nginx on 8080.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from minio import Minio
from opensearchpy import OpenSearch

from dms_common.bus.kafka import partitions_of
from dms_common.events import (
    DocumentPublished,
    DocumentPublishedPayload,
    DocumentReceived,
    DocumentReceivedPayload,
    DocumentWithdrawn,
    DocumentWithdrawnPayload,
    Topic,
    parse_event,
)
from tests.support.pdf import make_pdf
from tests.support.servers import Endpoints
from tests.support.stack import create_user, eventually, gateway_client


@pytest.fixture(scope="module")
async def gateway(servers: Endpoints) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client() as client:
        yield client


async def office_admin(client: httpx.AsyncClient, office: str) -> dict[str, str]:
    return (await create_user(client, role="office_admin", office=office)).headers


async def kafka_record(bootstrap: str, topic: str, key: str, since: dict[int, int]) -> Any:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                group_id=f"e2e-probe-{uuid.uuid4().hex}")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in since]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, since[tp.partition])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if record.key == key.encode():
                        return record
        raise AssertionError(f"no record with key {key} on {topic}")
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"e2e-{uuid.uuid4().hex}")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        ends = await consumer.end_offsets(tps)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def test_document_travels_from_upload_to_public_search(
        servers: Endpoints, gateway: httpx.AsyncClient) -> None:
    word = f"qx{uuid.uuid4().hex[:10]}"
    pdf = make_pdf(["Laporan hasil pengawasan pemilihan umum", f"kode {word} Kotabaru"])
    admin = await office_admin(gateway, "6302")
    before = await end_offsets(servers.kafka_bootstrap, Topic.RECEIVED.value)

    started = time.monotonic()
    uploaded = await gateway.post(
        "/api/v1/documents", headers=admin,
        files={"file": ("laporan.pdf", pdf, "application/pdf")},
        data={"title": f"Laporan pengawasan {word}", "description": "uji ujung ke ujung",
              "document_date": "2024-02-14", "tags": "pemilu,pengawasan"})
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()
    doc_id = document["id"]
    assert document["status"] == "received"
    assert document["versions"][0]["sha256"] == hashlib.sha256(pdf).hexdigest()

    # The Kafka record, the raw S3 object and the internal index, read directly.
    record = await kafka_record(servers.kafka_bootstrap, Topic.RECEIVED.value, doc_id, before)
    event = parse_event(record.value)
    assert isinstance(event, DocumentReceived)
    assert event.office_code == "6302" and event.payload.sha256 == hashlib.sha256(pdf).hexdigest()
    s3 = Minio(servers.s3_endpoint, servers.s3_access_key, servers.s3_secret_key, secure=False)
    response = s3.get_object(servers.s3_bucket, event.payload.object_key)
    try:
        assert hashlib.sha256(response.read()).hexdigest() == event.payload.sha256
    finally:
        response.close()
        response.release_conn()
    opensearch = OpenSearch(hosts=[servers.opensearch_url])

    async def in_internal_index() -> dict[str, Any] | None:
        found = await asyncio.to_thread(
            opensearch.search, index="dms-internal",
            body={"query": {"match": {"text": word}}})
        hits = found["hits"]["hits"]
        return hits[0] if hits and hits[0]["_id"] == doc_id else None

    await eventually(in_internal_index, what="the document's text in dms-internal")

    async def staff_search() -> dict[str, Any] | None:
        found = await gateway.get("/api/v1/search/internal", params={"q": word}, headers=admin)
        assert found.status_code == 200, found.text
        hits = found.json()["hits"]
        return hits[0] if hits else None

    hit = await eventually(staff_search, what="staff search to find the body word")
    assert hit["id"] == doc_id
    internal_seconds = time.monotonic() - started

    # Not public before a decision.
    public = await gateway.get("/api/v1/search", params={"q": word})
    assert public.status_code == 200 and public.json()["total"] == 0

    async def extracted() -> bool:
        got = await gateway.get(f"/api/v1/documents/{doc_id}", headers=admin)
        return bool(got.json()["status"] == "extracted")

    await eventually(extracted, what="ingest's status read-model to show `extracted`")

    decided_at = time.monotonic()
    decision = await gateway.post(
        f"/api/v1/review/documents/{doc_id}/decisions", headers=admin,
        json={"kip_category": "setiap_saat", "document_type": "laporan",
              "dip": {"summary": "Laporan hasil pengawasan", "holder_unit": "Divisi Pencegahan",
                      "responsible": "Koordinator Divisi", "created_place_time": "Kotabaru, 2024",
                      "available_forms": ["softcopy"], "retention": "5 tahun"}})
    assert decision.status_code == 201, decision.text

    async def public_search() -> dict[str, Any] | None:
        found = await gateway.get("/api/v1/search", params={"q": word})
        assert found.status_code == 200, found.text
        hits = found.json()["hits"]
        return hits[0] if hits else None

    public_hit = await eventually(public_search, what="public search to find the document")
    assert public_hit["id"] == doc_id
    public_seconds = time.monotonic() - decided_at

    async def published() -> bool:
        got = await gateway.get(f"/api/v1/documents/{doc_id}", headers=admin)
        return bool(got.json()["status"] == "published")

    await eventually(published, what="ingest's status read-model to show `published`")
    portal = await gateway.get(f"/api/v1/public/documents/{doc_id}/content")
    assert portal.status_code == 200 and portal.content == pdf
    print(f"\nupload→internal searchable {internal_seconds:.2f}s; "
          f"decision→public searchable {public_seconds:.2f}s")


async def test_withdrawn_before_published_stays_out_of_public_index(
        servers: Endpoints, gateway: httpx.AsyncClient) -> None:
    """Search decides public-ness from its row, not from arrival order (DESIGN.md §4)."""
    doc_id, uploader = uuid.uuid4(), uuid.uuid4()
    word = f"qx{uuid.uuid4().hex[:10]}"
    body = f"Surat pemberitahuan {word}".encode()
    key = f"6371/{doc_id}/1/original"
    s3 = Minio(servers.s3_endpoint, servers.s3_access_key, servers.s3_secret_key, secure=False)
    s3.put_object(servers.s3_bucket, key, io.BytesIO(body), len(body))
    received = DocumentReceived.build(
        document_id=doc_id, version=1, office_code="6371", seq=1,
        payload=DocumentReceivedPayload(
            title=f"Surat {word}", filename="surat.txt", content_type="text/plain",
            size=len(body), sha256=hashlib.sha256(body).hexdigest(), object_key=key,
            uploader_id=uploader))
    publication = uuid.uuid4()
    published = DocumentPublished.build(
        document_id=doc_id, version=1, office_code="6371", seq=2,
        payload=DocumentPublishedPayload(publication_id=publication,
                                         public_object_key=f"6371/{doc_id}/1/original"))
    withdrawn = DocumentWithdrawn.build(
        document_id=doc_id, version=1, office_code="6371", seq=3,
        payload=DocumentWithdrawnPayload(publication_id=publication, reason="dikecualikan"))
    producer = AIOKafkaProducer(bootstrap_servers=servers.kafka_bootstrap, acks="all",
                                enable_idempotence=True)
    await producer.start()
    try:
        for event in (received, withdrawn, published, withdrawn, published):
            await producer.send_and_wait(event.TOPIC.value, event.to_bytes(),
                                         key=str(doc_id).encode())
        # A replay with fresh event ids but the same seqs changes nothing either.
        for event in (withdrawn, published):
            again = event.model_copy(update={"event_id": uuid.uuid4()})
            await producer.send_and_wait(again.TOPIC.value, again.to_bytes(),
                                         key=str(doc_id).encode())
    finally:
        await producer.stop()
    opensearch = OpenSearch(hosts=[servers.opensearch_url])

    async def internal_withdrawn() -> dict[str, Any] | None:
        try:
            doc = await asyncio.to_thread(opensearch.get, index="dms-internal", id=str(doc_id))
        except Exception:
            return None
        return doc if doc["_source"].get("status") == "withdrawn" else None

    await eventually(internal_withdrawn, what="dms-internal to show the withdrawal")
    await asyncio.to_thread(opensearch.indices.refresh, index="dms-public")
    present = await asyncio.to_thread(opensearch.exists, index="dms-public", id=str(doc_id))
    assert present is False
    public = await gateway.get("/api/v1/search", params={"q": word})
    assert public.json()["total"] == 0
    print(json.dumps({"withdrawn_before_published": "absent from dms-public"}))
