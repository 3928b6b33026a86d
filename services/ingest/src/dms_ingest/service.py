"""Ingest's document use cases: receiving documents and versions, their status."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import CTE, Boolean, Executable, Table, bindparam, insert, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from dms_common.db.tables import CoreTables
from dms_common.db.uow import Actor, UnitOfWork, audit_row
from dms_common.events import (
    DocumentReceived,
    DocumentReceivedPayload,
    DocumentRetracted,
    DocumentRetractedPayload,
    Event,
)
from dms_common.identity.tokens import Role
from dms_ingest.models import Document, DocumentVersion


@dataclass(frozen=True)
class NewDocument:
    document_id: uuid.UUID
    office_code: str
    title: str
    description: str
    division_id: uuid.UUID | None
    document_date: date | None
    tags: list[str]
    filename: str
    content_type: str
    size: int
    sha256: str
    object_key: str


class DuplicateContent(Exception):
    """The office already holds this exact content (and keeping both was not asked for)."""

    def __init__(self, document_id: uuid.UUID) -> None:
        super().__init__(f"same content as document {document_id}")
        self.document_id = document_id


_DOCUMENT_COLUMNS = ("id", "office_code", "division_id", "title", "description", "document_date",
                     "tags", "uploader_id", "current_version", "status", "status_seqs",
                     "created_at", "updated_at")
_VERSION_COLUMNS = ("id", "document_id", "version", "office_code", "filename", "content_type",
                    "size", "sha256", "object_key", "uploader_id", "created_at")
_SEQ_COLUMNS = ("stream_id", "seq")
_OUTBOX_COLUMNS = ("event_id", "topic", "key", "value", "correlation_id")
_AUDIT_COLUMNS = ("actor_id", "actor_role", "office_code", "action", "subject_type",
                  "subject_id", "reason", "detail", "client_ip", "correlation_id")


@functools.cache
def _receive_statement(tables: CoreTables) -> Executable:
    """Everything receiving a document writes, as one statement: one round trip, not eight.

    The five inserts (document, version, the stream's event counter, outbox, audit) are
    data-modifying CTEs of one SELECT, which returns the office's document that already has this
    content, if any. Each insert only happens when keeping both was asked for or there is no
    such document, so a refused duplicate writes nothing. Built once: each upload only binds
    parameters.
    """
    versions = cast(Table, DocumentVersion.__table__)
    duplicate = (select(versions.c.document_id)
                 .where(versions.c.office_code == bindparam("office_code"),
                        versions.c.sha256 == bindparam("sha256"))
                 .limit(1).cte("duplicate"))
    wanted = or_(bindparam("keep_both", type_=Boolean()),
                 ~select(duplicate.c.document_id).exists())

    def insert_if_wanted(table: Table, prefix: str, columns: tuple[str, ...]) -> CTE:
        # Cast, and typed: in INSERT ... SELECT nothing else tells PostgreSQL a parameter's type.
        values = [sql_cast(bindparam(prefix + name, type_=table.c[name].type), table.c[name].type)
                  for name in columns]
        return (insert(table).from_select(list(columns), select(*values).where(wanted))
                .cte(f"{table.name}_row"))

    return select(duplicate.c.document_id).add_cte(
        insert_if_wanted(cast(Table, Document.__table__), "document_", _DOCUMENT_COLUMNS),
        insert_if_wanted(versions, "version_", _VERSION_COLUMNS),
        insert_if_wanted(tables.event_seq, "seq_", _SEQ_COLUMNS),
        insert_if_wanted(tables.outbox, "outbox_", _OUTBOX_COLUMNS),
        insert_if_wanted(tables.audit_log, "audit_", _AUDIT_COLUMNS))


def _prefixed(prefix: str, row: dict[str, Any]) -> dict[str, Any]:
    return {prefix + name: value for name, value in row.items()}


async def receive_document(*, uow: UnitOfWork, new: NewDocument, actor: Actor,
                           keep_both: bool = False) -> Document:
    """Record an uploaded document and its first version, and announce it.

    Raises DuplicateContent, having written nothing, when the office already holds a document
    with this content and `keep_both` is false. The whole write is one statement, run alone.
    """
    assert actor.user_id is not None
    now = datetime.now(UTC)
    document = Document(
        id=new.document_id, office_code=new.office_code, division_id=new.division_id,
        title=new.title, description=new.description, document_date=new.document_date,
        tags=new.tags, uploader_id=actor.user_id, current_version=1, status="received",
        kip_category=None, status_seqs={}, created_at=now, updated_at=now, retracted_at=None,
        retracted_by=None)
    event = uow.first_event_row(DocumentReceived.build(
        document_id=new.document_id, version=1, office_code=new.office_code,
        payload=DocumentReceivedPayload(
            title=new.title, description=new.description, division_id=new.division_id,
            document_date=new.document_date, tags=new.tags, filename=new.filename,
            content_type=new.content_type, size=new.size, sha256=new.sha256,
            object_key=new.object_key, uploader_id=actor.user_id)))
    audit = audit_row(actor=actor, action="upload", subject_type="document",
                      subject_id=new.document_id, office_code=new.office_code,
                      detail={"filename": new.filename, "size": new.size, "sha256": new.sha256})
    # The returned object is not attached to the session.
    duplicate = (await uow.execute_alone(_receive_statement(uow.tables), {
        "office_code": new.office_code, "sha256": new.sha256, "keep_both": keep_both,
        **_prefixed("document_", {name: getattr(document, name) for name in _DOCUMENT_COLUMNS}),
        **_prefixed("version_", {
            "id": uuid.uuid4(), "document_id": new.document_id, "version": 1,
            "office_code": new.office_code, "filename": new.filename,
            "content_type": new.content_type, "size": new.size, "sha256": new.sha256,
            "object_key": new.object_key, "uploader_id": actor.user_id, "created_at": now}),
        "seq_stream_id": new.document_id, "seq_seq": 1,
        **_prefixed("outbox_", event),
        **_prefixed("audit_", audit),
    })).scalar()
    if duplicate is not None and not keep_both:
        raise DuplicateContent(duplicate)
    return document


# --- the status read-model ----------------------------------------------------

STATUS_BY_EVENT = {
    "dms.document.extracted": None,  # depends on ok
    "dms.document.classified": "classified",
    "dms.document.published": "published",
    "dms.document.withdrawn": "withdrawn",
}


def derive_status(seqs: dict[str, int], extracted_ok: bool | None, category: str | None) -> str:
    """The document's status from the newest event of each source, not arrival order."""
    published = seqs.get("dms.document.published", 0)
    withdrawn = seqs.get("dms.document.withdrawn", 0)
    if published or withdrawn:
        return "published" if published > withdrawn else "withdrawn"
    if seqs.get("dms.document.classified"):
        return "withheld" if category == "dikecualikan" else "classified"
    if seqs.get("dms.document.extracted"):
        return "extracted" if extracted_ok else "extraction_failed"
    return "received"


async def apply_status_event(*, uow: UnitOfWork, event: Event) -> None:
    """Merge another service's event into the document's status."""
    from dms_common.events import DocumentClassified, DocumentEvent, DocumentExtracted

    assert isinstance(event, DocumentEvent)
    document = await uow.session.get(Document, event.document_id, with_for_update=True)
    if document is None or event.version < document.current_version:
        return
    if document.retracted_at is not None:
        return  # retracted by its uploader: the later steps no longer speak for it
    seqs = dict(document.status_seqs or {})
    if event.seq <= seqs.get(event.event_type, 0):
        return
    seqs[event.event_type] = event.seq
    if isinstance(event, DocumentExtracted):
        seqs["extracted_ok"] = int(event.payload.ok)
    if isinstance(event, DocumentClassified):
        document.kip_category = event.payload.kip_category.value
    document.status_seqs = seqs
    extracted_ok = bool(seqs["extracted_ok"]) if "extracted_ok" in seqs else None
    document.status = derive_status(seqs, extracted_ok, document.kip_category)
    document.updated_at = datetime.now(UTC)


UNREVIEWED = frozenset({"received", "extracted", "extraction_failed"})


class DocumentConflict(Exception):
    """The document's state does not allow the act (answered with 409)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class NewVersion:
    document_id: uuid.UUID
    version: int
    filename: str
    content_type: str
    size: int
    sha256: str
    object_key: str


async def add_version(*, uow: UnitOfWork, new: NewVersion, actor: Actor) -> Document:
    """Record a new version that supersedes the current one and sends the document to review."""
    assert actor.user_id is not None
    document = await uow.session.get(Document, new.document_id, with_for_update=True)
    if document is None:
        raise DocumentConflict("not_found", "Dokumen tidak ditemukan.")
    if document.retracted_at is not None:
        raise DocumentConflict("retracted", "Dokumen sudah ditarik; unggah sebagai dokumen baru.")
    if document.current_version + 1 != new.version:
        raise DocumentConflict("version_conflict", "Versi baru lain baru saja diunggah; "
                               "muat ulang dokumen lalu coba lagi.")
    current = (await uow.session.execute(select(DocumentVersion).where(
        DocumentVersion.document_id == document.id,
        DocumentVersion.version == document.current_version))).scalar_one()
    if current.sha256 == new.sha256:
        raise DocumentConflict("same_content", "Isi berkas sama dengan versi terakhir "
                               f"(versi {current.version}).")
    uow.session.add(DocumentVersion(
        id=uuid.uuid4(), document_id=document.id, version=new.version,
        office_code=document.office_code, filename=new.filename,
        content_type=new.content_type, size=new.size, sha256=new.sha256,
        object_key=new.object_key, uploader_id=actor.user_id))
    # The new version starts its review from the beginning; events about older versions are
    # ignored by version, so the per-source seqs start afresh.
    document.current_version = new.version
    document.status = "received"
    document.kip_category = None
    document.status_seqs = {}
    document.updated_at = datetime.now(UTC)
    await uow.session.flush()
    await uow.emit(DocumentReceived.build(
        document_id=document.id, version=new.version, office_code=document.office_code,
        payload=DocumentReceivedPayload(
            title=document.title, description=document.description,
            division_id=document.division_id, document_date=document.document_date,
            tags=list(document.tags or []), filename=new.filename,
            content_type=new.content_type, size=new.size, sha256=new.sha256,
            object_key=new.object_key, uploader_id=actor.user_id)))
    await uow.audit(actor=actor, action="upload_version", subject_type="document",
                    subject_id=document.id, office_code=document.office_code,
                    detail={"version": new.version, "filename": new.filename,
                            "size": new.size, "sha256": new.sha256,
                            "supersedes": current.version})
    return document


def may_retract(document: Document, *, user_id: uuid.UUID, role: Role) -> bool:
    """The uploader, or an admin of the document's office, may retract."""
    return document.uploader_id == user_id or role is Role.OFFICE_ADMIN


async def retract_document(*, uow: UnitOfWork, document_id: uuid.UUID, reason: str,
                           actor: Actor) -> Document:
    """Take a document that has not been reviewed yet out of the review queue."""
    assert actor.user_id is not None
    document = await uow.session.get(Document, document_id, with_for_update=True)
    if document is None:
        raise DocumentConflict("not_found", "Dokumen tidak ditemukan.")
    if document.retracted_at is not None:
        raise DocumentConflict("retracted", "Dokumen sudah ditarik.")
    if document.status not in UNREVIEWED:
        raise DocumentConflict("already_reviewed", "Dokumen sudah ditinjau (status "
                               f"{document.status}) dan tidak dapat ditarik lagi.")
    retracted_at = datetime.now(UTC)
    document.retracted_at = retracted_at
    document.retracted_by = actor.user_id
    document.status = "retracted"
    document.updated_at = retracted_at
    # The other services hold the document too: tell them, with the seq `received` counts on.
    await uow.emit(DocumentRetracted.build(
        document_id=document.id, version=document.current_version,
        office_code=document.office_code,
        payload=DocumentRetractedPayload(reason=reason, retracted_by=actor.user_id,
                                         retracted_at=retracted_at)))
    await uow.audit(actor=actor, action="retract", subject_type="document",
                    subject_id=document.id, office_code=document.office_code, reason=reason,
                    detail={"version": document.current_version})
    return document


async def document_history(*, session: AsyncSession, tables: CoreTables,
                           document_id: uuid.UUID) -> list[dict[str, Any]]:
    """The audit entries about one document, oldest first."""
    audit = tables.audit_log
    rows = (await session.execute(
        select(audit.c.occurred_at, audit.c.action, audit.c.actor_id, audit.c.actor_role,
               audit.c.reason, audit.c.detail)
        .where(audit.c.subject_type == "document", audit.c.subject_id == str(document_id))
        .order_by(audit.c.occurred_at, audit.c.id).limit(500))).all()
    return [dict(row._mapping) for row in rows]
