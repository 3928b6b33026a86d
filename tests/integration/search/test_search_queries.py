"""Replays give the same index; the query features against the real OpenSearch.

Documents are delivered through the service's handlers (as its consumer runs
them); searches go through the HTTP API.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import date
from typing import Any
from uuid import UUID

from dms_common.events import DocumentEvent, KipCategory
from dms_common.identity.tokens import Role
from dms_search.index import IndexKind
from tests.integration.search.support import OTHER_OFFICE, Env, ids
from tests.unit.search.events import (
    OFFICE,
    classified,
    extracted,
    published,
    received,
    withdrawn,
)

# Differ between two deliveries of "the same" document built from fresh events.
UNSTABLE = {"document_id", "title_suggest", "received_at"}


def snapshot(env: Env, doc: UUID) -> dict[str, Any]:
    """What both indices hold for the document: version and source, or None."""
    found: dict[str, Any] = {}
    for kind in IndexKind:
        stored = env.stored(kind, doc)
        found[kind.value] = None if stored is None else (
            stored["_version"],
            {k: v for k, v in stored["_source"].items() if k not in UNSTABLE})
    return found


def sources(state: dict[str, Any]) -> dict[str, Any]:
    return {kind: None if held is None else held[1] for kind, held in state.items()}


def lifecycle(doc: UUID) -> list[DocumentEvent]:
    """Uploaded, extracted, classified public, published, withdrawn, republished."""
    return [received(doc), extracted(doc), classified(doc), published(doc, 1),
            withdrawn(doc, 2), published(doc, 3)]


async def test_any_order_and_any_replay_give_the_same_index(env: Env) -> None:
    reference = uuid.uuid4()
    await env.put_text(reference, "Laporan pengawasan kampanye pemilihan.")
    events = lifecycle(reference)
    await env.deliver(*events)
    await env.refresh()
    first = snapshot(env, reference)
    assert first["public"] is not None and first["public"][0] == len(events)

    # The same events again, twice: as the very same events and as redeliveries
    # with new event ids and the same seqs.
    await env.deliver(*events, *events[::-1])
    await env.deliver(*lifecycle(reference))
    await env.refresh()
    assert snapshot(env, reference) == first

    # Other documents with the same history delivered in other orders, with duplicates.
    orders = list(itertools.permutations(range(len(events))))
    for order in (orders[-1], orders[len(orders) // 2], orders[7]):
        doc = uuid.uuid4()
        await env.put_text(doc, "Laporan pengawasan kampanye pemilihan.")
        fresh = lifecycle(doc)
        shuffled = [fresh[i] for i in order]
        await env.deliver(*shuffled, *shuffled[:3])
        await env.refresh()
        # The same documents; the revision counts the events applied, which in
        # another order may be fewer (a published(1) after published(3) is stale).
        assert sources(snapshot(env, doc)) == sources(first), order


async def test_withdrawn_before_published_then_replayed_twice(env: Env) -> None:
    doc = uuid.uuid4()
    await env.put_text(doc, "Laporan pengawasan kampanye.")
    events = [withdrawn(doc, 2), published(doc, 1), classified(doc), extracted(doc),
              received(doc)]
    for _ in range(3):
        await env.deliver(*events)
        await env.refresh()
        state = snapshot(env, doc)
        assert state["public"] is None
        assert state["internal"] is not None
        assert state["internal"][0] == len(events)
        assert state["internal"][1]["status"] == "withdrawn"
    assert ids(await env.public(q="kampanye")) == set()


async def add(env: Env, *, title: str, text: str, office: str = OFFICE,
              category: KipCategory = KipCategory.BERKALA, document_type: str | None = None,
              division: UUID | None = None, when: date | None = date(2024, 3, 1),
              publish: bool = True) -> str:
    doc = uuid.uuid4()
    await env.put_text(doc, text, office=office)
    events: list[DocumentEvent] = [
        received(doc, title=title, office=office), extracted(doc, office=office),
        classified(doc, title=title, office=office, category=category,
                   document_type=document_type, division_id=division, document_date=when)]
    if publish:
        events.append(published(doc, 1, office=office))
    await env.deliver(*events)
    return str(doc)


async def test_synonyms_typos_phrases_and_exact_words(env: Env) -> None:
    pilkada = await add(env, title="Pengawasan pemilihan kepala daerah Kabupaten Banjar",
                        text="Laporan pengawasan tahapan pemilihan kepala daerah tahun 2024.")
    kpu = await add(env, title="Surat kepada Komisi Pemilihan Umum",
                    text="Koordinasi dengan Komisi Pemilihan Umum provinsi tentang daftar "
                         "pemilih tetap.")
    money = await add(env, title="Temuan politik uang",
                      text="Temuan dugaan politik uang di tempat pemungutan suara 12.")
    apart = await add(env, title="Anggaran pengawasan",
                      text="Uang makan pengawas dan biaya kegiatan politik pendidikan.")
    await env.refresh()

    assert ids(await env.public(q="pilkada")) == {pilkada}
    assert pilkada in ids(await env.public(q="Pilkada Banjar"))
    found = await env.public(q="KPU")
    assert ids(found) == {kpu}
    assert any("<mark>" in h for h in found["hits"][0]["highlights"])
    assert money in ids(await env.public(q="TPS"))
    assert kpu in ids(await env.public(q="DPT"))
    # A typo still finds the word.
    assert pilkada in ids(await env.public(q="pengawsan"))
    # Quoted: only the exact phrase; unquoted, both documents with both words.
    assert ids(await env.public(q='"politik uang"')) == {money}
    assert {money, apart} <= ids(await env.public(q="politik uang"))
    assert ids(await env.public(q='"politik uang" kampanye')) == {money}


async def test_facets_filters_and_sort_by_date(env: Env) -> None:
    division = uuid.uuid4()
    old = await add(env, title="Laporan pengawasan 2019", text="Pengawasan pemilu.",
                    when=date(2019, 4, 17), document_type="laporan")
    new = await add(env, title="Laporan pengawasan 2024", text="Pengawasan pemilu.",
                    when=date(2024, 2, 14), document_type="laporan", division=division)
    other = await add(env, title="Berita acara pengawasan", text="Pengawasan pemilu.",
                      when=date(2024, 11, 27), document_type="berita_acara",
                      office=OTHER_OFFICE, category=KipCategory.SETIAP_SAAT)
    await add(env, title="Draf pengawasan", text="Pengawasan pemilu.", publish=False)
    await env.refresh()

    everything = await env.public(q="pengawasan")
    assert ids(everything) == {old, new, other}
    facets = everything["facets"]
    assert facets["year"] == {"2019": 1, "2024": 2}
    assert facets["document_type"] == {"laporan": 2, "berita_acara": 1}
    assert facets["division_id"] == {str(division): 1}
    assert facets["office_code"] == {OFFICE: 2, OTHER_OFFICE: 1}

    in_2024 = await env.public(q="pengawasan", year=2024)
    assert ids(in_2024) == {new, other}
    # A facet counts under the other choices, not its own.
    assert in_2024["facets"]["year"] == {"2019": 1, "2024": 2}
    assert in_2024["facets"]["office_code"] == {OFFICE: 1, OTHER_OFFICE: 1}
    assert ids(await env.public(q="pengawasan", type="laporan", year=2024)) == {new}
    assert ids(await env.public(q="pengawasan", division=str(division))) == {new}

    newest = await env.public(q="pengawasan", sort="newest")
    assert [h["id"] for h in newest["hits"]] == [other, new, old]
    oldest = await env.public(q="pengawasan", sort="oldest")
    assert [h["id"] for h in oldest["hits"]] == [old, new, other]
    bad = await env.http.get("/api/v1/search", params={"q": "x", "sort": "acak"})
    assert bad.status_code == 422


async def test_deep_pages_neither_skip_nor_repeat(env: Env) -> None:
    docs = {await add(env, title=f"Laporan pengawasan nomor {i}",
                      text="Pengawasan " * (1 + i % 4), when=date(2024, 1, 1 + i % 5))
            for i in range(23)}
    await env.refresh()
    for sort in ("relevance", "newest", "oldest"):
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"q": "pengawasan", "limit": 4, "sort": sort}
            if cursor:
                params["cursor"] = cursor
            page = await env.public(**params)
            assert page["total"] == len(docs)
            seen += [hit["id"] for hit in page["hits"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(docs) and set(seen) == docs, sort
    # A cursor of one order cannot be used with another.
    first = await env.public(q="pengawasan", limit=4, sort="newest")
    response = await env.http.get("/api/v1/search", params={
        "q": "pengawasan", "sort": "relevance", "cursor": first["next_cursor"]})
    assert response.status_code == 422 and response.json()["code"] == "invalid_cursor"


async def test_title_suggestions_public_and_staff(env: Env) -> None:
    public = await add(env, title="Rekapitulasi hasil penghitungan suara Kabupaten Banjar",
                       text="Rekapitulasi.")
    draft = await add(env, title="Rekapitulasi pelanggaran pelapor rahasia",
                      text="Rekapitulasi.", category=KipCategory.DIKECUALIKAN)
    other = await add(env, title="Rekapitulasi daftar pemilih", text="Rekapitulasi.",
                      office=OTHER_OFFICE, publish=False)
    await env.refresh()

    response = await env.http.get("/api/v1/search/suggest", params={"q": "rekap"})
    assert response.status_code == 200
    assert [s["id"] for s in response.json()["suggestions"]] == [public]
    words = await env.http.get("/api/v1/search/suggest", params={"q": "rekapitulasi hasil pen"})
    assert [s["title"] for s in words.json()["suggestions"]] == [
        "Rekapitulasi hasil penghitungan suara Kabupaten Banjar"]
    assert (await env.http.get("/api/v1/search/suggest", params={"q": ""})).status_code == 422

    _, staff = env.iso.user(role=Role.STAFF, office_code=OFFICE)
    _, ppid = env.iso.user(role=Role.PPID, office_code="63")
    await env.iso.register_users(env.app.core)

    async def staff_suggest(token: str) -> set[str]:
        answer = await env.http.get("/api/v1/search/internal/suggest", params={"q": "rekap"},
                                    headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        return {s["id"] for s in answer.json()["suggestions"]}

    assert await staff_suggest(staff) == {public, draft}
    assert await staff_suggest(ppid) == {public, draft, other}
    anonymous = await env.http.get("/api/v1/search/internal/suggest", params={"q": "rekap"})
    assert anonymous.status_code == 401
