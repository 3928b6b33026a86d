"""Prometheus metrics shared by the services (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_OLDEST_PENDING_SECONDS = Gauge(
    "dms_outbox_oldest_pending_seconds", "Age of the oldest unsent outbox row", ["schema"])
OUTBOX_SENT = Counter("dms_outbox_sent_total", "Outbox rows relayed to Kafka", ["schema"])
CONSUMER_LAG = Gauge(
    "dms_consumer_lag", "Records behind the partition's end", ["group", "topic", "partition"])
EVENTS_HANDLED = Counter(
    "dms_events_handled_total", "Events handled by a consumer", ["group", "topic", "outcome"])
DLQ_PARKED = Counter(
    "dms_dlq_parked_total", "Events parked on a dead-letter topic", ["group", "topic"])
DLQ_SIZE = Gauge("dms_dlq_size", "Records waiting on a dead-letter topic", ["topic"])
HTTP_REQUESTS = Histogram(
    "dms_http_request_seconds", "HTTP request latency", ["method", "route", "status"])
