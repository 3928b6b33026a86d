"""The orphan sweeper: removes uploaded originals that never got their row.

An upload puts the object first and commits the row after; a process killed in between leaves
an object nobody refers to. Objects whose key has the shape of an original, that are older than
the configured age and that no version row names, are deleted. The age keeps the sweeper away
from uploads still on their way to the commit.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dms_common.storage import ObjectStore
from dms_ingest.models import DocumentVersion

log = logging.getLogger(__name__)

ORIGINAL_KEY = re.compile(r"[A-Za-z0-9_-]+/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                          r"[0-9a-f]{12}/[1-9][0-9]*/original")
_BATCH = 500


@dataclass(frozen=True)
class SweepResult:
    examined: int
    removed: list[str]


async def sweep_orphans(*, store: ObjectStore, sessions: async_sessionmaker[AsyncSession],
                        older_than: timedelta, prefix: str = "",
                        now: datetime | None = None) -> SweepResult:
    """Delete original objects older than `older_than` that no document version refers to."""
    cutoff = (now or datetime.now(UTC)) - older_than
    examined = 0
    removed: list[str] = []
    batch: list[str] = []

    async def settle() -> None:
        async with sessions() as session:
            known = set((await session.execute(select(DocumentVersion.object_key).where(
                DocumentVersion.object_key.in_(batch)))).scalars())
        for key in batch:
            if key not in known:
                await store.delete(key)
                removed.append(key)
        batch.clear()

    async for info in store.list_objects(prefix):
        if not ORIGINAL_KEY.fullmatch(info.key) or info.last_modified > cutoff:
            continue
        examined += 1
        batch.append(info.key)
        if len(batch) >= _BATCH:
            await settle()
    if batch:
        await settle()
    if removed:
        log.warning("removed orphaned uploads", extra={"count": len(removed),
                                                       "keys": removed[:20]})
    return SweepResult(examined=examined, removed=removed)


async def sweep_forever(*, store: ObjectStore, sessions: async_sessionmaker[AsyncSession],
                        older_than: timedelta, interval_seconds: float) -> None:
    """Sweep now and then every `interval_seconds`, surviving a failed round."""
    while True:
        try:
            await sweep_orphans(store=store, sessions=sessions, older_than=older_than)
        except Exception:
            log.exception("the orphan sweep failed; trying again next round")
        await asyncio.sleep(interval_seconds)
