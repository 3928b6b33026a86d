"""Ingest's event handlers: the status read-model of its documents."""

from __future__ import annotations

from dms_common.bus.consumer import Handler
from dms_common.db.uow import UnitOfWork
from dms_common.events import Event, Topic
from dms_ingest import service


async def update_status(event: Event, uow: UnitOfWork) -> None:
    await service.apply_status_event(uow=uow, event=event)


HANDLERS: dict[str, Handler] = {
    Topic.EXTRACTED.value: update_status,
    Topic.CLASSIFIED.value: update_status,
    Topic.PUBLISHED.value: update_status,
    Topic.WITHDRAWN.value: update_status,
}
