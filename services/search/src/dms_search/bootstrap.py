"""The search service's composition root, shared by its API and its worker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dms_common.bus.kafka import KafkaBus
from dms_common.runtime import Core, open_core
from dms_common.storage import ObjectStore
from dms_search import models
from dms_search.index import SearchIndex
from dms_search.settings import SearchSettings


@dataclass
class SearchApp:
    settings: SearchSettings
    core: Core
    index: SearchIndex

    async def close(self) -> None:
        try:
            await self.index.close()
        finally:
            await self.core.close()


async def bootstrap(settings: SearchSettings, *, store: ObjectStore | None = None,
                    bus: KafkaBus | None = None, index: SearchIndex | None = None) -> SearchApp:
    """Migrate the schema, open the shared core and make sure both indices exist."""
    core = await open_core(settings, schema="search", metadata=models.metadata,
                           migrations=Path(__file__).parent / "migrations",
                           client_id="dms-search", store=store, bus=bus)
    search_index = index or SearchIndex.from_settings(settings)
    try:
        await search_index.ensure_indices()
    except BaseException:
        await search_index.close()
        await core.close()
        raise
    return SearchApp(settings=settings, core=core, index=search_index)
