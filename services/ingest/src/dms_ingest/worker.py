"""Ingest's worker: keeps the status read-model, relays the outbox, sweeps orphaned uploads."""

from __future__ import annotations

from datetime import timedelta

from dms_common.worker import Job, serve_worker
from dms_ingest.bootstrap import IngestApp, bootstrap
from dms_ingest.handlers import HANDLERS
from dms_ingest.settings import IngestSettings
from dms_ingest.sweeper import sweep_forever


def background(app: IngestApp) -> list[Job]:
    """The orphan sweeper, beside the consumer."""
    settings = app.settings

    async def sweeper() -> None:
        await sweep_forever(store=app.core.store, sessions=app.core.sessions,
                            older_than=timedelta(seconds=settings.orphan_age_seconds),
                            interval_seconds=settings.sweep_interval_seconds)

    return [sweeper]


def main() -> None:
    serve_worker(name="ingest", settings_cls=IngestSettings, bootstrap=bootstrap,
                 handlers=lambda _: HANDLERS, background=background)


if __name__ == "__main__":
    main()
