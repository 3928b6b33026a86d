"""The classify worker: extracts the text of received documents, keeps the identity copy."""

from __future__ import annotations

import asyncio

from dms_classify.bootstrap import bootstrap
from dms_classify.handlers import build_handlers
from dms_classify.settings import ClassifySettings
from dms_common.logging import configure_logging
from dms_common.settings import load_settings
from dms_common.worker import run_worker


async def _run(settings: ClassifySettings) -> None:
    app = await bootstrap(settings)
    try:
        await run_worker(app.core, group_id="dms-classify", handlers=build_handlers(app),
                         metrics_port=settings.worker_metrics_port)
    finally:
        await app.close()


def main() -> None:
    settings = load_settings(ClassifySettings)
    configure_logging("classify", settings.log_level)
    asyncio.run(_run(settings))


if __name__ == "__main__":
    main()
