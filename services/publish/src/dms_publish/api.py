"""The public JSON API under /api/v1/public/: no authentication, nothing unpublished."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from dms_common.errors import ApiError
from dms_common.events import KipCategory
from dms_common.storage import ObjectNotFound, StorageBackendError
from dms_publish import service
from dms_publish.bootstrap import PublishApp
from dms_publish.downloads import content_disposition, download_filename
from dms_publish.schemas import (
    PublicCategory,
    PublicDocument,
    PublicDocumentList,
    PublicDocumentSummary,
)


def get_container(request: Request) -> PublishApp:
    container = getattr(request.app.state, "container", None)
    if not isinstance(container, PublishApp):
        raise RuntimeError("app.state.container is not set: wire it in the lifespan")
    return container


Container = Annotated[PublishApp, Depends(get_container)]
OfficeQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,16}$",
                                          description="Kode kantor (mis. 6302)")]
CategoryQuery = Annotated[PublicCategory | None, Query(description="Kategori informasi publik")]
LimitQuery = Annotated[int, Query(ge=1, le=100)]
CursorQuery = Annotated[str | None, Query(max_length=200)]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "Tidak ada dokumen terpublikasi dengan id ini"}}

router = APIRouter(prefix="/api/v1/public", tags=["public"])


@router.get("/documents", summary="Published documents, newest first")
async def list_documents(container: Container, office: OfficeQuery = None,
                         category: CategoryQuery = None, limit: LimitQuery = 20,
                         cursor: CursorQuery = None) -> PublicDocumentList:
    async with container.core.uow() as uow:
        page = await service.list_publications(
            uow=uow, office=office, limit=limit, cursor=cursor,
            category=KipCategory(category.value) if category is not None else None)
        offices = await service.name_offices(uow=uow)
    return PublicDocumentList(
        items=[PublicDocumentSummary.from_row(row, offices) for row in page.items],
        next_cursor=page.next_cursor)


@router.get("/documents/{document_id}", summary="One published document",
            responses=_NOT_FOUND)
async def get_document(document_id: UUID, container: Container) -> PublicDocument:
    async with container.core.uow() as uow:
        row = await service.get_publication(uow=uow, document_id=document_id)
        offices = await service.name_offices(uow=uow)
    return PublicDocument.from_row(row, offices)


@router.get("/documents/{document_id}/content", summary="The published file",
            response_class=StreamingResponse,
            responses={**_NOT_FOUND, 200: {"content": {"application/octet-stream": {}}}})
async def get_document_content(document_id: UUID, container: Container) -> StreamingResponse:
    # The state is read now, per request: a withdrawal stops downloads at once.
    async with container.core.uow() as uow:
        row = await service.get_publication(uow=uow, document_id=document_id)
    assert row.public_object_key is not None
    try:
        reader = await container.core.store.open(row.public_object_key)
    except ObjectNotFound:
        raise ApiError.not_found("Berkas dokumen tidak ditemukan.") from None
    except StorageBackendError:
        raise ApiError(503, "storage_unavailable",
                       "Penyimpanan berkas sedang tidak tersedia. Coba lagi nanti.") from None
    media_type = reader.content_type or row.content_type or "application/octet-stream"
    headers = {
        "Content-Length": str(reader.size),
        "Content-Disposition": content_disposition(download_filename(row, media_type)),
        "X-Content-Type-Options": "nosniff",
        # Never rendered as a page of ours, and never kept by a cache after a withdrawal.
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "no-store",
    }
    return StreamingResponse(reader.iterate(), media_type=media_type, headers=headers,
                             background=BackgroundTask(reader.aclose))
