"""The classify service's composition root, shared by its API and its worker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dms_classify import models
from dms_classify.extraction import ExtractionLimits
from dms_classify.sandbox import Sandbox
from dms_classify.settings import ClassifySettings
from dms_common.bus.kafka import KafkaBus
from dms_common.runtime import Core, open_core
from dms_common.storage import ObjectStore


@dataclass
class ClassifyApp:
    core: Core
    settings: ClassifySettings
    sandbox: Sandbox

    @property
    def limits(self) -> ExtractionLimits:
        settings = self.settings
        return ExtractionLimits(max_bytes=settings.extract_max_bytes,
                                max_chars=settings.extract_max_chars,
                                max_pages=settings.extract_max_pages,
                                ocr=settings.ocr_enabled, ocr_language=settings.ocr_language,
                                ocr_max_pages=settings.ocr_max_pages,
                                preview_pages=settings.preview_pages,
                                table_rows=settings.table_rows)

    async def close(self) -> None:
        await self.sandbox.close()
        await self.core.close()


async def bootstrap(settings: ClassifySettings, *, store: ObjectStore | None = None,
                    bus: KafkaBus | None = None) -> ClassifyApp:
    """Migrate the `classify` schema and open everything the service uses."""
    core = await open_core(settings, schema="classify", metadata=models.metadata,
                           migrations=Path(__file__).parent / "migrations",
                           client_id="dms-classify", store=store, bus=bus)
    # The extraction child starts on the first job, not here.
    sandbox = Sandbox(memory_bytes=settings.extract_memory_bytes,
                      timeout_seconds=settings.extract_timeout_seconds)
    return ClassifyApp(core=core, settings=settings, sandbox=sandbox)
