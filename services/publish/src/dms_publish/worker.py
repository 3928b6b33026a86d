"""The publish worker: merges decisions into publications and announces them."""

from __future__ import annotations

import asyncio

from dms_common.logging import configure_logging
from dms_common.settings import load_settings
from dms_common.worker import run_worker
from dms_publish.bootstrap import bootstrap
from dms_publish.handlers import HANDLERS
from dms_publish.settings import PublishSettings


async def run(settings: PublishSettings) -> None:
    app = await bootstrap(settings)
    try:
        await run_worker(app.core, group_id="dms-publish", handlers=HANDLERS,
                         metrics_port=settings.worker_metrics_port)
    finally:
        await app.close()


def main() -> None:
    settings = load_settings(PublishSettings)
    configure_logging(settings.service_name, settings.log_level)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
