"""Use cases of the classify service. None of them commits: the caller's unit of work does."""

from __future__ import annotations

import base64
import binascii
import codecs
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, and_, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from dms_classify.extraction import (
    ExtractedText,
    ExtractionFailed,
    ExtractionLimits,
    extract_object,
    guess_language,
)
from dms_classify.models import AWAITING_REVIEW, Decision, DocumentStatus, ReviewDocument
from dms_classify.schemas import DecisionIn
from dms_common.db.uow import Actor, UnitOfWork
from dms_common.errors import ApiError
from dms_common.events import (
    DocumentClassified,
    DocumentClassifiedPayload,
    DocumentExtracted,
    DocumentExtractedPayload,
    DocumentReceived,
)
from dms_common.identity.deps import can_classify_office, can_read_office
from dms_common.identity.tokens import Principal, Role
from dms_common.storage import ObjectNotFound, ObjectStore, derived_key

log = logging.getLogger(__name__)

TEXT_OBJECT = "text.txt"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
_TEXT_CHUNK = 256 * 1024


# --- the worker: received -> extracted ------------------------------------------------------

async def receive_document(*, uow: UnitOfWork, store: ObjectStore, event: DocumentReceived,
                           limits: ExtractionLimits) -> bool:
    """Merge a received version into its review row and extract its text; False if stale."""
    if not await _merge_received(uow, event):
        return False
    try:
        extracted = await extract_object(store=store, key=event.payload.object_key,
                                          content_type=event.payload.content_type, limits=limits)
    except ExtractionFailed as failure:
        log.info("extraction failed", extra={"document_id": str(event.document_id),
                                             "version": event.version, "reason": failure.reason})
        await _record_extraction(uow, event, reason=failure.reason)
        return True
    text_key = derived_key(event.office_code, event.document_id, event.version, TEXT_OBJECT)
    await store.put_stream(text_key, _chunks(extracted.text.encode()),
                           content_type=TEXT_CONTENT_TYPE)
    await _record_extraction(uow, event, extracted=extracted, text_key=text_key)
    return True


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
    }
    insert = pg_insert(ReviewDocument).values(**values)
    stmt = insert.on_conflict_do_update(
        index_elements=[ReviewDocument.document_id],
        set_={name: insert.excluded[name] for name in values if name != "document_id"},
        where=ReviewDocument.received_seq < insert.excluded.received_seq,
    ).returning(ReviewDocument.document_id)
    return (await uow.session.execute(stmt)).first() is not None


async def _record_extraction(uow: UnitOfWork, event: DocumentReceived, *,
                             extracted: ExtractedText | None = None, text_key: str | None = None,
                             reason: str | None = None) -> None:
    now = datetime.now(UTC)
    if extracted is not None:
        language = guess_language(extracted.text)
        status = DocumentStatus.EXTRACTED
        payload = DocumentExtractedPayload(
            ok=True, text_key=text_key, text_length=len(extracted.text), pages=extracted.pages,
            language=language, ocr_used=False)
    else:
        status = DocumentStatus.EXTRACTION_FAILED
        payload = DocumentExtractedPayload(ok=False, reason=reason)
    await uow.session.execute(
        update(ReviewDocument).where(ReviewDocument.document_id == event.document_id)
        .values(status=status.value, text_key=payload.text_key, text_length=payload.text_length,
                pages=payload.pages, language=payload.language, extraction_reason=payload.reason,
                extracted_at=now, updated_at=now)
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


def _awaiting_review(actor: Principal) -> ColumnElement[bool]:
    """The documents awaiting a decision that the actor may classify."""
    awaiting = ReviewDocument.status.in_([status.value for status in AWAITING_REVIEW])
    if actor.role is Role.PPID:
        return awaiting
    return and_(awaiting, ReviewDocument.office_code == actor.office_code)


async def list_review_queue(*, uow: UnitOfWork, actor: Principal, limit: int,
                            cursor: str | None = None) -> QueuePage:
    """List the documents awaiting the actor's decision, oldest first."""
    stmt = select(ReviewDocument).where(_awaiting_review(actor))
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


async def classify_document(*, uow: UnitOfWork, document_id: UUID, decision: DecisionIn,
                            actor: Principal, client_ip: str | None = None) -> Decision:
    """Record a public KIP decision on a document's current version and announce it."""
    row = await _reviewable(uow, document_id, actor, lock=True)
    if decision.version is not None and decision.version != row.version:
        raise ApiError(409, "version_superseded",
                       f"Dokumen sudah memiliki versi {row.version}. Muat ulang dan "
                       "klasifikasikan versi terbaru.")
    if not decision.kip_category.is_public:
        # The exemption flow (consequence test, Atasan PPID approval) is not built yet.
        raise ApiError(422, "consequence_test_required",
                       "Informasi yang dikecualikan wajib disertai uji konsekuensi. "
                       "Pengisian uji konsekuensi belum tersedia pada versi ini.")
    now = datetime.now(UTC)
    dip = decision.dip.to_fields() if decision.dip is not None else None
    record = Decision(
        decision_id=uuid4(), document_id=row.document_id, version=row.version,
        office_code=row.office_code, kip_category=decision.kip_category.value,
        document_type=decision.document_type,
        dip=dip.model_dump(mode="json") if dip is not None else None,
        reason=decision.reason, decided_by=actor.user_id, decided_role=actor.role.value,
        decided_at=now)
    uow.session.add(record)
    row.status = DocumentStatus.CLASSIFIED.value
    row.decision_id = record.decision_id
    row.updated_at = now
    await uow.session.flush()
    await uow.audit(
        actor=Actor(user_id=actor.user_id, role=actor.role.value, office_code=actor.office_code,
                    client_ip=client_ip),
        action="classify", subject_type="document", subject_id=row.document_id,
        reason=decision.reason, office_code=row.office_code,
        detail={"decision_id": str(record.decision_id), "version": row.version,
                "kip_category": record.kip_category, "document_type": record.document_type})
    await uow.emit(DocumentClassified.build(
        document_id=row.document_id, version=row.version, office_code=row.office_code,
        payload=DocumentClassifiedPayload(
            decision_id=record.decision_id, kip_category=decision.kip_category,
            document_type=decision.document_type, dip=dip, title=row.title,
            division_id=row.division_id, document_date=row.document_date)))
    return record


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
