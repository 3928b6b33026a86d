"""Reindex into a new versioned index while searches and events keep coming."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import pytest

from dms_common.events import DocumentEvent
from dms_search.index import IndexKind
from dms_search.reindex import ProgressBar, reindex
from tests.integration.search.support import Env, ids
from tests.unit.search.events import classified, extracted, published, received, withdrawn


def lifecycle(doc: uuid.UUID, title: str) -> list[DocumentEvent]:
    return [received(doc, title=title), extracted(doc), classified(doc, title=title),
            published(doc, 1)]


async def test_searches_never_fail_or_come_back_empty_during_a_reindex(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = [uuid.uuid4() for _ in range(60)]
    for i, doc in enumerate(docs):
        await env.put_text(doc, f"Laporan pengawasan tahapan pemilihan nomor {i}.")
        await env.deliver(*lifecycle(doc, f"Laporan pengawasan {i}"))
    await env.refresh()
    before = (await env.public(q="pengawasan", limit=100))["total"]
    assert before == len(docs)

    answers: list[tuple[int, int]] = []
    stop = asyncio.Event()

    async def search_continuously() -> None:
        while not stop.is_set():
            for params in ({"q": "pengawasan"}, {}):
                response = await env.http.get("/api/v1/search", params=params)
                total = response.json().get("total", 0) if response.status_code == 200 else 0
                answers.append((response.status_code, total))
            await asyncio.sleep(0)

    # Events keep arriving while the copy runs: a new document, a withdrawal...
    late = uuid.uuid4()
    copying = asyncio.Event()

    async def keep_delivering() -> None:
        await copying.wait()
        await env.put_text(late, "Dokumen yang terbit selama pembangunan ulang indeks.")
        await env.deliver(*lifecycle(late, "Dokumen terlambat"))
        await env.deliver(withdrawn(docs[0], 2))

    # ... and one lands in the old index after the copy, just before the swap:
    # only the catch-up can bring it into the new index.
    real_swap = env.app.index.swap_alias

    async def swap_after_a_late_write(kind: IndexKind, new: str) -> list[str]:
        await env.deliver(withdrawn(docs[1], 2))
        return await real_swap(kind, new)

    monkeypatch.setattr(env.app.index, "swap_alias", swap_after_a_late_write)
    progress: list[tuple[int, int]] = []

    def record(done: int, total: int) -> None:
        progress.append((done, total))
        if done:
            copying.set()

    searcher = asyncio.create_task(search_continuously())
    old = await env.app.index.concrete(IndexKind.PUBLIC)
    try:
        _, report = await asyncio.gather(
            keep_delivering(),
            reindex(app=env.app, kind=IndexKind.PUBLIC, batch_size=5, concurrency=2,
                    progress=record))
    finally:
        await asyncio.sleep(0.2)  # a few searches after the swap as well
        stop.set()
        await searcher

    assert len(answers) >= 10
    assert report.caught_up >= 1
    monkeypatch.undo()
    assert all(status == 200 for status, _ in answers), answers
    assert all(total > 0 for _, total in answers), answers
    assert report.index == env.app.index.versioned(IndexKind.PUBLIC, 2)
    assert report.previous == [old] and old == env.app.index.versioned(IndexKind.PUBLIC, 1)
    assert await env.app.index.concrete(IndexKind.PUBLIC) == report.index
    assert not env.opensearch.indices.exists(index=old)
    assert progress[0][0] == 0 and progress[-1][0] == progress[-1][1] == report.copied

    # The new index holds what the projection says, including what arrived meanwhile.
    await env.refresh()
    found = ids(await env.public(q="pengawasan", limit=100)) | ids(
        await env.public(q="terlambat"))
    assert found == {str(d) for d in docs[2:]} | {str(late)}
    assert env.stored(IndexKind.PUBLIC, docs[0]) is None
    assert env.stored(IndexKind.PUBLIC, docs[1]) is None
    settings = env.opensearch.indices.get_settings(index=report.index)[report.index]
    assert settings["settings"]["index"]["refresh_interval"] == "1s"

    # And once more for the internal index: v2, every document, a text progress bar.
    bar = io.StringIO()
    internal = await reindex(app=env.app, kind=IndexKind.INTERNAL,
                             progress=ProgressBar("internal", bar))
    assert internal.index == env.app.index.versioned(IndexKind.INTERNAL, 2)
    assert internal.copied == len(docs) + 1
    assert bar.getvalue().rstrip().endswith(f"{len(docs) + 1}/{len(docs) + 1} 100%")
    await env.refresh()
    stored: dict[str, Any] | None = env.stored(IndexKind.INTERNAL, docs[0])
    assert stored is not None and stored["_source"]["status"] == "withdrawn"
    # A third build moves on to v3.
    again = await reindex(app=env.app, kind=IndexKind.PUBLIC)
    assert again.index == env.app.index.versioned(IndexKind.PUBLIC, 3)
    assert again.copied == len(docs) - 1
