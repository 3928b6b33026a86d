"""An unreachable server holds the partition; only a failing event is parked."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from dms_common.bus.consumer import EventConsumer
from dms_common.events import Event
from dms_common.outages import is_transient


class FakeUow:
    async def __aenter__(self) -> FakeUow:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def claim_event(self, event_id: uuid.UUID, topic: str) -> bool:
        return True


class FakeBus:
    def __init__(self) -> None:
        self.parked: list[Any] = []

    async def send(self, record: Any) -> None:
        self.parked.append(record)


def _record() -> Any:
    value = {
        "event_id": str(uuid.uuid4()), "event_type": "dms.document.withdrawn",
        "schema_version": 1, "occurred_at": datetime.now(UTC).isoformat(),
        "correlation_id": "c1", "document_id": str(uuid.uuid4()), "version": 1, "seq": 1,
        "office_code": "6301", "payload": {"reason": "uji"},
    }
    return SimpleNamespace(topic="dms.document.withdrawn", partition=0, offset=7, key=b"k",
                           value=json.dumps(value).encode())


def _consumer(handler: Any, bus: FakeBus, **kwargs: Any) -> EventConsumer:
    return EventConsumer(bootstrap="127.0.0.1:1", group_id="g",
                         handlers={"dms.document.withdrawn": handler},
                         uow_factory=FakeUow,  # type: ignore[arg-type]
                         bus=bus,  # type: ignore[arg-type]
                         retries=1, backoff_seconds=0, max_backoff_seconds=0, **kwargs)


class OperationalError(Exception):
    """Named like SQLAlchemy's: the database did not answer."""


@pytest.mark.parametrize("error", [ConnectionRefusedError(111, "refused"), TimeoutError(),
                                   OperationalError("server closed the connection")])
async def test_an_outage_is_retried_past_the_retry_count_and_never_parked(
        error: Exception) -> None:
    calls = 0

    async def handler(event: Event, uow: Any) -> None:
        nonlocal calls
        calls += 1
        if calls <= 5:
            raise error

    bus = FakeBus()
    consumer = _consumer(handler, bus)
    await consumer.handle_record(_record())
    assert calls == 6
    assert bus.parked == []
    assert consumer.handled == 1


async def test_a_failing_event_is_parked_after_its_retries() -> None:
    calls = 0

    async def handler(event: Event, uow: Any) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("bad payload")

    bus = FakeBus()
    await _consumer(handler, bus).handle_record(_record())
    assert calls == 2
    assert len(bus.parked) == 1
    headers = dict(bus.parked[0].headers)
    assert headers["dms-error"].startswith(b"ValueError: bad payload")


async def test_an_outage_longer_than_allowed_ends_on_the_dlq() -> None:
    async def handler(event: Event, uow: Any) -> None:
        raise ConnectionResetError("gone")

    bus = FakeBus()
    await _consumer(handler, bus, outage_seconds=0).handle_record(_record())
    assert len(bus.parked) == 1


def test_transient_errors_are_recognised_through_their_causes() -> None:
    try:
        try:
            raise ConnectionRefusedError("refused")
        except ConnectionRefusedError as inner:
            raise RuntimeError("while indexing") from inner
    except RuntimeError as outer:
        assert is_transient(outer)
    assert not is_transient(ValueError("bad"))
    assert not is_transient(KeyError("title"))
    unavailable = type("TransportError", (Exception,), {"status_code": 503})()
    assert is_transient(unavailable)
    conflict = type("TransportError", (Exception,), {"status_code": 409})()
    assert not is_transient(conflict)
