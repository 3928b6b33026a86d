"""Configuration of the publish service (environment variables prefixed `DMS_`)."""

from __future__ import annotations

from dms_common.settings import ServiceSettings


class PublishSettings(ServiceSettings):
    """What the publish API and worker read at start."""

    service_name: str = "publish"
    # Prometheus port of the worker process; the API serves /metrics itself.
    # How many publications the portal's home page lists.
    portal_latest_count: int = 10
