"""Run a service's worker process: its consumer, its outbox relay, its metrics.

A worker stops cleanly on SIGTERM/SIGINT; killed harder, it loses nothing,
because offsets are committed only after effects (see bus/consumer.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from prometheus_client import start_http_server

from dms_common.bus import dlq
from dms_common.bus.consumer import EventConsumer, Handler
from dms_common.logging import configure_logging
from dms_common.metrics import DLQ_SIZE
from dms_common.runtime import Core, ServiceContainer
from dms_common.settings import ServiceSettings, load_settings

log = logging.getLogger(__name__)


async def _watch_dlq(core: Core, topics: list[str]) -> None:
    """Keep the DLQ-size gauge current for the topics this worker consumes."""
    prefix = core.settings.kafka_topic_prefix
    while True:
        for topic in topics:
            try:
                DLQ_SIZE.labels(prefix + topic).set(
                    await dlq.count_pending(core.settings.kafka_bootstrap, prefix + topic))
            except Exception:
                log.warning("could not count the DLQ", extra={"topic": topic})
        await asyncio.sleep(30)


Job = Callable[[], Coroutine[Any, Any, Any]]


async def run_worker(core: Core, *, group_id: str, handlers: Mapping[str, Handler],
                     metrics_port: int | None = None,
                     background: list[Job] | None = None,
                     ) -> None:
    """Consume `handlers`' topics as `group_id` until a stop signal arrives."""
    if metrics_port:
        start_http_server(metrics_port, addr=core.settings.worker_metrics_host)
    consumer = EventConsumer(
        bootstrap=core.settings.kafka_bootstrap, group_id=group_id, handlers=handlers,
        uow_factory=core.uow, bus=core.bus, retries=core.settings.consumer_retries,
        backoff_seconds=core.settings.consumer_backoff_seconds,
        outage_seconds=core.settings.consumer_outage_seconds,
        topic_prefix=core.settings.kafka_topic_prefix)
    await consumer.start()
    core.start_relay()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(consumer.run(), name="consumer"),
             asyncio.create_task(_watch_dlq(core, list(handlers)), name="dlq-watch")]
    tasks += [asyncio.create_task(job(), name="background") for job in background or []]
    stopper = asyncio.create_task(stop.wait())
    log.info("worker started", extra={"group": group_id, "topics": list(handlers)})
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stopper and task.exception() is not None:
            log.error("worker task failed", exc_info=task.exception())
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    await consumer.stop()
    log.info("worker stopped")


C = TypeVar("C", bound=ServiceContainer)
S = TypeVar("S", bound=ServiceSettings)


def serve_worker(*, name: str, settings_cls: type[S],
                 bootstrap: Callable[[S], Coroutine[Any, Any, C]],
                 handlers: Callable[[C], Mapping[str, Handler]],
                 background: Callable[[C], list[Job]] | None = None) -> None:
    """A service worker's `main()`: load settings, bootstrap, consume until stopped, close.

    `background` gives the jobs that run beside the consumer (sweepers, schedulers, senders)
    for the bootstrapped service.
    """
    settings = load_settings(settings_cls)
    configure_logging(f"{name}-worker", settings.log_level)

    async def run() -> None:
        app = await bootstrap(settings)
        try:
            await run_worker(app.core, group_id=f"dms-{name}", handlers=handlers(app),
                             metrics_port=settings.worker_metrics_port,
                             background=background(app) if background else None)
        finally:
            await app.close()

    asyncio.run(run())
