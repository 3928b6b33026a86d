"""Rebuild a search index from the projection, then swap the alias: no search goes unanswered.

    dms-search-reindex public|internal|all      (or: python -m dms_search.reindex ...)

The projection table is the search service's source of truth; the indices can
always be rebuilt from it (with each document's text read again from the
object store). The steps:

1. create the next versioned index (`{prefix}-public-v{n+1}`) with the current
   mappings and analysis, refreshes off;
2. copy every row (published ones only for `public`) in batches, each at its
   revision as the external version, with a progress bar;
3. refresh it and move the alias to it in one atomic `_aliases` call: searches
   see the old index until that instant and the new one after;
4. catch up: the worker kept writing through the alias (to the old index)
   while the copy ran. Under a SHARE lock on the table, which waits for every
   transaction that may have written to the old index to commit and holds new
   ones back for the moment, rewrite each row whose revision differs from the
   one copied; external versions make any overlap harmless;
5. delete the old index.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO
from uuid import UUID

from sqlalchemy import select, text

from dms_common.logging import configure_logging
from dms_search.bootstrap import SearchApp, bootstrap
from dms_search.index import IndexKind, IndexWrite
from dms_search.models import SearchDocument
from dms_search.service import document_body
from dms_search.settings import SearchSettings

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ReindexReport:
    kind: IndexKind
    index: str
    previous: list[str]
    copied: int
    caught_up: int
    seconds: float


async def _bodies(app: SearchApp, kind: IndexKind, rows: Sequence[SearchDocument],
                  concurrency: int) -> list[IndexWrite]:
    limit = asyncio.Semaphore(concurrency)

    async def one(row: SearchDocument) -> IndexWrite:
        async with limit:
            body = await document_body(document=row, kind=kind, store=app.core.store,
                                       text_limit=app.settings.search_text_max_bytes)
        return IndexWrite(document_id=row.document_id, body=body, revision=row.revision)

    return list(await asyncio.gather(*(one(row) for row in rows)))


async def reindex(*, app: SearchApp, kind: IndexKind, progress: Progress | None = None,
                  batch_size: int = 200, concurrency: int = 8,
                  keep_old: bool = False) -> ReindexReport:
    """Rebuild index `kind` from the projection into a new version and move its alias there."""
    started = time.monotonic()
    index = app.index
    new = await index.create_next(kind)
    only_public = kind is IndexKind.PUBLIC
    copied: dict[UUID, int] = {}
    query = select(SearchDocument).order_by(SearchDocument.document_id)
    if only_public:
        query = query.where(SearchDocument.published)
    async with app.core.sessions() as session:
        total = len((await session.scalars(
            query.with_only_columns(SearchDocument.document_id))).all())
        if progress:
            progress(0, total)
        stream = await session.stream_scalars(query.execution_options(yield_per=batch_size))
        async for rows in stream.partitions(batch_size):
            writes = await _bodies(app, kind, rows, concurrency)
            await index.write_many(new, writes)
            copied.update((w.document_id, w.revision) for w in writes)
            if progress:
                progress(len(copied), max(total, len(copied)))
    await index.finish_build(new)
    previous = await index.swap_alias(kind, new)
    caught_up = await _catch_up(app=app, kind=kind, new=new, copied=copied,
                                batch_size=batch_size, concurrency=concurrency)
    if not keep_old:
        for old in previous:
            await index.delete_index(old)
    return ReindexReport(kind=kind, index=new, previous=previous, copied=len(copied),
                         caught_up=caught_up, seconds=time.monotonic() - started)


async def _catch_up(*, app: SearchApp, kind: IndexKind, new: str, copied: dict[UUID, int],
                    batch_size: int, concurrency: int) -> int:
    """Rewrite into `new` every row that changed since it was copied; return how many."""
    async with app.core.sessions() as session, session.begin():
        await session.execute(text(
            f'LOCK TABLE "{app.core.schema}".documents IN SHARE MODE'))
        current = (await session.execute(
            select(SearchDocument.document_id, SearchDocument.revision,
                   SearchDocument.published))).all()
        stale = [document_id for document_id, revision, published in current
                 if copied.get(document_id, 0) != revision
                 and (published or kind is IndexKind.INTERNAL or document_id in copied)]
        for start in range(0, len(stale), batch_size):
            rows = (await session.scalars(select(SearchDocument).where(
                SearchDocument.document_id.in_(stale[start:start + batch_size])))).all()
            await app.index.write_many(new, await _bodies(app, kind, rows, concurrency))
    if stale:
        await app.index.finish_build(new)
    return len(stale)


class ProgressBar:
    """A one-line text progress bar on a stream (stderr)."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self._label = label
        self._stream = stream or sys.stderr
        self._width = width
        self._last = -1.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        share = done / total if total else 1.0
        filled = round(share * self._width)
        bar = "#" * filled + "-" * (self._width - filled)
        end = "\n" if done >= total else ""
        print(f"\r{self._label} [{bar}] {done}/{total} {share:4.0%}", end=end,
              file=self._stream, flush=True)


async def run(kinds: list[IndexKind], *, keep_old: bool) -> None:
    settings = SearchSettings()  # from the environment
    app = await bootstrap(settings)
    try:
        for kind in kinds:
            report = await reindex(app=app, kind=kind, keep_old=keep_old,
                                   progress=ProgressBar(app.index.alias(kind)))
            print(f"{app.index.alias(kind)} -> {report.index}: {report.copied} documents, "
                  f"{report.caught_up} caught up, {report.seconds:.1f}s"
                  + (f"; removed {', '.join(report.previous)}"
                     if report.previous and not keep_old else ""))
    finally:
        await app.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="dms-search-reindex",
        description="Rebuild a search index from the projection and swap its alias.")
    parser.add_argument("kind", choices=[*(k.value for k in IndexKind), "all"])
    parser.add_argument("--keep-old", action="store_true",
                        help="keep the previous index (for a rollback by hand)")
    args = parser.parse_args(argv)
    kinds = list(IndexKind) if args.kind == "all" else [IndexKind(args.kind)]
    configure_logging("search-reindex", "WARNING")
    asyncio.run(run(kinds, keep_old=args.keep_old))


if __name__ == "__main__":
    main()
