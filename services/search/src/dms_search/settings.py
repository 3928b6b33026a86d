"""Configuration of the search service (environment variables prefixed `DMS_`)."""

from __future__ import annotations

from pydantic import Field

from dms_common.settings import ServiceSettings


class SearchSettings(ServiceSettings):
    """What the search API and worker need beyond the shared settings."""

    service_name: str = "search"

    # A document's text goes into the index up to this many bytes: enough for the
    # longest reports, and under OpenSearch's default highlighting limit
    # (index.highlight.max_analyzed_offset, one million characters).
    search_text_max_bytes: int = Field(default=1_000_000, ge=0, le=1_000_000)
    opensearch_timeout_seconds: float = 10.0
    # Searches the API runs against OpenSearch at once (its connection pool); the rest
    # wait their turn here, in order. OpenSearch executes only about 1.5 x cores + 1
    # searches at a time: sending it 32 at once on the 2-core development machine made
    # the slowest searches about twice as slow as with 8 (bench/search.py). Raise it
    # with the cores of the OpenSearch nodes.
    opensearch_search_connections: int = Field(default=8, ge=1, le=256)
    # How soon a write becomes searchable: an explicit decision (and a bench knob),
    # not OpenSearch's default.
    search_refresh_interval: str = Field(default="1s", pattern=r"^(-1|\d+(ms|s|m))$")
    # One node in development: a replica could never be assigned there.
    opensearch_shards: int = 1
    opensearch_replicas: int = 0
