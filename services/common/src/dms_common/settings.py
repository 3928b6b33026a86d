"""Settings shared by every service: pydantic-settings with the `DMS_` prefix.

Secrets have no default. A missing secret or a placeholder value ("changeme",
"secret", "<...>") stops the service at start with a message naming the
variable, instead of running with a value nobody chose.
"""

from __future__ import annotations

import re
import sys
from typing import Any, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER = re.compile(
    r"^(?:|change[-_ ]?me.*|changeit|secret|password|passw0rd|todo|tbd|xxx+|example|"
    r"<[^>]*>|\$\{[^}]*\}|replace[-_ ]?me.*|dummy|default)$",
    re.IGNORECASE,
)


def refuse_placeholder(value: str, name: str) -> str:
    """Return value unless it is empty or an obvious placeholder."""
    if PLACEHOLDER.match(value.strip()):
        raise ValueError(f"DMS_{name.upper()} holds a placeholder value; set a real secret")
    return value


class ServiceSettings(BaseSettings):
    """What every service needs to reach the servers of DESIGN.md §6."""

    model_config = SettingsConfigDict(env_prefix="DMS_", extra="ignore", frozen=True)

    service_name: str = "dms"
    environment: str = "development"
    log_level: str = "INFO"

    database_url: SecretStr
    # Connections kept open per process: at least the requests that run transactions at once,
    # or every extra one connects (and prepares its statements) afresh. Up to half as many
    # again open for bursts. 8 processes x 30 stays under the servers' max_connections (300).
    database_pool_size: int = 20

    kafka_bootstrap: str = "127.0.0.1:9092"
    # Namespaces for running several isolated copies on one set of servers
    # (the test suite does; production leaves them empty).
    kafka_topic_prefix: str = ""
    db_schema_suffix: str = ""
    opensearch_index_prefix: str = "dms"

    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: SecretStr
    s3_secret_key: SecretStr
    s3_bucket: str = "dms-documents"
    s3_secure: bool = False

    opensearch_url: str = "http://127.0.0.1:9200"

    jwt_public_key: SecretStr = Field(
        description="Ed25519 public key (PEM text, or a path to a PEM file) that verifies tokens")

    # Consumer behaviour (DESIGN.md §4): retries with backoff, then the DLQ.
    consumer_retries: int = 4
    consumer_backoff_seconds: float = 0.5
    # How long an unreachable server holds a partition before its events count as failing.
    consumer_outage_seconds: float = 600.0
    relay_batch_size: int = 500
    relay_poll_seconds: float = 0.5
    # The worker's /metrics; loopback on a developer's machine, containers set
    # 0.0.0.0 so Prometheus can scrape.
    worker_metrics_port: int | None = None
    worker_metrics_host: str = "127.0.0.1"

    @field_validator("database_url", "s3_access_key", "s3_secret_key", "jwt_public_key")
    @classmethod
    def _no_placeholder(cls, value: SecretStr, info: Any) -> SecretStr:
        refuse_placeholder(value.get_secret_value(), info.field_name)
        return value


S = TypeVar("S", bound=BaseSettings)


class SettingsError(SystemExit):
    """Raised at start-up when the configuration is unusable."""


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Load settings from the environment, or stop with the variables at fault named."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems = []
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) or "?"
            variable = f"{prefix}{field}".upper()
            reason = "is required" if error["type"] == "missing" else error["msg"]
            problems.append(f"  {variable}: {reason}")
        message = f"{cls.__name__}: the configuration is not usable:\n" + "\n".join(problems)
        print(message, file=sys.stderr)
        raise SettingsError(message) from None
