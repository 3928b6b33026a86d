"""Ingest's worker: keeps the status read-model and relays the outbox."""

from __future__ import annotations

import asyncio

from dms_common.logging import configure_logging
from dms_common.settings import load_settings
from dms_common.worker import run_worker
from dms_ingest.bootstrap import bootstrap
from dms_ingest.handlers import HANDLERS
from dms_ingest.settings import IngestSettings


async def _run(settings: IngestSettings) -> None:
    app = await bootstrap(settings)
    try:
        await run_worker(app.core, group_id="dms-ingest", handlers=HANDLERS,
                         metrics_port=settings.worker_metrics_port)
    finally:
        await app.close()


def main() -> None:
    settings = load_settings(IngestSettings)
    configure_logging("ingest-worker", settings.log_level)
    asyncio.run(_run(settings))


if __name__ == "__main__":
    main()
