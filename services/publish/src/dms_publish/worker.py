"""The publish worker: merges decisions into publications, announces them, sends webhooks."""

from __future__ import annotations

from dms_common.worker import Job, serve_worker
from dms_publish.bootstrap import PublishApp, bootstrap
from dms_publish.handlers import HANDLERS
from dms_publish.settings import PublishSettings
from dms_publish.webhooks import Dispatcher, make_sender


def background(app: PublishApp) -> list[Job]:
    """The webhook sender, beside the consumer."""
    settings = app.settings
    dispatcher = Dispatcher(app.core.uow, sender=make_sender(settings.webhook_timeout_seconds),
                            max_attempts=settings.webhook_max_attempts,
                            backoff_seconds=settings.webhook_backoff_seconds)
    return [dispatcher.run]


def main() -> None:
    serve_worker(name="publish", settings_cls=PublishSettings, bootstrap=bootstrap,
                 handlers=lambda _: HANDLERS, background=background)


if __name__ == "__main__":
    main()
