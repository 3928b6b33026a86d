"""The public JSON API under /api/v1/public/: no authentication, nothing unpublished.

The one authenticated part is the webhook subscriptions (superadmin or PPID).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from dms_common.db.uow import Actor
from dms_common.errors import ApiError
from dms_common.events import KipCategory
from dms_common.identity.deps import require_role
from dms_common.identity.tokens import Principal, Role
from dms_common.storage import ObjectNotFound, StorageBackendError
from dms_publish import previews, registers, service, webhooks
from dms_publish.deps import Container, get_container
from dms_publish.downloads import content_disposition, download_filename
from dms_publish.listing import SortKey
from dms_publish.models import Publication
from dms_publish.schemas import (
    CATEGORY_LABELS,
    Preview,
    PublicCategory,
    PublicDocument,
    PublicDocumentList,
    PublicDocumentSummary,
    Statistics,
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryOut,
    WebhookOut,
)

__all__ = ["Container", "get_container", "router"]

OfficeQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,16}$",
                                          description="Kode kantor (mis. 6302)")]
CategoryQuery = Annotated[PublicCategory | None, Query(description="Kategori informasi publik")]
LimitQuery = Annotated[int, Query(ge=1, le=100)]
CursorQuery = Annotated[str | None, Query(max_length=300)]


class RegisterFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


FormatQuery = Annotated[RegisterFormat, Query(description="json, csv atau xlsx")]
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "Tidak ada dokumen terpublikasi dengan id ini"}}

router = APIRouter(prefix="/api/v1/public", tags=["public"])


def _category(value: PublicCategory | None) -> KipCategory | None:
    return KipCategory(value.value) if value is not None else None


@router.get("/documents", summary="Published documents, filtered, sorted, keyset-paginated")
async def list_documents(
        container: Container, office: OfficeQuery = None, category: CategoryQuery = None,
        division: Annotated[UUID | None, Query(description="Id divisi")] = None,
        year: Annotated[int | None, Query(ge=1900, le=2200, description="Tahun")] = None,
        type: Annotated[str | None, Query(max_length=64, pattern=r"^[\w .-]+$",
                                          description="Jenis dokumen")] = None,
        sort: Annotated[SortKey, Query(description="Urutan")] = SortKey.NEWEST,
        limit: LimitQuery = 20, cursor: CursorQuery = None) -> PublicDocumentList:
    where = service.DocumentFilter(office=office, category=_category(category),
                                   division_id=division, year=year, document_type=type)
    async with container.core.uow() as uow:
        page = await service.list_publications(uow=uow, where=where, sort=sort, limit=limit,
                                               cursor=cursor)
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


async def _stream(container: Container, row: Publication, key: str, *,
                  attachment: bool) -> StreamingResponse:
    try:
        reader = await container.core.store.open(key)
    except ObjectNotFound:
        raise ApiError.not_found("Berkas dokumen tidak ditemukan.") from None
    except StorageBackendError:
        raise ApiError(503, "storage_unavailable",
                       "Penyimpanan berkas sedang tidak tersedia. Coba lagi nanti.") from None
    media_type = reader.content_type or row.content_type or "application/octet-stream"
    headers = {
        "Content-Length": str(reader.size),
        "X-Content-Type-Options": "nosniff",
        # Never rendered as a page of ours, and never kept by a cache after a withdrawal.
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "no-store",
    }
    if attachment:
        headers["Content-Disposition"] = content_disposition(download_filename(row, media_type))
    else:
        media_type = "image/png"
    return StreamingResponse(reader.iterate(), media_type=media_type, headers=headers,
                             background=BackgroundTask(reader.aclose))


@router.get("/documents/{document_id}/content", summary="The published file",
            response_class=StreamingResponse,
            responses={**_NOT_FOUND, 200: {"content": {"application/octet-stream": {}}}})
async def get_document_content(document_id: UUID, container: Container) -> StreamingResponse:
    # The state is read now, per request: a withdrawal stops downloads at once.
    async with container.core.uow() as uow:
        row = await service.get_publication(uow=uow, document_id=document_id)
    assert row.public_object_key is not None
    return await _stream(container, row, row.public_object_key, attachment=True)


@router.get("/documents/{document_id}/preview", summary="What can be previewed in place",
            responses=_NOT_FOUND)
async def get_preview(document_id: UUID, container: Container) -> Preview:
    async with container.core.uow() as uow:
        row = await service.get_publication(uow=uow, document_id=document_id)
    return await build_preview(container, row)


async def build_preview(container: Container, row: Publication) -> Preview:
    """Page images if classify made them, else a table for CSV/XLSX, else nothing."""
    store = container.core.store
    pages = await previews.list_pages(store, row)
    if pages:
        return Preview(kind="pages", pages=[
            f"/api/v1/public/documents/{row.document_id}/pages/{n}" for n in pages])
    table = await previews.load_table(store, row)
    if table is not None:
        return Preview(kind="table", columns=table.columns, rows=table.rows,
                       truncated=table.truncated)
    return Preview(kind="none")


@router.get("/documents/{document_id}/pages/{page}", summary="One page image of the preview",
            response_class=StreamingResponse,
            responses={**_NOT_FOUND, 200: {"content": {"image/png": {}}}})
async def get_page_image(document_id: UUID, page: int,
                         container: Container) -> StreamingResponse:
    if not 1 <= page <= previews.MAX_PAGES:
        raise ApiError.not_found("Halaman pratinjau tidak ditemukan.")
    async with container.core.uow() as uow:
        row = await service.get_publication(uow=uow, document_id=document_id)
    return await _stream(container, row, previews.page_key(row, page), attachment=False)


# --- registers --------------------------------------------------------------------------------

def _register_response(entries: list[Any], columns: tuple[tuple[str, str], ...], *,
                       name: str, office: str | None, fmt: RegisterFormat) -> Response:
    scope = office or "provinsi-63"
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    if fmt is RegisterFormat.JSON:
        body = {"register": name, "office": office, "generated_at": datetime.now(UTC)
                .isoformat(), "columns": [{"key": k, "label": v} for k, v in columns],
                "items": [e.model_dump(mode="json") for e in entries]}
        return Response(_json(body), media_type="application/json")
    rows = registers.table(entries, columns)
    filename = f"{name}-{scope}-{stamp}.{fmt.value}"
    headers = {"Content-Disposition": content_disposition(filename),
               "X-Content-Type-Options": "nosniff"}
    if fmt is RegisterFormat.CSV:
        return Response(registers.to_csv(rows), media_type="text/csv; charset=utf-8",
                        headers=headers)
    return Response(registers.to_xlsx(rows, sheet=name.upper()), media_type=XLSX_MEDIA,
                    headers=headers)


def _json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


async def dip_entries(container: Container, *, office: str | None,
                      category: KipCategory | None) -> list[registers.DipEntry]:
    async with container.core.uow() as uow:
        rows = await service.list_for_register(uow=uow, office=office, category=category)
        offices = await service.name_offices(uow=uow)
    entries = []
    for nomor, row in enumerate(rows, start=1):
        assert row.published_at is not None
        entries.append(registers.dip_entry(
            nomor=nomor, document_id=row.document_id, office_code=row.office_code,
            office_name=offices.get(row.office_code, f"Kantor {row.office_code}"),
            kip_category=CATEGORY_LABELS.get(row.kip_category or "", "-"), title=row.title,
            dip=row.dip, published_at=row.published_at, url=f"/dokumen/{row.document_id}"))
    return entries


async def dik_entries(container: Container, *, office: str | None) -> list[registers.DikEntry]:
    async with container.core.uow() as uow:
        rows = await service.list_exemptions(uow=uow, office=office)
        offices = await service.name_offices(uow=uow)
    return [registers.dik_entry(
        nomor=nomor, office_code=e.office_code,
        office_name=offices.get(e.office_code, f"Kantor {e.office_code}"),
        public_description=e.public_description, legal_basis=e.legal_basis,
        consequence_summary=e.consequence, exempt_until=e.exempt_until,
        decided_at=e.decided_at)
        for nomor, e in enumerate(rows, start=1)]


@router.get("/dip", summary="Daftar Informasi Publik, per office or province-wide",
            response_class=Response,
            responses={200: {"content": {"application/json": {}, "text/csv": {},
                                         XLSX_MEDIA: {}}}})
async def dip_register(container: Container, office: OfficeQuery = None,
                       category: CategoryQuery = None,
                       format: FormatQuery = RegisterFormat.JSON) -> Response:
    entries = await dip_entries(container, office=office, category=_category(category))
    return _register_response(entries, registers.DIP_COLUMNS, name="dip", office=office,
                              fmt=format)


@router.get("/dik", summary="Daftar Informasi yang Dikecualikan, per office or province-wide",
            response_class=Response,
            responses={200: {"content": {"application/json": {}, "text/csv": {},
                                         XLSX_MEDIA: {}}}})
async def dik_register(container: Container, office: OfficeQuery = None,
                       format: FormatQuery = RegisterFormat.JSON) -> Response:
    entries = await dik_entries(container, office=office)
    return _register_response(entries, registers.DIK_COLUMNS, name="dik", office=office,
                              fmt=format)


@router.get("/statistics", summary="Publications by office, category, division and month")
async def get_statistics(container: Container, office: OfficeQuery = None) -> Statistics:
    async with container.core.uow() as uow:
        stats = await service.statistics(uow=uow, office=office)
        offices = await service.name_offices(uow=uow)
        divisions = await service.name_divisions(uow=uow)
    return Statistics(total=stats.total, by_office=stats.by_office,
                      by_category=stats.by_category, by_division=stats.by_division,
                      by_month=stats.by_month, by_office_month=stats.by_office_month,
                      office_names=offices, division_names=divisions)


@router.get("/offices", summary="Offices and their publication counts")
async def list_offices(container: Container) -> list[dict[str, Any]]:
    async with container.core.uow() as uow:
        offices = await service.known_offices(uow=uow)
        stats = await service.statistics(uow=uow)
    return [{"code": code, "name": name, "publications": stats.by_office.get(code, 0)}
            for code, name in offices.items()]


# --- webhooks (authenticated) -----------------------------------------------------------------

Manager = Annotated[Principal, Depends(require_role(Role.SUPERADMIN, Role.PPID))]


def _out(subscription: Any) -> dict[str, Any]:
    return {k: getattr(subscription, k) for k in WebhookOut.model_fields}


@router.post("/webhooks", status_code=201, tags=["webhooks"],
             summary="Subscribe a URL to published/withdrawn events (superadmin or PPID)")
async def create_webhook(body: WebhookCreate, user: Manager,
                         container: Container) -> WebhookCreated:
    if body.url.scheme not in ("http", "https"):
        raise ApiError(422, "invalid_url", "URL webhook harus http atau https.")
    async with container.core.uow() as uow:
        subscription = await webhooks.create_subscription(
            uow=uow, url=str(body.url), events=[e.value for e in body.events],
            office_code=body.office_code, description=body.description,
            created_by=user.user_id)
        await uow.audit(actor=_actor(user), action="create_webhook", subject_type="webhook",
                        subject_id=subscription.id, detail={"url": str(body.url)})
    return WebhookCreated(**_out(subscription), secret=subscription.secret)


@router.get("/webhooks", tags=["webhooks"], summary="List webhook subscriptions")
async def list_webhooks(_user: Manager, container: Container) -> list[WebhookOut]:
    async with container.core.uow() as uow:
        found = await webhooks.list_subscriptions(uow=uow)
    return [WebhookOut(**_out(s)) for s in found]


@router.delete("/webhooks/{subscription_id}", status_code=204, tags=["webhooks"],
               summary="Deactivate a webhook subscription")
async def delete_webhook(subscription_id: UUID, user: Manager, container: Container) -> Response:
    async with container.core.uow() as uow:
        if not await webhooks.deactivate_subscription(uow=uow,
                                                      subscription_id=subscription_id):
            raise ApiError.not_found("Langganan webhook tidak ditemukan.")
        await uow.audit(actor=_actor(user), action="deactivate_webhook",
                        subject_type="webhook", subject_id=subscription_id)
    return Response(status_code=204)


@router.get("/webhooks/{subscription_id}/deliveries", tags=["webhooks"],
            summary="Delivery log of one subscription, newest first")
async def webhook_deliveries(subscription_id: UUID, _user: Manager, container: Container,
                             limit: LimitQuery = 50) -> list[WebhookDeliveryOut]:
    async with container.core.uow() as uow:
        found = await webhooks.list_deliveries(uow=uow, subscription_id=subscription_id,
                                               limit=limit)
    return [WebhookDeliveryOut.model_validate(d, from_attributes=True) for d in found]


def _actor(user: Principal) -> Actor:
    return Actor(user_id=user.user_id, role=user.role.value, office_code=user.office_code)
