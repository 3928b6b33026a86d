"""Configuration of the publish service (environment variables prefixed `DMS_`)."""

from __future__ import annotations

from dms_common.settings import ServiceSettings


class PublishSettings(ServiceSettings):
    """What the publish API and worker read at start."""

    service_name: str = "publish"
    # How many publications the portal's home page lists.
    portal_latest_count: int = 10
    # Webhooks: attempts before a delivery is given up, first retry delay (doubling), timeout.
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: float = 5.0
    webhook_timeout_seconds: float = 10.0
    # Absolute base of links in feeds, the sitemap and the catalogue; empty: the request's.
    public_base_url: str = ""
