"""The publish service against the real servers: events in, publications and public pages out.

The service is bootstrapped in-process on an isolated copy of the namespaces;
events are delivered through its handlers as the consumer would (or through
Kafka with the real consumer), and the API is called over ASGI.
"""

from __future__ import annotations

import os
import time
import uuid

from sqlalchemy import select

from dms_common.bus.consumer import EventConsumer
from dms_common.bus.kafka import OutgoingRecord
from dms_common.events import (
    DocumentEvent,
    DocumentPublished,
    DocumentWithdrawn,
    KipCategory,
)
from dms_common.storage import original_key
from dms_publish.handlers import HANDLERS
from tests.integration.publish.helpers import (
    OFFICE,
    OFFICE_NAME,
    TITLE,
    Env,
    classified,
    ids,
    received,
)


async def test_publish_then_withdraw_through_the_handlers(env: Env) -> None:
    doc = uuid.uuid4()
    key = original_key(OFFICE, doc, 1)
    content = os.urandom(700_000) + b"%%EOF"
    await env.put(key, content)
    received_1, classified_1 = received(doc), classified(doc, KipCategory.SETIAP_SAAT, seq=1)
    await env.deliver(received_1, classified_1)

    row = await env.row(doc)
    assert (row.state, row.public_object_key, row.kip_category) == (
        "published", key, "setiap_saat")
    assert (row.received_seq, row.classified_seq, row.filename) == (
        1, 1, "laporan pengawasan.pdf")
    [published] = await env.outbox(doc)
    assert isinstance(published, DocumentPublished)
    assert published.payload.publication_id == row.publication_id
    assert published.payload.public_object_key == key
    assert (published.version, published.office_code, published.seq) == (1, OFFICE, 1)

    # The JSON API shows it.
    listing = (await env.http.get("/api/v1/public/documents")).json()
    assert ids(listing["items"]) == [str(doc)]
    assert listing["items"][0]["office_name"] == OFFICE_NAME
    assert listing["items"][0]["title"] == TITLE
    for query, found in [({"office": OFFICE}, True), ({"office": "6371"}, False),
                         ({"category": "setiap_saat"}, True), ({"category": "berkala"}, False)]:
        answer = await env.http.get("/api/v1/public/documents", params=query)
        assert ids(answer.json()["items"]) == ([str(doc)] if found else []), query
    refused = await env.http.get("/api/v1/public/documents", params={"category": "dikecualikan"})
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_request"
    detail = await env.http.get(f"/api/v1/public/documents/{doc}")
    assert detail.status_code == 200
    body = detail.json()
    assert (body["title"], body["office_code"], body["kip_category"]) == (
        TITLE, OFFICE, "setiap_saat")
    assert body["dip"]["summary"] == "Hasil pengawasan tahapan kampanye"
    assert body["dip"]["available_forms"] == ["softcopy", "hardcopy"]
    assert body["publication_id"] == str(row.publication_id)
    assert body["content_url"] == f"/api/v1/public/documents/{doc}/content"
    assert "public_object_key" not in body and "object_key" not in body

    # The content streams the exact bytes from S3.
    download = await env.http.get(body["content_url"])
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-length"] == str(len(content))
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"laporan pengawasan.pdf\"; "
        "filename*=UTF-8''laporan%20pengawasan.pdf")
    assert download.headers["cache-control"] == "no-store"

    # The portal shows it, escaped.
    home = await env.http.get("/")
    assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
    assert "PPID Bawaslu Provinsi Kalimantan Selatan" in home.text
    assert "Laporan &lt;script&gt;alert(" in home.text and "&amp; Rekap Pengawasan" in home.text
    assert "<script>" not in home.text
    assert f'href="/dokumen/{doc}"' in home.text
    assert "Informasi Setiap Saat</a>: <strong>1</strong>" in home.text
    page = await env.http.get(f"/dokumen/{doc}")
    assert page.status_code == 200 and "<script>" not in page.text
    assert "&lt;script&gt;" in page.text and OFFICE_NAME in page.text
    assert "Hasil pengawasan tahapan kampanye" in page.text
    assert f'href="/api/v1/public/documents/{doc}/content"' in page.text

    # An exemption with a newer seq withdraws it, at once, everywhere.
    await env.deliver(classified(doc, KipCategory.DIKECUALIKAN, seq=2))
    row = await env.row(doc)
    assert row.state == "withdrawn"
    events = await env.outbox(doc)
    assert [type(e) for e in events] == [DocumentPublished, DocumentWithdrawn]
    withdrawn = events[1]
    assert isinstance(withdrawn, DocumentWithdrawn)
    assert withdrawn.payload.reason == "dikecualikan"
    assert withdrawn.payload.publication_id == published.payload.publication_id
    assert withdrawn.seq == 2

    assert (await env.http.get("/api/v1/public/documents")).json()["items"] == []
    gone = await env.http.get(f"/api/v1/public/documents/{doc}")
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"
    assert (await env.http.get(f"/api/v1/public/documents/{doc}/content")).status_code == 404
    page = await env.http.get(f"/dokumen/{doc}")
    assert page.status_code == 404 and "Dokumen tidak ditemukan" in page.text
    home = await env.http.get("/")
    assert str(doc) not in home.text and "Belum ada dokumen yang dipublikasikan" in home.text

    # Replays change nothing: redelivered (claimed) or re-sent under new ids (stale seq).
    before = await env.row(doc)
    await env.deliver(received_1, classified_1)
    await env.apply_unclaimed(
        classified_1.model_copy(update={"event_id": uuid.uuid4()}),
        received_1.model_copy(update={"event_id": uuid.uuid4()}))
    after = await env.row(doc)
    assert (after.state, after.classified_seq, after.received_seq, after.updated_at) == (
        before.state, before.classified_seq, before.received_seq, before.updated_at)
    assert len(await env.outbox(doc)) == 2
    assert (await env.http.get(f"/api/v1/public/documents/{doc}/content")).status_code == 404

    # A later public decision publishes it again, as a new publication.
    await env.deliver(classified(doc, KipCategory.BERKALA, seq=3))
    events = await env.outbox(doc)
    assert [type(e) for e in events] == [DocumentPublished, DocumentWithdrawn, DocumentPublished]
    republished = events[2]
    assert isinstance(republished, DocumentPublished)
    assert republished.payload.publication_id != published.payload.publication_id
    download = await env.http.get(f"/api/v1/public/documents/{doc}/content")
    assert download.status_code == 200 and download.content == content


async def test_order_of_arrival_lists_and_what_stays_hidden(env: Env) -> None:
    # A decision before its upload: the public object is found by its DESIGN §5 key.
    early = uuid.uuid4()
    await env.put(original_key(OFFICE, early, 1), b"isi dokumen awal")
    await env.deliver(classified(early, KipCategory.BERKALA, seq=1, title="Dokumen awal"))
    assert (await env.row(early)).public_object_key == original_key(OFFICE, early, 1)
    download = await env.http.get(f"/api/v1/public/documents/{early}/content")
    assert download.content == b"isi dokumen awal"
    assert f'filename="dokumen-{early}"' in download.headers["content-disposition"]
    await env.deliver(received(early, title="Judul unggahan"))
    assert len(await env.outbox(early)) == 1  # same object: nothing to announce again
    assert (await env.row(early)).title == "Dokumen awal"

    # Exempt from the start, or not yet decided: never visible, never announced.
    withheld, pending = uuid.uuid4(), uuid.uuid4()
    await env.deliver(received(withheld), classified(withheld, KipCategory.DIKECUALIKAN, seq=1),
                      received(pending))
    assert (await env.row(withheld)).state == "withheld"
    assert (await env.row(pending)).state == "pending"
    for hidden in (withheld, pending):
        assert await env.outbox(hidden) == []
        for path in (f"/api/v1/public/documents/{hidden}",
                     f"/api/v1/public/documents/{hidden}/content", f"/dokumen/{hidden}"):
            assert (await env.http.get(path)).status_code == 404, path

    # Several publications page newest first, across offices.
    more = []
    for n, office in enumerate(["6302", "6371", "6302", "63"]):
        doc = uuid.uuid4()
        await env.deliver(classified(doc, KipCategory.SETIAP_SAAT, seq=1, office=office,
                                     title=f"Dokumen {n}"))
        more.append(str(doc))
    expected = [*reversed(more), str(early)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await env.http.get("/api/v1/public/documents", params=params)).json()
        seen += ids(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    kotabaru = (await env.http.get("/api/v1/public/documents", params={"office": "6302"})).json()
    assert ids(kotabaru["items"]) == [more[2], more[0], str(early)]
    bad = await env.http.get("/api/v1/public/documents", params={"cursor": "bukan-kursor"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"
    assert (await env.http.get("/api/v1/public/documents",
                               params={"limit": "101"})).status_code == 422
    assert (await env.http.get("/dokumen/bukan-id")).status_code == 404
    home = await env.http.get("/")
    assert "Informasi Setiap Saat</a>: <strong>4</strong>" in home.text
    assert "Informasi Berkala</a>: <strong>1</strong>" in home.text


async def test_the_worker_consumes_from_kafka_and_relays_its_events(env: Env) -> None:
    doc = uuid.uuid4()
    prefix = env.iso.topic_prefix
    events: list[DocumentEvent] = [received(doc), classified(doc, KipCategory.SETIAP_SAAT, seq=1)]
    for event in events:
        await env.app.core.bus.send(OutgoingRecord(
            topic=prefix + event.TOPIC.value, key=event.key.encode(), value=event.to_bytes(),
            headers=[]))
    consumer = EventConsumer(
        bootstrap=env.iso.servers.kafka_bootstrap, group_id=f"dms-publish-{env.iso.tag}",
        handlers=HANDLERS, uow_factory=env.app.core.uow, bus=env.app.core.bus, retries=1,
        backoff_seconds=0.05, topic_prefix=prefix)
    await consumer.start()
    try:
        deadline = time.monotonic() + 60
        while consumer.handled < len(events) and time.monotonic() < deadline:
            await consumer.run_once(timeout_ms=300)
    finally:
        await consumer.stop()
    assert consumer.handled == len(events)
    assert (await env.row(doc)).state == "published"
    assert await env.app.core.relay.relay_once() >= 1
    table = env.app.core.tables.outbox
    async with env.app.core.sessions() as session:
        pending = (await session.execute(
            select(table.c.id).where(table.c.key == str(doc), table.c.sent_at.is_(None)))).all()
    assert pending == []
