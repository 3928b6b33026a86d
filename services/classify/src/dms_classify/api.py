"""The review API (`/api/v1/review/`) and the exemptions API (`/api/v1/exemptions`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from dms_classify import service, upkeep
from dms_classify.deps import Container, Reviewer
from dms_classify.models import Decision, ReviewDocument
from dms_classify.redaction import redact_document
from dms_classify.schemas import (
    ApprovalIn,
    DecisionIn,
    DecisionOut,
    ExemptionOut,
    OfficeSettingsIn,
    OfficeSettingsOut,
    QueueItem,
    QueuePageOut,
    ReviewDocumentOut,
)
from dms_common.errors import ApiError
from dms_common.events import KipCategory
from dms_common.identity.deps import CurrentUser
from dms_common.identity.tokens import Role
from dms_common.storage import ObjectNotFound

router = APIRouter(prefix="/api/v1/review", tags=["review"])
exemptions = APIRouter(prefix="/api/v1/exemptions", tags=["exemptions"])

_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "Belum masuk atau token tidak valid"},
    403: {"description": "Peran pengguna tidak boleh mengklasifikasikan"},
    404: {"description": "Dokumen tidak ada atau milik kantor lain"},
}
QueueStatus = Literal["received", "extracted", "extraction_failed", "reopened"]


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def queue_item(row: ReviewDocument) -> QueueItem:
    suggestion = row.suggestion or {}
    return QueueItem(id=row.document_id, title=row.title, office_code=row.office_code,
                     status=row.status, received_at=row.received_at, version=row.version,
                     flag=row.flag, suggested_category=suggestion.get("kip_category"),
                     findings=len(row.findings or []))


@router.get("/queue", response_model=QueuePageOut, summary="Documents awaiting a decision",
            responses=_ERRORS)
async def review_queue(
    user: Reviewer, app: Container,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    office: Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    status: QueueStatus | None = None,
    flagged: bool | None = None,
    suggested: KipCategory | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> QueuePageOut:
    filters = service.QueueFilter(office_code=office, status=status, flagged=flagged,
                                  suggested=suggested.value if suggested else None, q=q)
    async with app.core.uow() as uow:
        page = await service.list_review_queue(uow=uow, actor=user, limit=limit, cursor=cursor,
                                               filters=filters)
    return QueuePageOut(items=[queue_item(row) for row in page.items],
                        next_cursor=page.next_cursor)


def _decision_out(decision: Decision | None) -> DecisionOut | None:
    return DecisionOut.model_validate(decision) if decision is not None else None


@router.get("/documents/{document_id}", response_model=ReviewDocumentOut,
            summary="One document under review: text, findings, suggestion", responses=_ERRORS)
async def review_document(document_id: UUID, user: CurrentUser,
                          app: Container) -> ReviewDocumentOut:
    async with app.core.uow() as uow:
        row, decision = await service.get_review_document(uow=uow, document_id=document_id,
                                                          actor=user)
    excerpt = None
    if row.text_key is not None:
        excerpt = await service.read_text_excerpt(store=app.core.store, text_key=row.text_key,
                                                  max_chars=app.settings.text_excerpt_chars)
    return ReviewDocumentOut(
        id=row.document_id, version=row.version, office_code=row.office_code, title=row.title,
        description=row.description, division_id=row.division_id,
        document_date=row.document_date, filename=row.filename, content_type=row.content_type,
        size=row.size, status=row.status, received_at=row.received_at, pages=row.pages,
        language=row.language, text_length=row.text_length, ocr_used=row.ocr_used,
        extraction_reason=row.extraction_reason, text_excerpt=excerpt,
        findings=row.findings or [], suggestion=row.suggestion,
        previews=[f"/api/v1/review/documents/{row.document_id}/previews/{n}"
                  for n in range(1, len(row.preview_keys or []) + 1)],
        flag=row.flag, decision=_decision_out(decision))


@router.get("/documents/{document_id}/previews/{page}", summary="A page preview (PNG)",
            response_class=Response, responses=_ERRORS)
async def review_preview(document_id: UUID, page: int, user: CurrentUser,
                         app: Container) -> Response:
    async with app.core.uow() as uow:
        row, _ = await service.get_review_document(uow=uow, document_id=document_id,
                                                   actor=user)
    keys = row.preview_keys or []
    if not 1 <= page <= len(keys):
        raise ApiError.not_found("Pratinjau halaman tidak tersedia.")
    try:
        async with await app.core.store.open(keys[page - 1]) as reader:
            data = b"".join([chunk async for chunk in reader.iterate()])
    except ObjectNotFound as exc:
        raise ApiError.not_found("Pratinjau halaman tidak tersedia.") from exc
    return Response(data, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=300"})


@router.get("/documents/{document_id}/decisions", response_model=list[DecisionOut],
            summary="Every decision on the document, newest first", responses=_ERRORS)
async def decision_history(document_id: UUID, user: CurrentUser,
                           app: Container) -> list[DecisionOut]:
    async with app.core.uow() as uow:
        records = await service.list_decisions(uow=uow, document_id=document_id, actor=user)
    return [DecisionOut.model_validate(record) for record in records]


@router.post("/documents/{document_id}/decisions", response_model=DecisionOut, status_code=201,
             summary="Classify (or reclassify) the document's current version",
             responses={**_ERRORS,
                        409: {"description": "The version decided on has been superseded, "
                                             "or the uploader retracted the document"},
                        422: {"description": "Invalid decision: missing DIP fields, or "
                                             "`dikecualikan` without a complete consequence "
                                             "test (one message per missing field)"}})
async def decide(document_id: UUID, decision: DecisionIn, user: CurrentUser, app: Container,
                 request: Request) -> DecisionOut:
    redacted = None
    if decision.redaction is not None and decision.kip_category.is_public:
        # Rendering and OCR take seconds: done before the decision's transaction opens.
        async with app.core.uow() as uow:
            row, _ = await service.get_review_document(uow=uow, document_id=document_id,
                                                       actor=user)
        service.validate_decision(decision, today=datetime.now(UTC).date())
        redacted = await redact_document(app=app, row=row, redaction=decision.redaction)
    async with app.core.uow() as uow:
        record = await service.classify_document(
            uow=uow, document_id=document_id, decision=decision, actor=user,
            client_ip=_client_ip(request), redacted=redacted)
    return DecisionOut.model_validate(record)


@router.get("/offices/{office_code}/settings", response_model=OfficeSettingsOut,
            summary="An office's review settings", responses=_ERRORS)
async def office_settings(office_code: str, user: Reviewer, app: Container) -> OfficeSettingsOut:
    async with app.core.uow() as uow:
        setting = await service.get_office_settings(uow=uow, office_code=office_code, actor=user)
    return OfficeSettingsOut(office_code=setting.office_code,
                             exemption_requires_approval=setting.exemption_requires_approval)


@router.put("/offices/{office_code}/settings", response_model=OfficeSettingsOut,
            summary="Change an office's review settings", responses=_ERRORS)
async def change_office_settings(office_code: str, body: OfficeSettingsIn, user: Reviewer,
                                 app: Container, request: Request) -> OfficeSettingsOut:
    async with app.core.uow() as uow:
        setting = await service.set_office_settings(
            uow=uow, office_code=office_code, actor=user, client_ip=_client_ip(request),
            exemption_requires_approval=body.exemption_requires_approval)
    return OfficeSettingsOut(office_code=setting.office_code,
                             exemption_requires_approval=setting.exemption_requires_approval)


@exemptions.get("", response_model=list[ExemptionOut],
                summary="Current exemptions of the offices the user approves for")
async def list_exemptions(
    user: CurrentUser, app: Container,
    state: Literal["pending", "approved", "rejected", "not_required"] | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[ExemptionOut]:
    async with app.core.uow() as uow:
        found = await service.list_exemptions(uow=uow, actor=user, state=state, limit=limit)
    return [ExemptionOut(decision_id=d.decision_id, document_id=d.document_id,
                         office_code=d.office_code, title=row.title, legal_basis=d.legal_basis,
                         exempt_until=d.exempt_until, approval_state=d.approval_state,
                         decided_at=d.decided_at) for d, row in found]


@exemptions.get("/expiring", response_model=list[ExemptionOut],
                summary="Exemptions ending within `days` (ended ones included)")
async def expiring(
    user: Reviewer, app: Container, days: Annotated[int, Query(ge=0, le=3650)] = 30,
) -> list[ExemptionOut]:
    offices = None if user.role is Role.PPID else [user.office_code]
    async with app.core.uow() as uow:
        found = await upkeep.expiring_exemptions(uow=uow, today=datetime.now(UTC).date(),
                                                 days=days, offices=offices)
    return [ExemptionOut(decision_id=d.decision_id, document_id=d.document_id,
                         office_code=d.office_code, title=row.title, legal_basis=d.legal_basis,
                         exempt_until=d.exempt_until, approval_state=d.approval_state,
                         decided_at=d.decided_at) for d, row in found]


@router.get("/report", summary="Province report (PPID): documents, queues, exemptions",
            responses=_ERRORS)
async def report(user: Reviewer, app: Container) -> dict[str, Any]:
    if user.role is not Role.PPID:
        raise ApiError.forbidden("Laporan provinsi hanya untuk PPID.")
    async with app.core.uow() as uow:
        return await upkeep.province_report(uow=uow, now=datetime.now(UTC))


@exemptions.post("/{decision_id}/approval", response_model=DecisionOut,
                 summary="Approve or reject a pending exemption (Atasan PPID)",
                 responses={**_ERRORS, 409: {"description": "Not pending, or superseded"}})
async def approve_exemption(decision_id: UUID, body: ApprovalIn, user: CurrentUser,
                            app: Container, request: Request) -> DecisionOut:
    async with app.core.uow() as uow:
        record = await service.decide_approval(uow=uow, decision_id=decision_id,
                                               approve=body.approve, note=body.note, actor=user,
                                               client_ip=_client_ip(request))
    return DecisionOut.model_validate(record)
