"""Composition root of the publish service, shared by its API and its worker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dms_common.bus.kafka import KafkaBus
from dms_common.runtime import Core, open_core
from dms_common.storage import ObjectStore
from dms_publish import models
from dms_publish.settings import PublishSettings

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class PublishApp:
    core: Core
    settings: PublishSettings

    async def close(self) -> None:
        await self.core.close()


async def bootstrap(settings: PublishSettings, *, store: ObjectStore | None = None,
                    bus: KafkaBus | None = None) -> PublishApp:
    """Migrate the schema and open everything the service needs."""
    core = await open_core(settings, schema=models.SCHEMA, metadata=models.metadata,
                           migrations=MIGRATIONS, client_id="dms-publish", store=store, bus=bus)
    return PublishApp(core=core, settings=settings)
