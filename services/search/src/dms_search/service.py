"""Use cases of the search service: keep the projection and the indices, answer searches."""

from __future__ import annotations

import codecs
import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import cast

from sqlalchemy import select

from dms_common.db.uow import UnitOfWork
from dms_common.events import DocumentEvent
from dms_common.identity.tokens import Principal, Role
from dms_common.storage import ObjectNotFound, ObjectStore
from dms_search import projection
from dms_search.index import IndexKind, SearchIndex, internal_body, public_body
from dms_search.models import SearchDocument
from dms_search.projection import DocumentStatus
from dms_search.query import Page, Scope, SearchRequest, build_search, read_page

log = logging.getLogger(__name__)

PUBLIC_SCOPE = Scope(statuses=frozenset({DocumentStatus.PUBLISHED.value}))
INTERNAL_FACETS = ("office_code", "kip_category", "status")


class NotAllowed(Exception):
    """The user's role may not search documents at all."""


async def apply_document_event(*, uow: UnitOfWork, event: DocumentEvent, index: SearchIndex,
                               store: ObjectStore, text_limit: int) -> SearchDocument | None:
    """Merge a document event into its projection row and write the document to the indices.

    The index writes happen inside the unit of work, before it commits: if one
    fails, the row and the event's claim roll back together and the retried
    event redoes both; external versions make a repeated write harmless.
    Returns the row, or None when the event was not newer than what it holds.
    """
    document = (await uow.session.scalars(
        select(SearchDocument).where(SearchDocument.document_id == event.document_id)
        .with_for_update())).one_or_none()
    if document is None:
        document = projection.new_document(event.document_id, event.office_code)
        uow.session.add(document)
    if not projection.apply_event(document, event):
        return None
    # Surface any database error before OpenSearch is touched.
    await uow.session.flush()
    await index_document(document=document, index=index, store=store, text_limit=text_limit)
    return document


async def index_document(*, document: SearchDocument, index: SearchIndex, store: ObjectStore,
                         text_limit: int) -> None:
    """Write the whole document to the internal index, and to the public one only if public."""
    text = await read_text(store=store, key=document.text_key, limit=text_limit)
    if document.published:
        public_key = projection.public_text_key(document)
        public_text = (text if public_key == document.text_key
                       else await read_text(store=store, key=public_key, limit=text_limit))
        await index.put(IndexKind.PUBLIC, document.document_id,
                        public_body(document, public_text), document.revision)
    else:
        await index.remove(IndexKind.PUBLIC, document.document_id, document.revision)
    await index.put(IndexKind.INTERNAL, document.document_id, internal_body(document, text),
                    document.revision)


async def read_text(*, store: ObjectStore, key: str | None, limit: int) -> str:
    """Read up to `limit` bytes of a UTF-8 text object ("" when there is none)."""
    if not key or limit <= 0:
        return ""
    try:
        reader = await store.open(key)
    except ObjectNotFound:
        # The event names a text that is not there: index the metadata rather
        # than park every later event of the document.
        log.warning("text object missing; indexing without text", extra={"key": key})
        return ""
    # Incremental: a character cut at the limit is dropped, not turned into garbage.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    parts: list[str] = []
    remaining = limit
    # iterate() is an async generator: closed at once when we stop early.
    body = cast(AsyncGenerator[bytes, None], reader.iterate())
    async with reader, contextlib.aclosing(body) as chunks:
        async for chunk in chunks:
            parts.append(decoder.decode(chunk[:remaining]))
            remaining -= min(len(chunk), remaining)
            if remaining == 0:
                break
        else:
            parts.append(decoder.decode(b"", final=True))
    return "".join(parts)


async def search_public(*, index: SearchIndex, request: SearchRequest) -> Page:
    """Search the published documents, as anyone may."""
    response = await index.search(IndexKind.PUBLIC, build_search(request, PUBLIC_SCOPE))
    return read_page(response, request)


def internal_scope(actor: Principal) -> Scope:
    """Which documents a staff member may find: their office's, or every office's for PPID."""
    if actor.role is Role.PPID:
        return Scope()
    if actor.role in (Role.STAFF, Role.OFFICE_ADMIN):
        return Scope(offices=frozenset({actor.office_code}))
    # The superadmin manages accounts but reads no documents (DESIGN.md §1).
    raise NotAllowed(actor.role.value)


async def search_internal(*, index: SearchIndex, request: SearchRequest,
                          actor: Principal) -> Page:
    """Search every document, in any status, within the offices the actor may read."""
    body = build_search(request, internal_scope(actor), facets=INTERNAL_FACETS)
    response = await index.search(IndexKind.INTERNAL, body)
    return read_page(response, request)
