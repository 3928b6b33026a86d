"""Use cases of the publish service: merging decisions into publications, and reading them.

Functions take keyword-only arguments and work inside the caller's unit of work;
they never commit on their own.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert

from dms_common.db.uow import Actor, UnitOfWork
from dms_common.errors import ApiError
from dms_common.events import (
    DocumentClassified,
    DocumentEvent,
    DocumentPublished,
    DocumentPublishedPayload,
    DocumentReceived,
    DocumentWithdrawn,
    DocumentWithdrawnPayload,
    IdentityKind,
    KipCategory,
)
from dms_publish.models import Publication
from dms_publish.projection import (
    Change,
    PublicationState,
    merge_classified,
    merge_received,
    new_row,
)

_SYSTEM = Actor.system("publish")
WITHDRAWN_REASON = "dikecualikan"
NOT_PUBLISHED = "Dokumen tidak ditemukan atau tidak dipublikasikan."


@dataclass(frozen=True)
class PublicationPage:
    items: list[Publication]
    next_cursor: str | None


# --- merging events -------------------------------------------------------------------------

async def record_upload(*, uow: UnitOfWork, event: DocumentReceived) -> Change:
    """Merge a received document's file facts into its publications row."""
    row = await _lock_row(uow, event)
    change = merge_received(row, event)
    await _announce(uow, row, change)
    return change


async def apply_decision(*, uow: UnitOfWork, event: DocumentClassified) -> Change:
    """Merge a classification decision and publish, withhold or withdraw accordingly."""
    row = await _lock_row(uow, event)
    change = merge_classified(row, event, now=datetime.now(UTC))
    await _announce(uow, row, change)
    return change


async def _lock_row(uow: UnitOfWork, event: DocumentEvent) -> Publication:
    # Insert-if-missing, then lock: events of two topics for one document may be
    # handled at the same moment by two consumers of the group.
    blank = new_row(event.document_id, event.office_code, event.version)
    await uow.session.execute(
        pg_insert(Publication).values(
            document_id=blank.document_id, office_code=blank.office_code, version=blank.version,
            title=blank.title, state=blank.state, received_seq=blank.received_seq,
            classified_seq=blank.classified_seq)
        .on_conflict_do_nothing(index_elements=[Publication.document_id]))
    return (await uow.session.execute(
        select(Publication).where(Publication.document_id == event.document_id)
        .with_for_update())).scalar_one()


async def _announce(uow: UnitOfWork, row: Publication, change: Change) -> None:
    if change is Change.NONE:
        return
    assert row.publication_id is not None and row.public_object_key is not None
    if change is Change.PUBLISHED:
        await uow.emit(DocumentPublished.build(
            document_id=row.document_id, version=row.version, office_code=row.office_code,
            payload=DocumentPublishedPayload(publication_id=row.publication_id,
                                             public_object_key=row.public_object_key)))
        action, reason = "publish", None
    else:
        await uow.emit(DocumentWithdrawn.build(
            document_id=row.document_id, version=row.version, office_code=row.office_code,
            payload=DocumentWithdrawnPayload(publication_id=row.publication_id,
                                             public_object_key=row.public_object_key,
                                             reason=WITHDRAWN_REASON)))
        action, reason = "withdraw", WITHDRAWN_REASON
    await uow.audit(actor=_SYSTEM, action=action, subject_type="document",
                    subject_id=row.document_id, reason=reason, office_code=row.office_code,
                    detail={"publication_id": str(row.publication_id),
                            "decision_id": str(row.decision_id) if row.decision_id else None,
                            "version": row.version, "public_object_key": row.public_object_key})


# --- reading --------------------------------------------------------------------------------

def encode_cursor(published_at: datetime, document_id: UUID) -> str:
    """Make the opaque cursor that continues a list after this publication."""
    raw = f"{published_at.isoformat()}|{document_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """Read a cursor made by `encode_cursor`; ValueError if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, document_id = raw.partition("|")
        published_at = datetime.fromisoformat(at)
        if published_at.tzinfo is None:
            raise ValueError("cursor time without zone")
        return published_at, UUID(document_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("invalid cursor") from exc


def _published() -> Select[Publication]:
    return select(Publication).where(Publication.state == PublicationState.PUBLISHED.value)


async def list_publications(*, uow: UnitOfWork, office: str | None = None,
                            category: KipCategory | None = None, limit: int = 20,
                            cursor: str | None = None) -> PublicationPage:
    """List published documents, newest first."""
    stmt = _published()
    if office:
        stmt = stmt.where(Publication.office_code == office)
    if category is not None:
        stmt = stmt.where(Publication.kip_category == category.value)
    if cursor:
        try:
            after = decode_cursor(cursor)
        except ValueError:
            raise ApiError(422, "invalid_cursor", "Kursor halaman tidak valid.") from None
        stmt = stmt.where(tuple_(Publication.published_at, Publication.document_id)
                          < tuple_(*after))
    stmt = stmt.order_by(Publication.published_at.desc(),
                         Publication.document_id.desc()).limit(limit + 1)
    rows = list((await uow.session.execute(stmt)).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        assert last.published_at is not None
        next_cursor = encode_cursor(last.published_at, last.document_id)
    return PublicationPage(items=rows, next_cursor=next_cursor)


async def get_publication(*, uow: UnitOfWork, document_id: UUID) -> Publication:
    """Return a published document, or answer 404 for anything else."""
    row = (await uow.session.execute(
        _published().where(Publication.document_id == document_id))).scalar_one_or_none()
    if row is None:
        raise ApiError.not_found(NOT_PUBLISHED)
    return row


async def count_publications(*, uow: UnitOfWork) -> dict[KipCategory, int]:
    """Count published documents per public category (zero included)."""
    rows = await uow.session.execute(
        select(Publication.kip_category, func.count())
        .where(Publication.state == PublicationState.PUBLISHED.value)
        .group_by(Publication.kip_category))
    counts = {category: 0 for category in KipCategory if category.is_public}
    for category, count in rows:
        if category is not None and KipCategory(category) in counts:
            counts[KipCategory(category)] = int(count)
    return counts


async def name_offices(*, uow: UnitOfWork) -> dict[str, str]:
    """Map office codes to names, from the identity projection."""
    table = uow.tables.identities
    rows = await uow.session.execute(
        select(table.c.fields).where(table.c.kind == IdentityKind.OFFICE.value))
    names: dict[str, str] = {}
    for (fields,) in rows:
        code, name = fields.get("code"), fields.get("name")
        if isinstance(code, str) and isinstance(name, str):
            names[code] = name
    return names
