"""The search service against the real servers: PostgreSQL, S3, OpenSearch and Kafka.

Events are delivered through the service's own handlers, exactly as its
consumer runs them (claim the event id, then handle, in one unit of work), and
once through Kafka with the real consumer. Searches go through the HTTP API.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from opensearchpy import OpenSearch
from sqlalchemy import func, select

from dms_common.bus.consumer import EventConsumer
from dms_common.bus.kafka import OutgoingRecord
from dms_common.events import DocumentEvent, KipCategory
from dms_common.identity.tokens import Role
from dms_search.index import MAPPING_VERSION, IndexKind, SearchIndex
from dms_search.main import create_app
from tests.integration.search.support import OTHER_OFFICE, TEXT, Env, ids, publish_document
from tests.unit.search.events import (
    OFFICE,
    classified,
    extracted,
    published,
    received,
    text_key,
    withdrawn,
)


async def test_published_document_is_found_by_a_derived_word(env: Env) -> None:
    doc, draft = uuid.uuid4(), uuid.uuid4()
    await publish_document(env, doc)
    # Another document with the same words, extracted but never classified or published.
    await env.put_text(draft, TEXT)
    await env.deliver(extracted(draft), received(draft, title="Draf internal pemilihan"))
    await env.refresh()

    # "memilih" and "pemilihan" share the Indonesian stem "ilih".
    results = await env.public(q="memilih")
    assert ids(results) == {str(doc)}
    assert results["total"] == 1
    hit = results["hits"][0]
    assert hit["title"] == "Laporan hasil pemilihan"
    assert (hit["office_code"], hit["kip_category"], hit["document_date"]) == (
        OFFICE, "setiap_saat", "2024-03-01")
    assert any("<mark>pemilihan</mark>" in h for h in hit["highlights"])
    assert results["facets"]["office_code"] == {OFFICE: 1}
    assert results["facets"]["kip_category"] == {"setiap_saat": 1}
    assert ids(await env.public(q="memilih", category="berkala")) == set()
    assert ids(await env.public(q="memilih", office=OTHER_OFFICE)) == set()
    assert ids(await env.public()) == {str(doc)}  # no words: the recent documents

    row = await env.row(doc)
    assert row is not None and (row.status, row.published, row.revision) == ("published", True, 4)
    stored = env.stored(IndexKind.PUBLIC, doc)
    assert stored is not None and stored["_version"] == 4

    _, staff = env.iso.user(role=Role.STAFF, office_code=OFFICE)
    _, other_staff = env.iso.user(role=Role.STAFF, office_code=OTHER_OFFICE)
    _, ppid = env.iso.user(role=Role.PPID, office_code="63")
    _, superadmin = env.iso.user(role=Role.SUPERADMIN, office_code="63")
    await env.iso.register_users(env.app.core)

    own = (await env.internal(staff, q="memilih")).json()
    assert {h["id"]: h["status"] for h in own["hits"]} == {str(doc): "published",
                                                           str(draft): "extracted"}
    assert own["facets"]["status"] == {"published": 1, "extracted": 1}
    assert ids((await env.internal(ppid, q="memilih")).json()) == {str(doc), str(draft)}
    other = await env.internal(other_staff, q="memilih")
    assert other.status_code == 200 and other.json()["total"] == 0
    # Asking for another office does not widen the scope.
    assert (await env.internal(other_staff, q="memilih", office=OFFICE)).json()["total"] == 0
    refused = await env.internal(superadmin, q="memilih")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    anonymous = await env.http.get("/api/v1/search/internal", params={"q": "memilih"})
    assert anonymous.status_code == 401


async def test_withdrawn_before_published_keeps_the_document_out_of_public(env: Env) -> None:
    doc = uuid.uuid4()
    await env.put_text(doc, TEXT)
    first_withdrawn, first_published = withdrawn(doc, 3), published(doc, 2)
    await env.deliver(received(doc), extracted(doc), classified(doc),
                      first_withdrawn, first_published)
    # Redelivered: as new events with the same seqs, then as the very same events.
    await env.deliver(withdrawn(doc, 3), published(doc, 2), first_withdrawn, first_published)
    await env.refresh()

    assert env.stored(IndexKind.PUBLIC, doc) is None
    assert ids(await env.public(q="pemilihan")) == set()
    assert ids(await env.public()) == set()
    row = await env.row(doc)
    assert row is not None
    assert (row.status, row.published, row.withdrawn) == ("withdrawn", False, True)
    assert (row.published_seq, row.withdrawn_seq, row.revision) == (2, 3, 5)
    internal = env.stored(IndexKind.INTERNAL, doc)
    assert internal is not None
    assert (internal["_version"], internal["_source"]["status"]) == (5, "withdrawn")

    _, staff = env.iso.user(role=Role.STAFF, office_code=OFFICE)
    await env.iso.register_users(env.app.core)
    found = (await env.internal(staff, q="pemilihan")).json()
    assert [(h["id"], h["status"]) for h in found["hits"]] == [(str(doc), "withdrawn")]

    # An older revision written again (a late retry) is refused by OpenSearch, harmlessly.
    assert not await env.app.index.put(IndexKind.INTERNAL, doc, {"title": "lama"}, 4)
    assert not await env.app.index.remove(IndexKind.PUBLIC, doc, 5)


async def test_withdrawal_removes_a_public_document(env: Env) -> None:
    doc = uuid.uuid4()
    await publish_document(env, doc)
    await env.refresh()
    assert ids(await env.public(q="pemilihan")) == {str(doc)}
    await env.deliver(withdrawn(doc, 2), published(doc, 1))
    await env.refresh()
    assert ids(await env.public(q="pemilihan")) == set()
    assert env.stored(IndexKind.PUBLIC, doc) is None
    # Republished by a newer decision: public again.
    await env.deliver(published(doc, 3))
    await env.refresh()
    assert ids(await env.public(q="pemilihan")) == {str(doc)}


async def test_exempt_and_redacted_text_stay_out_of_public(env: Env) -> None:
    exempt, redacted = uuid.uuid4(), uuid.uuid4()
    await env.put_text(exempt, TEXT)
    await env.deliver(received(exempt), extracted(exempt),
                      classified(exempt, category=KipCategory.DIKECUALIKAN), published(exempt, 1))
    await env.put_text(redacted, "Nama pelapor Siti Rahmawati, NIK 6302000000000001. " + TEXT)
    redacted_key = text_key(redacted).replace("text.txt", "redacted.txt")
    async def redacted_chunks() -> AsyncIterator[bytes]:
        yield b"Nama pelapor [disamarkan]. Rekapitulasi hasil pemilihan."
    await env.app.core.store.put_stream(redacted_key, redacted_chunks(), content_type="text/plain")
    env.keys.append(redacted_key)
    await env.deliver(received(redacted), extracted(redacted),
                      classified(redacted, redacted_text_key=redacted_key,
                                 redacted_object_key="x/redacted.pdf"),
                      published(redacted, 1))
    await env.refresh()

    assert ids(await env.public(q="pemilihan")) == {str(redacted)}
    assert ids(await env.public(q="Rahmawati")) == set()
    assert ids(await env.public(q="disamarkan")) == {str(redacted)}
    row = await env.row(exempt)
    assert row is not None and row.status == "withheld"
    _, staff = env.iso.user(role=Role.OFFICE_ADMIN, office_code=OFFICE)
    await env.iso.register_users(env.app.core)
    # Staff search the full text.
    assert ids((await env.internal(staff, q="Rahmawati")).json()) == {str(redacted)}


async def test_failed_index_write_rolls_back_and_the_retry_reindexes(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = uuid.uuid4()
    event = received(doc)
    real_put = env.app.index.put

    async def unreachable(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("OpenSearch unreachable")

    monkeypatch.setattr(env.app.index, "put", unreachable)
    with pytest.raises(ConnectionError):
        await env.deliver(event)
    assert await env.row(doc) is None  # the row and the event's claim rolled back together
    monkeypatch.setattr(env.app.index, "put", real_put)
    await env.deliver(event)  # the consumer's retry
    await env.refresh()
    row = await env.row(doc)
    assert row is not None and row.revision == 1
    stored = env.stored(IndexKind.INTERNAL, doc)
    assert stored is not None and stored["_version"] == 1
    async with env.app.core.sessions() as session:
        claims = await session.scalar(select(func.count()).select_from(
            env.app.core.tables.processed_events)
            .where(env.app.core.tables.processed_events.c.event_id == event.event_id))
    assert claims == 1


async def test_events_through_kafka_reach_the_index(env: Env) -> None:
    doc = uuid.uuid4()
    await env.put_text(doc, TEXT)
    events: list[DocumentEvent] = [published(doc, 1), classified(doc), extracted(doc),
                                   received(doc)]
    prefix = env.iso.topic_prefix
    await env.app.core.bus.send_batch([
        OutgoingRecord(topic=prefix + e.TOPIC.value, key=e.key.encode(), value=e.to_bytes(),
                       headers=[]) for e in events])
    consumer = EventConsumer(
        bootstrap=env.iso.servers.kafka_bootstrap, group_id=f"search-{env.iso.tag}",
        handlers=env.handlers, uow_factory=env.app.core.uow, bus=env.app.core.bus,
        retries=2, backoff_seconds=0.05, topic_prefix=prefix)
    await consumer.start()
    try:
        deadline = time.monotonic() + 60
        while consumer.handled < len(events) and time.monotonic() < deadline:
            await consumer.run_once(timeout_ms=300)
    finally:
        await consumer.stop()
    assert consumer.handled == len(events)
    await env.refresh()
    assert ids(await env.public(q="memilih")) == {str(doc)}


async def test_bad_parameters_answer_422(env: Env) -> None:
    for params in ({"limit": 0}, {"limit": 101}, {"category": "rahasia"}, {"office": "63/../x"},
                   {"q": "x" * 201}):
        response = await env.http.get("/api/v1/search", params=params)
        assert response.status_code == 422, params
        assert response.json()["code"] == "invalid_request"
    response = await env.http.get("/api/v1/search", params={"q": "a", "cursor": "tidak-valid"})
    assert response.status_code == 422
    assert set(response.json()) == {"code", "message"}
    assert response.json()["code"] == "invalid_cursor"


async def test_blank_form_values_mean_absent(env: Env) -> None:
    # The /cari form sends every unselected choice as an empty value.
    doc = uuid.uuid4()
    await publish_document(env, doc)
    await env.refresh()
    blank = dict.fromkeys(("office", "category", "division", "year", "type", "sort", "cursor"),
                          "")
    results = await env.public(q="pemilihan", **blank)
    assert ids(results) == {str(doc)}
    for params in ({"year": "1899"}, {"year": "tahun"}, {"sort": "acak"}):
        response = await env.http.get("/api/v1/search", params=params)
        assert response.status_code == 422, params
        assert response.json()["code"] == "invalid_request"


async def test_no_hits_still_lists_every_facet(env: Env) -> None:
    # OpenSearch leaves empty parts out of a filtered answer: the API does not.
    results = await env.public(q="tidakadakatasemacamini")
    assert results == {"total": 0, "hits": [], "next_cursor": None,
                       "facets": {name: {} for name in (
                           "office_code", "kip_category", "division_id", "year",
                           "document_type")}}
    suggestions = await env.http.get("/api/v1/search/suggest", params={"q": "tidakada"})
    assert suggestions.status_code == 200
    assert suggestions.json() == {"suggestions": []}


async def test_pages_of_results_follow_the_cursor(env: Env) -> None:
    docs = [uuid.uuid4() for _ in range(3)]
    for doc in docs:
        await publish_document(env, doc)
    await env.refresh()
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params: dict[str, Any] = {"q": "pemilihan", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await env.public(**params)
        seen += [hit["id"] for hit in page["hits"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(str(d) for d in docs)


async def test_search_page_lists_escaped_results(env: Env) -> None:
    doc = uuid.uuid4()
    await publish_document(env, doc, title="<script>alert(1)</script> Laporan pemilihan")
    await env.refresh()
    response = await env.http.get("/cari", params={"q": "memilih"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert f'href="/dokumen/{doc}"' in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Laporan pemilihan" in page
    assert "<mark>pemilihan</mark>" in page
    assert 'lang="id"' in page and "Cari Informasi Publik" in page
    # Facets are links choosing one filter; a chosen one links to its removal.
    assert 'href="/cari?q=memilih&amp;year=2024"' in page
    chosen = (await env.http.get("/cari", params={"q": "memilih", "year": "2024"})).text
    assert 'href="/cari?q=memilih" aria-current="true"' in chosen
    assert "Hapus semua saringan" in chosen
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    script = await env.http.get("/cari/saran.js")
    assert script.status_code == 200 and "/api/v1/search/suggest" in script.text
    # The form sends its unselected choices as empty values.
    submitted = await env.http.get("/cari", params={"q": "memilih", "category": "", "office": ""})
    assert submitted.status_code == 200 and f'href="/dokumen/{doc}"' in submitted.text


async def test_ready_and_indices_are_created_idempotently(env: Env) -> None:
    await env.app.index.ensure_indices()
    response = await env.http.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["opensearch"] == "ok"
    for kind in IndexKind:
        concrete = await env.app.index.concrete(kind)
        assert concrete == env.app.index.versioned(kind, 1)
        settings = env.opensearch.indices.get_settings(index=concrete)
        assert settings[concrete]["settings"]["index"]["refresh_interval"] == "1s"
        assert env.opensearch.indices.exists_alias(name=env.app.index.alias(kind))
        assert await env.app.index.mapping_version(kind) == MAPPING_VERSION


async def test_search_engine_down_answers_503(env: Env) -> None:
    dead = SearchIndex(OpenSearch(hosts=["http://127.0.0.1:9"], timeout=2, max_retries=0),
                       prefix=env.iso.index_prefix, settings={})
    app = create_app(container=replace(env.app, index=dead))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://search") as http:
        response = await http.get("/api/v1/search", params={"q": "pemilihan"})
        assert response.status_code == 503
        assert response.json()["code"] == "search_unavailable"
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["opensearch"] != "ok"
    await dead.close()
