"""Use cases of the classify service. None of them commits: the caller's unit of work does."""

from __future__ import annotations

import base64
import binascii
import codecs
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, and_, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from dms_classify.extraction import (
    ExtractionFailed,
    ExtractionLimits,
    guess_language,
    table_json,
)
from dms_classify.findings import Finding, find_findings, summarise
from dms_classify.kip import LegalBasis, check_consequence_test, check_dip
from dms_classify.models import (
    AWAITING_REVIEW,
    ClassifierModel,
    Decision,
    DocumentStatus,
    OfficeSetting,
    Retraction,
    ReviewDocument,
)
from dms_classify.sandbox import ExtractionOutput, Sandbox, extract_object
from dms_classify.schemas import DecisionIn
from dms_classify.suggest import Suggestion, TextClassifier, suggest
from dms_common.db.uow import Actor, UnitOfWork
from dms_common.errors import ApiError
from dms_common.events import (
    DipFields,
    DocumentClassified,
    DocumentClassifiedPayload,
    DocumentExtracted,
    DocumentExtractedPayload,
    DocumentReceived,
    DocumentRetracted,
    FindingsSummary,
    KipCategory,
)
from dms_common.identity.deps import can_classify_office, can_read_office
from dms_common.identity.tokens import Principal, Role
from dms_common.storage import ObjectNotFound, ObjectStore, derived_key

log = logging.getLogger(__name__)

TEXT_OBJECT = "text.txt"
TABLE_OBJECT = "table.json"
TEXT_SAMPLE_CHARS = 20_000
# The per-office permission of the Atasan PPID.
APPROVE = "approve_exemption"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
_TEXT_CHUNK = 256 * 1024


# --- the worker: received -> extracted ------------------------------------------------------

async def receive_document(*, uow: UnitOfWork, store: ObjectStore, event: DocumentReceived,
                           limits: ExtractionLimits, sandbox: Sandbox | None = None) -> bool:
    """Merge a received version into its review row, extract it and suggest; False if stale."""
    await _lock_document(uow, event.document_id)
    if not await _merge_received(uow, event):
        return False
    if await _retracted_since(uow, event.document_id, event.seq):
        # The retraction overtook its upload: the row is kept, nothing is extracted.
        await uow.session.execute(
            update(ReviewDocument).where(ReviewDocument.document_id == event.document_id)
            .values(status=DocumentStatus.RETRACTED.value)
            .execution_options(synchronize_session=False))
        return False
    try:
        output = await extract_object(store=store, key=event.payload.object_key,
                                      content_type=event.payload.content_type, limits=limits,
                                      sandbox=sandbox)
    except ExtractionFailed as failure:
        log.info("extraction failed", extra={"document_id": str(event.document_id),
                                             "version": event.version, "reason": failure.reason})
        await _record_failure(uow, event, reason=failure.reason)
        return True
    keys = await _store_outputs(store, event, output)
    findings = find_findings(output.extracted.text)
    suggestion = suggest(
        title=event.payload.title, text=output.extracted.text, findings=findings,
        division_name=await division_name(uow, event.payload.division_id),
        model=await load_model(uow, event.office_code))
    await _record_extraction(uow, event, output=output, keys=keys, findings=findings,
                             suggestion=suggestion)
    return True


async def _lock_document(uow: UnitOfWork, document_id: UUID) -> None:
    """Serialise this transaction with others about the same document, row or no row yet.

    `received` and `retracted` come on different topics and may be handled at the
    same moment; without this, each could miss the other's uncommitted row.
    """
    await uow.lock(f"classify.document:{document_id}")


async def _retracted_since(uow: UnitOfWork, document_id: UUID, seq: int) -> bool:
    """Tell whether the uploader retracted the document after the upload of `seq`."""
    retracted_seq = (await uow.session.execute(
        select(Retraction.seq).where(Retraction.document_id == document_id))).scalar()
    return retracted_seq is not None and retracted_seq > seq


async def retract_document(*, uow: UnitOfWork, event: DocumentRetracted) -> bool:
    """Record the uploader's retraction and take the document out of review; False if stale.

    A document already decided keeps its decisions and nothing is announced
    again: publish learns of the retraction from the same event.
    """
    await _lock_document(uow, event.document_id)
    payload = event.payload
    values: dict[str, Any] = {
        "document_id": event.document_id, "version": event.version,
        "office_code": event.office_code, "seq": event.seq, "reason": payload.reason,
        "retracted_by": payload.retracted_by, "retracted_at": payload.retracted_at,
    }
    insert = pg_insert(Retraction).values(**values)
    applied = (await uow.session.execute(insert.on_conflict_do_update(
        index_elements=[Retraction.document_id],
        set_={name: insert.excluded[name] for name in values if name != "document_id"},
        where=Retraction.seq < insert.excluded.seq,
    ).returning(Retraction.document_id))).first()
    if applied is None:
        return False
    row = await uow.session.get(ReviewDocument, event.document_id, with_for_update=True)
    if row is not None and row.received_seq < event.seq:
        was = row.status
        row.status = DocumentStatus.RETRACTED.value
        row.flag = None
        row.flagged_at = None
        row.updated_at = datetime.now(UTC)
        if row.decision_id is not None:
            log.info("document retracted after its decision", extra={
                "document_id": str(row.document_id), "status": was,
                "decision_id": str(row.decision_id)})
    return True


@dataclass(frozen=True)
class _Keys:
    text: str
    table: str | None
    previews: list[str]


async def _store_outputs(store: ObjectStore, event: DocumentReceived,
                         output: ExtractionOutput) -> _Keys:
    def key(name: str) -> str:
        return derived_key(event.office_code, event.document_id, event.version, name)

    text_key = key(TEXT_OBJECT)
    await store.put_stream(text_key, _chunks(output.extracted.text.encode()),
                           content_type=TEXT_CONTENT_TYPE)
    table_key = None
    table = table_json(output.extracted)
    if table is not None:
        table_key = key(TABLE_OBJECT)
        await store.put_stream(table_key, _chunks(table), content_type="application/json")
    previews = []
    for index, png in enumerate(output.previews, start=1):
        preview_key = key(f"previews/page-{index}.png")
        await store.put_stream(preview_key, _chunks(png), content_type="image/png")
        previews.append(preview_key)
    return _Keys(text=text_key, table=table_key, previews=previews)


async def division_name(uow: UnitOfWork, division_id: UUID | None) -> str | None:
    """The division's name from the identity copy, if known."""
    if division_id is None:
        return None
    table = uow.tables.identities
    fields = (await uow.session.execute(
        select(table.c.fields).where(table.c.entity_id == division_id))).scalar_one_or_none()
    return str(fields.get("name")) if fields and fields.get("name") else None


async def load_model(uow: UnitOfWork, office_code: str) -> TextClassifier | None:
    """The office's learned classifier, if it has one."""
    row = await uow.session.get(ClassifierModel, office_code)
    if row is None:
        return None
    try:
        return TextClassifier.loads(row.model)
    except Exception:  # an unreadable model (library upgrade) is retrained, not fatal
        log.warning("could not load the office's classifier", extra={"office": office_code})
        return None


async def _merge_received(uow: UnitOfWork, event: DocumentReceived) -> bool:
    """Upsert the row from a received event unless it holds a newer one; True if applied."""
    payload = event.payload
    values: dict[str, Any] = {
        "document_id": event.document_id, "version": event.version,
        "office_code": event.office_code, "title": payload.title,
        "description": payload.description, "division_id": payload.division_id,
        "document_date": payload.document_date, "filename": payload.filename,
        "content_type": payload.content_type, "size": payload.size,
        "object_key": payload.object_key, "uploader_id": payload.uploader_id,
        "status": DocumentStatus.RECEIVED.value, "received_at": event.occurred_at,
        "updated_at": datetime.now(UTC), "received_seq": event.seq,
        # A new version supersedes everything derived from the old one and re-enters review.
        "text_key": None, "text_length": 0, "pages": None, "language": None,
        "extraction_reason": None, "extracted_at": None, "decision_id": None,
        "ocr_used": False, "text_sample": None, "preview_keys": None, "table_key": None,
        "findings": None, "suggestion": None, "flag": None, "flagged_at": None,
    }
    insert = pg_insert(ReviewDocument).values(**values)
    stmt = insert.on_conflict_do_update(
        index_elements=[ReviewDocument.document_id],
        set_={name: insert.excluded[name] for name in values if name != "document_id"},
        where=ReviewDocument.received_seq < insert.excluded.received_seq,
    ).returning(ReviewDocument.document_id)
    return (await uow.session.execute(stmt)).first() is not None


async def _record_failure(uow: UnitOfWork, event: DocumentReceived, *, reason: str) -> None:
    now = datetime.now(UTC)
    payload = DocumentExtractedPayload(ok=False, reason=reason)
    await uow.session.execute(
        update(ReviewDocument).where(ReviewDocument.document_id == event.document_id)
        .values(status=DocumentStatus.EXTRACTION_FAILED.value, extraction_reason=reason,
                extracted_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    await uow.emit(DocumentExtracted.build(
        document_id=event.document_id, version=event.version, office_code=event.office_code,
        payload=payload))


async def _record_extraction(uow: UnitOfWork, event: DocumentReceived, *,
                             output: ExtractionOutput, keys: _Keys, findings: list[Finding],
                             suggestion: Suggestion) -> None:
    now = datetime.now(UTC)
    extracted = output.extracted
    payload = DocumentExtractedPayload(
        ok=True, text_key=keys.text, text_length=len(extracted.text), pages=extracted.pages,
        language=guess_language(extracted.text), ocr_used=extracted.ocr_used,
        findings=FindingsSummary(counts=summarise(findings)))
    await uow.session.execute(
        update(ReviewDocument).where(ReviewDocument.document_id == event.document_id)
        .values(status=DocumentStatus.EXTRACTED.value, text_key=keys.text,
                text_length=payload.text_length, pages=payload.pages, language=payload.language,
                extraction_reason=None, extracted_at=now, updated_at=now,
                ocr_used=extracted.ocr_used, text_sample=extracted.text[:TEXT_SAMPLE_CHARS],
                preview_keys=keys.previews, table_key=keys.table,
                findings=[f.to_dict() for f in findings], suggestion=suggestion.to_dict())
        .execution_options(synchronize_session=False))
    await uow.emit(DocumentExtracted.build(
        document_id=event.document_id, version=event.version, office_code=event.office_code,
        payload=payload))


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), _TEXT_CHUNK):
        yield data[start:start + _TEXT_CHUNK]


# --- the review API -------------------------------------------------------------------------

@dataclass(frozen=True)
class QueuePage:
    items: list[ReviewDocument]
    next_cursor: str | None


@dataclass(frozen=True)
class QueueFilter:
    """Narrow the queue: by office (PPID), status, flag, suggested category or title words."""

    office_code: str | None = None
    status: str | None = None
    flagged: bool | None = None
    suggested: str | None = None
    q: str | None = None


def encode_cursor(row: ReviewDocument) -> str:
    raw = f"{row.received_at.isoformat()}|{row.document_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The (received_at, document_id) position a cursor stands for; 422 if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, document_id = raw.partition("|")
        return datetime.fromisoformat(at), UUID(document_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(422, "invalid_cursor", "Kursor halaman tidak valid.") from exc


def _awaiting_review(actor: Principal, filters: QueueFilter | None = None) -> ColumnElement[bool]:
    """The documents awaiting a decision that the actor may classify, narrowed by `filters`."""
    filters = filters or QueueFilter()
    statuses = [status.value for status in AWAITING_REVIEW]
    if filters.status is not None:
        statuses = [status for status in statuses if status == filters.status]
    clauses: list[ColumnElement[bool]] = [ReviewDocument.status.in_(statuses)]
    if actor.role is not Role.PPID:
        clauses.append(ReviewDocument.office_code == actor.office_code)
    if filters.office_code is not None:
        clauses.append(ReviewDocument.office_code == filters.office_code)
    if filters.flagged is True:
        clauses.append(ReviewDocument.flag.is_not(None))
    elif filters.flagged is False:
        clauses.append(ReviewDocument.flag.is_(None))
    if filters.suggested is not None:
        clauses.append(ReviewDocument.suggestion["kip_category"].astext == filters.suggested)
    if filters.q:
        words = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(ReviewDocument.title.ilike(f"%{words}%"))
    return and_(*clauses)


async def list_review_queue(*, uow: UnitOfWork, actor: Principal, limit: int,
                            cursor: str | None = None,
                            filters: QueueFilter | None = None) -> QueuePage:
    """List the documents awaiting the actor's decision, oldest first."""
    stmt = select(ReviewDocument).where(_awaiting_review(actor, filters))
    if cursor:
        stmt = stmt.where(tuple_(ReviewDocument.received_at, ReviewDocument.document_id)
                          > tuple_(*decode_cursor(cursor)))
    stmt = stmt.order_by(ReviewDocument.received_at, ReviewDocument.document_id).limit(limit + 1)
    rows = list((await uow.session.execute(stmt)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return QueuePage(items=rows, next_cursor=encode_cursor(rows[-1]) if more else None)


async def count_review_queue(*, uow: UnitOfWork, actor: Principal) -> int:
    """Count the documents awaiting the actor's decision."""
    stmt = select(func.count()).select_from(ReviewDocument).where(_awaiting_review(actor))
    return int((await uow.session.execute(stmt)).scalar_one())


async def get_review_document(*, uow: UnitOfWork, document_id: UUID,
                              actor: Principal) -> tuple[ReviewDocument, Decision | None]:
    """Load a document the actor may classify, with the decision that holds for it."""
    row = await _reviewable(uow, document_id, actor)
    decision = None
    if row.decision_id is not None:
        decision = await uow.session.get(Decision, row.decision_id)
    return row, decision


async def list_decisions(*, uow: UnitOfWork, document_id: UUID,
                         actor: Principal) -> list[Decision]:
    """Every decision ever made on a document, newest first (the history is kept)."""
    await _reviewable(uow, document_id, actor)
    stmt = (select(Decision).where(Decision.document_id == document_id)
            .order_by(Decision.decided_at.desc()))
    return list((await uow.session.execute(stmt)).scalars())


async def read_text_excerpt(*, store: ObjectStore, text_key: str, max_chars: int) -> str | None:
    """Read the first `max_chars` characters of an extracted text object (None if it is gone)."""
    budget = max_chars * 4  # UTF-8: at most 4 bytes a character
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = ""
    try:
        reader = await store.open(text_key)
    except ObjectNotFound:
        return None
    async with reader:  # closes the connection when we stop early
        read = 0
        async for chunk in reader.iterate():
            text += decoder.decode(chunk[:budget - read])
            read += len(chunk)
            if read >= budget or len(text) >= max_chars:
                break
    return text[:max_chars]


async def office_requires_approval(uow: UnitOfWork, office_code: str) -> bool:
    setting = await uow.session.get(OfficeSetting, office_code)
    return setting is not None and setting.exemption_requires_approval


def validate_decision(decision: DecisionIn, *, today: date) -> LegalBasis | None:
    """Refuse, with a message per problem, a decision that lacks what its category needs."""
    if decision.kip_category.is_public:
        problems = check_dip(decision.dip)
        if decision.consequence_test is not None:
            problems.append("Uji konsekuensi hanya untuk informasi yang dikecualikan.")
        if problems:
            raise ApiError(422, "dip_incomplete", " ".join(problems))
        return None
    basis, problems = check_consequence_test(decision.consequence_test, today=today)
    if decision.redaction is not None:
        problems.append("Informasi yang dikecualikan tidak diterbitkan, juga tidak sebagai "
                        "salinan yang dihitamkan.")
    if problems:
        code = ("consequence_test_required" if decision.consequence_test is None
                else "consequence_test_incomplete")
        raise ApiError(422, code, " ".join(problems))
    return basis


@dataclass(frozen=True)
class RedactedCopy:
    object_key: str
    text_key: str
    record: dict[str, Any]


async def classify_document(*, uow: UnitOfWork, document_id: UUID, decision: DecisionIn,
                            actor: Principal, client_ip: str | None = None,
                            redacted: RedactedCopy | None = None) -> Decision:
    """Record a KIP decision on a document's current version and announce it."""
    row = await _reviewable(uow, document_id, actor, lock=True)
    _refuse_retracted(row)
    if decision.version is not None and decision.version != row.version:
        raise ApiError(409, "version_superseded",
                       f"Dokumen sudah memiliki versi {row.version}. Muat ulang dan "
                       "klasifikasikan versi terbaru.")
    now = datetime.now(UTC)
    basis = validate_decision(decision, today=now.date())
    dip = decision.dip.to_fields() if decision.dip is not None and decision.kip_category.is_public \
        else None
    test = decision.consequence_test
    approval = "not_required"
    if not decision.kip_category.is_public and await office_requires_approval(
            uow, row.office_code):
        approval = "pending"
    record = Decision(
        decision_id=uuid4(), document_id=row.document_id, version=row.version,
        office_code=row.office_code, kip_category=decision.kip_category.value,
        document_type=decision.document_type,
        dip=dip.model_dump(mode="json") if dip is not None else None,
        reason=decision.reason, decided_by=actor.user_id, decided_role=actor.role.value,
        decided_at=now, legal_basis=basis.text if basis is not None else None,
        consequence_test=test.model_dump(mode="json") if test is not None else None,
        exempt_until=test.exempt_until if test is not None else None,
        approval_state=approval,
        redaction=redacted.record if redacted is not None else None,
        redacted_object_key=redacted.object_key if redacted is not None else None,
        redacted_text_key=redacted.text_key if redacted is not None else None)
    uow.session.add(record)
    row.status = DocumentStatus.CLASSIFIED.value
    row.decision_id = record.decision_id
    row.flag = None
    row.flagged_at = None
    row.updated_at = now
    await uow.session.flush()
    await uow.audit(
        actor=_actor(actor, client_ip), action="classify", subject_type="document",
        subject_id=row.document_id, reason=decision.reason, office_code=row.office_code,
        detail={"decision_id": str(record.decision_id), "version": row.version,
                "kip_category": record.kip_category, "document_type": record.document_type,
                "legal_basis": record.legal_basis, "approval_state": approval,
                "exempt_until": str(record.exempt_until) if record.exempt_until else None,
                "redacted": redacted is not None})
    await _announce(uow, row, record)
    return record


async def _announce(uow: UnitOfWork, row: ReviewDocument, record: Decision) -> None:
    test = record.consequence_test or {}
    await uow.emit(DocumentClassified.build(
        document_id=row.document_id, version=record.version, office_code=row.office_code,
        payload=DocumentClassifiedPayload(
            decision_id=record.decision_id, kip_category=KipCategory(record.kip_category),
            document_type=record.document_type,
            dip=DipFields(**record.dip) if record.dip is not None else None,
            legal_basis=record.legal_basis, exempt_until=record.exempt_until,
            exempt_public_description=test.get("exempt_information"),
            exempt_consequence=test.get("consequence"),
            approval_state=record.approval_state,
            redacted_object_key=record.redacted_object_key,
            redacted_text_key=record.redacted_text_key, title=row.title,
            division_id=row.division_id, document_date=row.document_date)))


def _actor(actor: Principal, client_ip: str | None) -> Actor:
    return Actor(user_id=actor.user_id, role=actor.role.value, office_code=actor.office_code,
                 client_ip=client_ip)


# --- exemptions: approval by the Atasan PPID ---------------------------------------------------

async def list_exemptions(*, uow: UnitOfWork, actor: Principal, state: str | None,
                          limit: int) -> list[tuple[Decision, ReviewDocument]]:
    """The current exemptions of the offices the actor approves for (PPID: every office)."""
    stmt = (select(Decision, ReviewDocument)
            .join(ReviewDocument, ReviewDocument.decision_id == Decision.decision_id)
            .where(Decision.kip_category == KipCategory.DIKECUALIKAN.value))
    if actor.role is not Role.PPID:
        stmt = stmt.where(Decision.office_code.in_(sorted(actor.offices_with(APPROVE))))
    if state is not None:
        stmt = stmt.where(Decision.approval_state == state)
    stmt = stmt.order_by(Decision.decided_at).limit(limit)
    return [(d, r) for d, r in (await uow.session.execute(stmt)).all()]


async def decide_approval(*, uow: UnitOfWork, decision_id: UUID, approve: bool,
                          note: str | None, actor: Principal,
                          client_ip: str | None = None) -> Decision:
    """Approve or reject a pending exemption as the office's Atasan PPID."""
    record = await uow.session.get(Decision, decision_id, with_for_update=True)
    if record is None or not (can_read_office(actor, record.office_code)
                              or actor.has_permission(APPROVE, record.office_code)):
        raise ApiError.not_found("Pengecualian tidak ditemukan.")
    if not actor.has_permission(APPROVE, record.office_code):
        raise ApiError.forbidden("Persetujuan pengecualian hanya oleh pemegang izin "
                                 "approve_exemption (Atasan PPID) untuk kantor ini.")
    row = await uow.session.get(ReviewDocument, record.document_id, with_for_update=True)
    if row is None or row.decision_id != record.decision_id:
        raise ApiError(409, "decision_superseded",
                       "Keputusan ini sudah digantikan oleh keputusan yang lebih baru.")
    _refuse_retracted(row)
    if record.approval_state != "pending":
        raise ApiError(409, "not_pending", "Pengecualian ini tidak sedang menunggu persetujuan.")
    now = datetime.now(UTC)
    record.approval_state = "approved" if approve else "rejected"
    record.approved_by = actor.user_id
    record.approved_at = now
    record.approval_note = note
    if not approve:
        # Back in front of an administrator; the document stays withheld meanwhile.
        row.status = DocumentStatus.REOPENED.value
        row.flag, row.flagged_at = "exemption_rejected", now
    row.updated_at = now
    await uow.session.flush()
    await uow.audit(
        actor=_actor(actor, client_ip), action="approve_exemption" if approve
        else "reject_exemption", subject_type="decision", subject_id=record.decision_id,
        reason=note, office_code=record.office_code,
        detail={"document_id": str(record.document_id), "version": record.version})
    await _announce(uow, row, record)
    return record


# --- office settings ---------------------------------------------------------------------------

async def get_office_settings(*, uow: UnitOfWork, office_code: str,
                              actor: Principal) -> OfficeSetting:
    """An office's review settings (defaults when never set)."""
    if not can_classify_office(actor, office_code):
        raise ApiError.not_found("Kantor tidak ditemukan.")
    setting = await uow.session.get(OfficeSetting, office_code)
    return setting or OfficeSetting(office_code=office_code, exemption_requires_approval=False)


async def set_office_settings(*, uow: UnitOfWork, office_code: str,
                              exemption_requires_approval: bool, actor: Principal,
                              client_ip: str | None = None) -> OfficeSetting:
    """Change an office's review settings (its own admin or PPID)."""
    if not can_classify_office(actor, office_code):
        raise ApiError.not_found("Kantor tidak ditemukan.")
    now = datetime.now(UTC)
    stmt = pg_insert(OfficeSetting).values(
        office_code=office_code, exemption_requires_approval=exemption_requires_approval,
        updated_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[OfficeSetting.office_code],
        set_={"exemption_requires_approval": exemption_requires_approval, "updated_at": now})
    await uow.session.execute(stmt)
    await uow.audit(actor=_actor(actor, client_ip), action="office_settings",
                    subject_type="office", subject_id=office_code, office_code=office_code,
                    detail={"exemption_requires_approval": exemption_requires_approval})
    return OfficeSetting(office_code=office_code,
                         exemption_requires_approval=exemption_requires_approval)


def _refuse_retracted(row: ReviewDocument) -> None:
    if row.status == DocumentStatus.RETRACTED.value:
        raise ApiError(409, "document_retracted",
                       "Dokumen sudah ditarik oleh pengunggahnya dan tidak dapat "
                       "diklasifikasikan lagi.")


async def _reviewable(uow: UnitOfWork, document_id: UUID, actor: Principal, *,
                      lock: bool = False) -> ReviewDocument:
    """The document if the actor may classify it: 404 unless they can read its office, else 403."""
    row = await uow.session.get(ReviewDocument, document_id, with_for_update=lock)
    if row is None or not can_read_office(actor, row.office_code):
        raise ApiError.not_found("Dokumen tidak ditemukan.")
    if not can_classify_office(actor, row.office_code):
        raise ApiError.forbidden("Hanya admin kantor atau PPID yang dapat mengklasifikasikan "
                                 "dokumen ini.")
    return row
