"""The publish worker: merges decisions into publications and announces them."""

from __future__ import annotations

from dms_common.worker import serve_worker
from dms_publish.bootstrap import bootstrap
from dms_publish.handlers import HANDLERS
from dms_publish.settings import PublishSettings


def main() -> None:
    serve_worker(name="publish", settings_cls=PublishSettings, bootstrap=bootstrap,
                 handlers=lambda _app: HANDLERS)


if __name__ == "__main__":
    main()
