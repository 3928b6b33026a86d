"""The search worker: keeps the projection and the indices current from the document events."""

from __future__ import annotations

import asyncio

from dms_common.logging import configure_logging
from dms_common.settings import load_settings
from dms_common.worker import run_worker
from dms_search.bootstrap import bootstrap
from dms_search.handlers import build_handlers
from dms_search.settings import SearchSettings


async def run(settings: SearchSettings) -> None:
    app = await bootstrap(settings)
    try:
        await run_worker(app.core, group_id="dms-search", handlers=build_handlers(app),
                         metrics_port=settings.worker_metrics_port)
    finally:
        await app.close()


def main() -> None:
    settings = load_settings(SearchSettings)
    configure_logging(settings.service_name, settings.log_level)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
