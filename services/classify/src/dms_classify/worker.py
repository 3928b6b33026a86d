"""The classify worker: extracts received documents, keeps the identity copy, runs upkeep."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from dms_classify.bootstrap import ClassifyApp, bootstrap
from dms_classify.handlers import build_handlers
from dms_classify.settings import ClassifySettings
from dms_classify.upkeep import run_upkeep
from dms_common.logging import configure_logging
from dms_common.settings import load_settings
from dms_common.worker import run_worker

log = logging.getLogger(__name__)


def upkeep_loop(app: ClassifyApp) -> Callable[[], Coroutine[Any, Any, None]]:
    """The background job: one upkeep round every `upkeep_interval_seconds`."""
    settings = app.settings

    async def loop() -> None:
        while True:
            try:
                result = await run_upkeep(
                    uow_factory=app.core.uow, warn_days=settings.exemption_warning_days,
                    berkala_max_age=timedelta(days=settings.berkala_max_age_days),
                    retrain_min_samples=settings.retrain_min_samples,
                    retrain_every=settings.retrain_every)
                log.info("upkeep done", extra={"expiring": result.expiring,
                                               "expired": result.expired,
                                               "berkala_stale": result.berkala_stale,
                                               "retrained": result.retrained})
            except Exception:
                log.exception("upkeep failed; trying again next round")
            await asyncio.sleep(settings.upkeep_interval_seconds)

    return loop


def main() -> None:
    settings = load_settings(ClassifySettings)
    configure_logging("classify-worker", settings.log_level)

    async def run() -> None:
        app = await bootstrap(settings)
        try:
            background = [upkeep_loop(app)] if settings.upkeep_interval_seconds > 0 else []
            await run_worker(app.core, group_id="dms-classify", handlers=build_handlers(app),
                             metrics_port=settings.worker_metrics_port, background=background)
        finally:
            await app.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
