"""Event → use case: the topics the publish worker consumes."""

from __future__ import annotations

from dms_common.bus.consumer import Handler
from dms_common.db.uow import UnitOfWork
from dms_common.events import (
    DocumentClassified,
    DocumentReceived,
    DocumentRetracted,
    Event,
    Topic,
)
from dms_common.identity.projection import apply_identity_changed
from dms_publish import service


async def handle_received(event: Event, uow: UnitOfWork) -> None:
    assert isinstance(event, DocumentReceived)
    await service.record_upload(uow=uow, event=event)


async def handle_classified(event: Event, uow: UnitOfWork) -> None:
    assert isinstance(event, DocumentClassified)
    await service.apply_decision(uow=uow, event=event)


async def handle_retracted(event: Event, uow: UnitOfWork) -> None:
    assert isinstance(event, DocumentRetracted)
    await service.apply_retraction(uow=uow, event=event)


HANDLERS: dict[str, Handler] = {
    Topic.RECEIVED.value: handle_received,
    Topic.CLASSIFIED.value: handle_classified,
    Topic.RETRACTED.value: handle_retracted,
    Topic.IDENTITY_CHANGED.value: apply_identity_changed,
}
