"""The publish worker: merges decisions into publications, announces them, sends webhooks."""

from __future__ import annotations

import asyncio

from dms_common.logging import configure_logging
from dms_common.settings import load_settings
from dms_common.worker import run_worker
from dms_publish.bootstrap import bootstrap
from dms_publish.handlers import HANDLERS
from dms_publish.settings import PublishSettings
from dms_publish.webhooks import Dispatcher, make_sender


async def serve(settings: PublishSettings) -> None:
    """Consume, relay and dispatch webhooks until a stop signal arrives."""
    app = await bootstrap(settings)
    dispatcher = Dispatcher(app.core.uow, sender=make_sender(settings.webhook_timeout_seconds),
                            max_attempts=settings.webhook_max_attempts,
                            backoff_seconds=settings.webhook_backoff_seconds)
    try:
        await run_worker(app.core, group_id="dms-publish", handlers=HANDLERS,
                         metrics_port=settings.worker_metrics_port,
                         background=[dispatcher.run])
    finally:
        await app.close()


def main() -> None:
    settings = load_settings(PublishSettings)
    configure_logging("publish-worker", settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
