"""The classify service's composition root, shared by its API and its worker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dms_classify import models
from dms_classify.extraction import ExtractionLimits
from dms_classify.settings import ClassifySettings
from dms_common.bus.kafka import KafkaBus
from dms_common.runtime import Core, open_core
from dms_common.storage import ObjectStore


@dataclass
class ClassifyApp:
    core: Core
    settings: ClassifySettings

    @property
    def limits(self) -> ExtractionLimits:
        return ExtractionLimits(max_bytes=self.settings.extract_max_bytes,
                                max_chars=self.settings.extract_max_chars,
                                max_pages=self.settings.extract_max_pages)

    async def close(self) -> None:
        await self.core.close()


async def bootstrap(settings: ClassifySettings, *, store: ObjectStore | None = None,
                    bus: KafkaBus | None = None) -> ClassifyApp:
    """Migrate the `classify` schema and open everything the service uses."""
    core = await open_core(settings, schema="classify", metadata=models.metadata,
                           migrations=Path(__file__).parent / "migrations",
                           client_id="dms-classify", store=store, bus=bus)
    return ClassifyApp(core=core, settings=settings)
