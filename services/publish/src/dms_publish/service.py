"""Use cases of the publish service: merging decisions into publications, and reading them.

Functions take keyword-only arguments and work inside the caller's unit of work;
they never commit on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, extract, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert

from dms_common.db.uow import Actor, UnitOfWork
from dms_common.errors import ApiError
from dms_common.events import (
    DocumentClassified,
    DocumentEvent,
    DocumentPublished,
    DocumentPublishedPayload,
    DocumentReceived,
    DocumentRetracted,
    DocumentWithdrawn,
    DocumentWithdrawnPayload,
    IdentityKind,
    KipCategory,
)
from dms_publish import webhooks
from dms_publish.listing import NO_DATE, Cursor, SortKey, decode_cursor, encode_cursor
from dms_publish.models import Publication
from dms_publish.projection import (
    Change,
    PublicationState,
    merge_classified,
    merge_received,
    merge_retracted,
    new_row,
)

_SYSTEM = Actor.system("publish")
WITHDRAWN_REASON = "dikecualikan"
# A fixed word, not the uploader's own reason: webhook subscribers outside DMS receive it.
RETRACTED_REASON = "ditarik"
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


async def apply_retraction(*, uow: UnitOfWork, event: DocumentRetracted) -> Change:
    """Merge the uploader's retraction: never publish the document, withdraw it if public."""
    row = await _lock_row(uow, event)
    change = merge_retracted(row, event, now=datetime.now(UTC))
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
        emitted = await uow.emit(DocumentPublished.build(
            document_id=row.document_id, version=row.version, office_code=row.office_code,
            payload=DocumentPublishedPayload(publication_id=row.publication_id,
                                             public_object_key=row.public_object_key)))
        action, reason = "publish", None
    else:
        reason = RETRACTED_REASON if change is Change.RETRACTED else WITHDRAWN_REASON
        emitted = await uow.emit(DocumentWithdrawn.build(
            document_id=row.document_id, version=row.version, office_code=row.office_code,
            payload=DocumentWithdrawnPayload(publication_id=row.publication_id,
                                             public_object_key=row.public_object_key,
                                             reason=reason)))
        action = "withdraw"
    await uow.audit(actor=_SYSTEM, action=action, subject_type="document",
                    subject_id=row.document_id, reason=reason, office_code=row.office_code,
                    detail={"publication_id": str(row.publication_id),
                            "decision_id": str(row.decision_id) if row.decision_id else None,
                            "version": row.version, "public_object_key": row.public_object_key})
    await webhooks.enqueue(uow=uow, event=emitted, row=row)


# --- reading --------------------------------------------------------------------------------

@dataclass(frozen=True)
class DocumentFilter:
    """What the public list is narrowed to; every field optional."""

    office: str | None = None
    category: KipCategory | None = None
    division_id: UUID | None = None
    year: int | None = None
    document_type: str | None = None


def _published() -> Select[Any]:
    return select(Publication).where(Publication.state == PublicationState.PUBLISHED.value)


def _sort_column(sort: SortKey) -> ColumnElement[Any]:
    if sort.column == "document_date":
        return func.coalesce(Publication.document_date, literal(NO_DATE))
    if sort.column == "title":
        return Publication.title  # type: ignore[return-value]
    return Publication.published_at  # type: ignore[return-value]


def _filtered(stmt: Select[Any], where: DocumentFilter) -> Select[Any]:
    if where.office:
        stmt = stmt.where(Publication.office_code == where.office)
    if where.category is not None:
        stmt = stmt.where(Publication.kip_category == where.category.value)
    if where.division_id is not None:
        stmt = stmt.where(Publication.division_id == where.division_id)
    if where.document_type:
        stmt = stmt.where(Publication.document_type == where.document_type)
    if where.year is not None:
        stmt = stmt.where(publication_year() == where.year)
    return stmt


def publication_year() -> ColumnElement[Any]:
    """The year a publication belongs to: its document's date, else when it was published."""
    return func.coalesce(extract("year", Publication.document_date),
                         extract("year", func.timezone("Asia/Makassar",
                                                       Publication.published_at)))


async def list_publications(*, uow: UnitOfWork, where: DocumentFilter | None = None,
                            sort: SortKey = SortKey.NEWEST, limit: int = 20,
                            cursor: str | None = None) -> PublicationPage:
    """List published documents, filtered and sorted, one keyset page at a time."""
    stmt = _filtered(_published(), where or DocumentFilter())
    column = _sort_column(sort)
    if cursor:
        try:
            after = decode_cursor(cursor, sort)
        except ValueError:
            raise ApiError(422, "invalid_cursor", "Kursor halaman tidak valid.") from None
        pair, bound = tuple_(column, Publication.document_id), tuple_(
            literal(after.value), literal(after.document_id))
        stmt = stmt.where(pair < bound if sort.descending else pair > bound)
    if sort.descending:
        stmt = stmt.order_by(column.desc(), Publication.document_id.desc())
    else:
        stmt = stmt.order_by(column.asc(), Publication.document_id.asc())
    rows = list((await uow.session.execute(stmt.limit(limit + 1))).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _cursor_after(rows[-1], sort)
    return PublicationPage(items=rows, next_cursor=next_cursor)


def _cursor_after(row: Publication, sort: SortKey) -> str:
    value: datetime | date | str
    if sort.column == "document_date":
        value = row.document_date or NO_DATE
    elif sort.column == "title":
        value = row.title
    else:
        assert row.published_at is not None
        value = row.published_at
    return encode_cursor(sort, value, row.document_id)


async def get_publication(*, uow: UnitOfWork, document_id: UUID) -> Publication:
    """Return a published document, or answer 404 for anything else."""
    row: Publication | None = (await uow.session.execute(
        _published().where(Publication.document_id == document_id))).scalar_one_or_none()
    if row is None:
        raise ApiError.not_found(NOT_PUBLISHED)
    return row


async def count_publications(*, uow: UnitOfWork,
                             office: str | None = None) -> dict[KipCategory, int]:
    """Count published documents per public category (zero included)."""
    stmt = (select(Publication.kip_category, func.count())
            .where(Publication.state == PublicationState.PUBLISHED.value)
            .group_by(Publication.kip_category))
    if office:
        stmt = stmt.where(Publication.office_code == office)
    counts = {category: 0 for category in KipCategory if category.is_public}
    for category, count in await uow.session.execute(stmt):
        if category is not None and KipCategory(category) in counts:
            counts[KipCategory(category)] = int(count)
    return counts


async def list_for_register(*, uow: UnitOfWork, office: str | None = None,
                            category: KipCategory | None = None) -> list[Publication]:
    """Every published document for the DIP, by office, category and publication time."""
    stmt = _filtered(_published(), DocumentFilter(office=office, category=category))
    stmt = stmt.order_by(Publication.office_code, Publication.kip_category,
                         Publication.published_at, Publication.document_id)
    return list((await uow.session.execute(stmt)).scalars())


@dataclass(frozen=True)
class Exemption:
    """The public face of an exemption: what the DIK may show, and nothing else."""

    office_code: str
    public_description: str | None
    legal_basis: str | None
    consequence: str | None
    exempt_until: date | None
    decided_at: datetime | None


async def list_exemptions(*, uow: UnitOfWork, office: str | None = None) -> list[Exemption]:
    """Every standing exemption for the DIK (withheld or withdrawn), oldest decision first."""
    # Only these columns are read: title, filename and keys never leave the database here.
    stmt = (select(Publication.office_code, Publication.exempt_public_description,
                   Publication.legal_basis, Publication.exempt_consequence,
                   Publication.exempt_until, Publication.decided_at)
            .where(Publication.kip_category == KipCategory.DIKECUALIKAN.value,
                   Publication.state.in_([PublicationState.WITHHELD.value,
                                          PublicationState.WITHDRAWN.value]),
                   func.coalesce(Publication.approval_state, "") != "rejected")
            .order_by(Publication.office_code, Publication.decided_at, Publication.document_id))
    if office:
        stmt = stmt.where(Publication.office_code == office)
    return [Exemption(*row) for row in await uow.session.execute(stmt)]


@dataclass(frozen=True)
class Statistics:
    total: int
    by_office: dict[str, int]
    by_category: dict[str, int]
    by_division: dict[str, int]
    by_month: dict[str, int]
    by_office_month: dict[str, dict[str, int]]


async def statistics(*, uow: UnitOfWork, office: str | None = None) -> Statistics:
    """Count publications by office, category, division and month (WITA)."""
    month = func.to_char(func.timezone("Asia/Makassar", Publication.published_at), "YYYY-MM")
    base = select(Publication.office_code, Publication.kip_category, Publication.division_id,
                  month.label("month"), func.count().label("n")).where(
        Publication.state == PublicationState.PUBLISHED.value)
    if office:
        base = base.where(Publication.office_code == office)
    base = base.group_by(Publication.office_code, Publication.kip_category,
                         Publication.division_id, month)
    stats = Statistics(0, {}, {}, {}, {}, {})
    total = 0
    for office_code, category, division, at, n in await uow.session.execute(base):
        count = int(n)
        total += count
        _add(stats.by_office, office_code, count)
        _add(stats.by_category, category or "-", count)
        _add(stats.by_division, str(division) if division else "-", count)
        _add(stats.by_month, at, count)
        _add(stats.by_office_month.setdefault(office_code, {}), at, count)
    return Statistics(total, stats.by_office, stats.by_category, stats.by_division,
                      dict(sorted(stats.by_month.items())),
                      {k: dict(sorted(v.items())) for k, v in stats.by_office_month.items()})


def _add(counts: dict[str, int], key: str, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


async def _names(uow: UnitOfWork, kind: IdentityKind, key: str) -> dict[str, str]:
    table = uow.tables.identities
    rows = await uow.session.execute(
        select(table.c.fields).where(table.c.kind == kind.value, table.c.disabled.is_(False)))
    names: dict[str, str] = {}
    for (fields,) in rows:
        code, name = fields.get(key), fields.get("name")
        if isinstance(code, str) and isinstance(name, str):
            names[code] = name
    return names


async def name_offices(*, uow: UnitOfWork) -> dict[str, str]:
    """Map office codes to names, from the identity projection."""
    return await _names(uow, IdentityKind.OFFICE, "code")


async def name_divisions(*, uow: UnitOfWork) -> dict[str, str]:
    """Map division ids to names, from the identity projection (the entity id is the id)."""
    table = uow.tables.identities
    rows = await uow.session.execute(
        select(table.c.entity_id, table.c.fields).where(
            table.c.kind == IdentityKind.DIVISION.value))
    return {str(entity_id): str(fields.get("name") or entity_id) for entity_id, fields in rows}


async def known_offices(*, uow: UnitOfWork) -> dict[str, str]:
    """Offices the portal can show: named ones plus any that has a publication."""
    names = await name_offices(uow=uow)
    codes = (await uow.session.execute(
        select(Publication.office_code).where(
            Publication.state == PublicationState.PUBLISHED.value).distinct())).scalars()
    for code in codes:
        names.setdefault(code, f"Kantor {code}")
    return dict(sorted(names.items()))


__all__ = ["Cursor", "DocumentFilter", "Exemption", "PublicationPage", "Statistics"]
