"""The search worker: keeps the projection and the indices current from the document events."""

from __future__ import annotations

from dms_common.worker import serve_worker
from dms_search.bootstrap import bootstrap
from dms_search.handlers import build_handlers
from dms_search.settings import SearchSettings


def main() -> None:
    serve_worker(name="search", settings_cls=SearchSettings, bootstrap=bootstrap,
                 handlers=build_handlers)


if __name__ == "__main__":
    main()
