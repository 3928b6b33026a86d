"""Ingest's worker: keeps the status read-model and relays the outbox."""

from __future__ import annotations

from dms_common.worker import serve_worker
from dms_ingest.bootstrap import bootstrap
from dms_ingest.handlers import HANDLERS
from dms_ingest.settings import IngestSettings


def main() -> None:
    serve_worker(name="ingest", settings_cls=IngestSettings, bootstrap=bootstrap,
                 handlers=lambda _app: HANDLERS)


if __name__ == "__main__":
    main()
