"""Use cases of the search service: keep the projection and the indices, answer searches."""

from __future__ import annotations

import codecs
import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dms_common.db.tables import CoreTables
from dms_common.db.uow import UnitOfWork
from dms_common.events import DocumentEvent
from dms_common.identity.tokens import Principal, Role
from dms_common.storage import ObjectNotFound, ObjectStore
from dms_search import projection
from dms_search.index import IndexKind, SearchIndex, internal_body, public_body
from dms_search.models import SearchDocument
from dms_search.projection import DocumentStatus
from dms_search.query import (
    PUBLIC_FACETS,
    Page,
    Scope,
    SearchRequest,
    Suggestion,
    build_search,
    build_suggest,
    read_page,
    read_suggestions,
)

log = logging.getLogger(__name__)

PUBLIC_SCOPE = Scope(statuses=frozenset({DocumentStatus.PUBLISHED.value}))
INTERNAL_FACETS = (*PUBLIC_FACETS, "status")


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


async def document_body(*, document: SearchDocument, kind: IndexKind, store: ObjectStore,
                        text_limit: int) -> dict[str, Any] | None:
    """The whole document as index `kind` holds it; None when it does not belong there."""
    if kind is IndexKind.INTERNAL:
        return await internal_document_body(document=document, store=store,
                                            text_limit=text_limit)
    if not document.published:
        return None
    # Only the redacted text where a redaction exists (projection.public_text_key).
    text = await read_text(store=store, key=projection.public_text_key(document),
                           limit=text_limit)
    return public_body(document, text)


async def internal_document_body(*, document: SearchDocument, store: ObjectStore,
                                 text_limit: int) -> dict[str, Any]:
    """The whole document as the internal index holds it: every status, the full text."""
    text = await read_text(store=store, key=document.text_key, limit=text_limit)
    return internal_body(document, text)


async def index_document(*, document: SearchDocument, index: SearchIndex, store: ObjectStore,
                         text_limit: int) -> None:
    """Write the whole document to the internal index, and to the public one only if public."""
    internal = await internal_document_body(document=document, store=store,
                                            text_limit=text_limit)
    if document.published:
        public_key = projection.public_text_key(document)
        # Most published documents have no redaction: their text is read once.
        text = (internal["text"] if public_key == document.text_key
                else await read_text(store=store, key=public_key, limit=text_limit))
        await index.put(IndexKind.PUBLIC, document.document_id, public_body(document, text),
                        document.revision)
    elif document.published_seq > 0:
        # Only a document that has had a publication can be in the public index.
        await index.remove(IndexKind.PUBLIC, document.document_id, document.revision)
    await index.put(IndexKind.INTERNAL, document.document_id, internal, document.revision)


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
    return read_page(response, request, facets=PUBLIC_FACETS)


def internal_scope(actor: Principal) -> Scope:
    """Which documents a staff member may find: their office's, or every office's for PPID.

    The superadmin manages offices and accounts but reads no documents
    (DESIGN.md §1, separation of duties): no scope at all, even though the
    issue lists them beside ppid. Finding a title is reading it.
    """
    if actor.role is Role.PPID:
        return Scope()
    if actor.role in (Role.STAFF, Role.OFFICE_ADMIN):
        return Scope(offices=frozenset({actor.office_code}))
    raise NotAllowed(actor.role.value)


async def search_internal(*, index: SearchIndex, request: SearchRequest,
                          actor: Principal) -> Page:
    """Search every document, in any status, within the offices the actor may read."""
    body = build_search(request, internal_scope(actor), facets=INTERNAL_FACETS)
    response = await index.search(IndexKind.INTERNAL, body)
    return read_page(response, request, facets=INTERNAL_FACETS)


async def suggest_public(*, index: SearchIndex, prefix: str, limit: int) -> list[Suggestion]:
    """Suggest published titles for what has been typed so far."""
    response = await index.search(IndexKind.PUBLIC,
                                  build_suggest(prefix, PUBLIC_SCOPE, limit=limit))
    return read_suggestions(response)


async def suggest_internal(*, index: SearchIndex, prefix: str, limit: int,
                           actor: Principal) -> list[Suggestion]:
    """Suggest titles of any status within the offices the actor may read."""
    response = await index.search(IndexKind.INTERNAL,
                                  build_suggest(prefix, internal_scope(actor), limit=limit))
    return read_suggestions(response)


async def known_names(*, sessions: async_sessionmaker[AsyncSession],
                      tables: CoreTables) -> dict[str, dict[str, str]]:
    """Office and division names from the identity stream, for facet labels."""
    identities = tables.identities
    async with sessions() as session:
        rows = (await session.execute(
            select(identities.c.entity_id, identities.c.kind, identities.c.fields)
            .where(identities.c.kind.in_(["office", "division"])))).all()
    offices: dict[str, str] = {}
    divisions: dict[str, str] = {}
    for entity_id, kind, fields in rows:
        name = str(fields.get("name") or "")
        if kind == "office" and fields.get("code") and name:
            offices[str(fields["code"])] = name
        elif kind == "division" and name:
            divisions[str(entity_id)] = name
    return {"offices": offices, "divisions": divisions}
