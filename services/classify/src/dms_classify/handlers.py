"""Event -> use case: what the classify worker does with each topic it consumes.

The handlers need the app's object store and extraction limits, so the table is
built per app by :func:`build_handlers` rather than at import time.
"""

from __future__ import annotations

from dms_classify import service
from dms_classify.bootstrap import ClassifyApp
from dms_common.bus.consumer import Handler
from dms_common.db.uow import UnitOfWork
from dms_common.events import DocumentReceived, DocumentRetracted, Event, Topic
from dms_common.identity.projection import apply_identity_changed


def build_handlers(app: ClassifyApp) -> dict[str, Handler]:
    """The worker's handler for each consumed topic."""

    async def handle_received(event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, DocumentReceived)
        await service.receive_document(uow=uow, store=app.core.store, event=event,
                                       limits=app.limits, sandbox=app.sandbox)

    async def handle_retracted(event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, DocumentRetracted)
        await service.retract_document(uow=uow, event=event)

    return {
        Topic.RECEIVED.value: handle_received,
        Topic.RETRACTED.value: handle_retracted,
        Topic.IDENTITY_CHANGED.value: apply_identity_changed,
    }
