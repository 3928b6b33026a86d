"""The review API (`/api/v1/review/`): the administrators' queue and their KIP decisions."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request

from dms_classify import service
from dms_classify.deps import Container, Reviewer
from dms_classify.models import ReviewDocument
from dms_classify.schemas import (
    DecisionIn,
    DecisionOut,
    QueueItem,
    QueuePageOut,
    ReviewDocumentOut,
)
from dms_common.identity.deps import CurrentUser

router = APIRouter(prefix="/api/v1/review", tags=["review"])

_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "Belum masuk atau token tidak valid"},
    403: {"description": "Peran pengguna tidak boleh mengklasifikasikan"},
    404: {"description": "Dokumen tidak ada atau milik kantor lain"},
}


def _queue_item(row: ReviewDocument) -> QueueItem:
    return QueueItem(id=row.document_id, title=row.title, office_code=row.office_code,
                     status=row.status, received_at=row.received_at, version=row.version)


@router.get("/queue", response_model=QueuePageOut, summary="Documents awaiting a decision",
            responses=_ERRORS)
async def review_queue(
    user: Reviewer, app: Container,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> QueuePageOut:
    async with app.core.uow() as uow:
        page = await service.list_review_queue(uow=uow, actor=user, limit=limit, cursor=cursor)
    return QueuePageOut(items=[_queue_item(row) for row in page.items],
                        next_cursor=page.next_cursor)


@router.get("/documents/{document_id}", response_model=ReviewDocumentOut,
            summary="One document under review, with an excerpt of its text", responses=_ERRORS)
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
        language=row.language, text_length=row.text_length,
        extraction_reason=row.extraction_reason, text_excerpt=excerpt,
        decision=DecisionOut.model_validate(decision) if decision is not None else None)


@router.post("/documents/{document_id}/decisions", response_model=DecisionOut, status_code=201,
             summary="Classify the document's current version (public categories)",
             responses={**_ERRORS,
                        409: {"description": "The version decided on has been superseded"},
                        422: {"description": "Invalid decision, or `dikecualikan` without "
                                             "its consequence test"}})
async def decide(document_id: UUID, decision: DecisionIn, user: CurrentUser, app: Container,
                 request: Request) -> DecisionOut:
    async with app.core.uow() as uow:
        record = await service.classify_document(
            uow=uow, document_id=document_id, decision=decision, actor=user,
            client_ip=request.client.host if request.client else None)
    return DecisionOut.model_validate(record)
