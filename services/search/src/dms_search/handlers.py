"""Event → use case: what the search worker does with each topic it consumes.

The handlers need the index and the object store besides the unit of work the
consumer passes, so the dict is built once per process from the composition
root rather than declared at import time.
"""

from __future__ import annotations

from dms_common.bus.consumer import Handler
from dms_common.db.uow import UnitOfWork
from dms_common.events import DocumentEvent, Event, Topic
from dms_common.identity.projection import apply_identity_changed
from dms_search import service
from dms_search.bootstrap import SearchApp


def build_handlers(app: SearchApp) -> dict[str, Handler]:
    """The search worker's handler for each consumed topic."""

    async def handle_document_event(event: Event, uow: UnitOfWork) -> None:
        if not isinstance(event, DocumentEvent):  # pragma: no cover - topics carry their type
            raise TypeError(f"not a document event: {event.event_type}")
        await service.apply_document_event(
            uow=uow, event=event, index=app.index, store=app.core.store,
            text_limit=app.settings.search_text_max_bytes)

    return {
        Topic.RECEIVED.value: handle_document_event,
        Topic.EXTRACTED.value: handle_document_event,
        Topic.CLASSIFIED.value: handle_document_event,
        Topic.PUBLISHED.value: handle_document_event,
        Topic.WITHDRAWN.value: handle_document_event,
        Topic.RETRACTED.value: handle_document_event,
        Topic.IDENTITY_CHANGED.value: apply_identity_changed,
    }
