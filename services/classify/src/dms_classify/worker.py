"""The classify worker: extracts the text of received documents, keeps the identity copy."""

from __future__ import annotations

from dms_classify.bootstrap import bootstrap
from dms_classify.handlers import build_handlers
from dms_classify.settings import ClassifySettings
from dms_common.worker import serve_worker


def main() -> None:
    serve_worker(name="classify", settings_cls=ClassifySettings, bootstrap=bootstrap,
                 handlers=build_handlers)


if __name__ == "__main__":
    main()
