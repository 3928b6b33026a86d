"""The public PPID portal's pages, on the shared page kit (dms_common.pages).

Every value reaches the HTML through Jinja2 with autoescaping on, and charts are
server-side SVG with escaped text: the portal runs no script at all. Text is in
Bahasa Indonesia and times are shown in WITA.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from dms_common.errors import ApiError
from dms_common.events import KipCategory
from dms_common.pages import NavItem, render
from dms_common.pages import make_templates as kit_templates
from dms_publish import charts, feeds, previews, service
from dms_publish.api import build_preview, dik_entries, dip_entries
from dms_publish.deps import Container, base_url
from dms_publish.listing import SortKey
from dms_publish.models import Publication
from dms_publish.schemas import CATEGORY_LABELS, PublicCategory, content_url

TEMPLATES = Path(__file__).parent / "templates"
PORTAL_TITLE = "PPID Bawaslu Provinsi Kalimantan Selatan"
PROVINCE = "63"
NAV = (NavItem("/", "Beranda"), NavItem("/dokumen", "Dokumen"), NavItem("/dip", "DIP"),
       NavItem("/dik", "DIK"), NavItem("/dasbor", "Dasbor"), NavItem("/cari", "Cari informasi"))
FEED_ITEMS = 50
ATOM_MEDIA = "application/atom+xml; charset=utf-8"
OfficeCode = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,16}$")]


def make_templates() -> Jinja2Templates:
    """The portal's template environment (the kit's layout, autoescaping everything)."""
    return kit_templates(TEMPLATES, site_title=PORTAL_TITLE, nav=NAV,
                         globals_={"category_labels": CATEGORY_LABELS})


router = APIRouter(include_in_schema=False)


def _office_name(offices: dict[str, str], code: str) -> str:
    return offices.get(code, f"Kantor {code}")


@router.get("/", response_class=HTMLResponse)
async def home_page(request: Request, container: Container) -> HTMLResponse:
    async with container.core.uow() as uow:
        latest = await service.list_publications(
            uow=uow, limit=container.settings.portal_latest_count)
        counts = await service.count_publications(uow=uow)
        offices = await service.known_offices(uow=uow)
    return render(request, "home.html", {
        "documents": latest.items, "offices": offices,
        "counts": [(c.value, CATEGORY_LABELS[c.value], n) for c, n in counts.items()],
    })


@router.get("/dokumen", response_class=HTMLResponse)
async def documents_page(request: Request, container: Container, kantor: OfficeCode = None,
                         kategori: PublicCategory | None = None,
                         tahun: Annotated[int | None, Query(ge=1900, le=2200)] = None,
                         urut: SortKey = SortKey.NEWEST,
                         kursor: Annotated[str | None, Query(max_length=300)] = None,
                         ) -> HTMLResponse:
    where = service.DocumentFilter(
        office=kantor, year=tahun,
        category=KipCategory(kategori.value) if kategori is not None else None)
    async with container.core.uow() as uow:
        page = await service.list_publications(uow=uow, where=where, sort=urut, limit=20,
                                               cursor=kursor)
        offices = await service.known_offices(uow=uow)
    params = {k: v for k, v in {"kantor": kantor, "kategori": kategori.value if kategori
                                else None, "tahun": tahun, "urut": urut.value}.items() if v}
    return render(request, "documents.html", {
        "documents": page.items, "offices": offices, "params": params,
        "next_cursor": page.next_cursor, "sorts": SORT_LABELS, "kantor": kantor,
        "kategori": kategori.value if kategori else None, "tahun": tahun, "urut": urut.value,
    })


SORT_LABELS = {SortKey.NEWEST.value: "Terbaru diterbitkan",
               SortKey.OLDEST.value: "Terlama diterbitkan",
               SortKey.DOCUMENT_DATE_DESC.value: "Tanggal dokumen terbaru",
               SortKey.DOCUMENT_DATE.value: "Tanggal dokumen terlama",
               SortKey.TITLE.value: "Judul A–Z", SortKey.TITLE_DESC.value: "Judul Z–A"}


@router.get("/kantor/{code}", response_class=HTMLResponse)
async def office_page(request: Request, code: str, container: Container) -> HTMLResponse:
    async with container.core.uow() as uow:
        offices = await service.known_offices(uow=uow)
        if code not in offices:
            return _not_found(request, "Kantor tidak ditemukan")
        latest = await service.list_publications(
            uow=uow, where=service.DocumentFilter(office=code), limit=20)
        counts = await service.count_publications(uow=uow, office=code)
    return render(request, "office.html", {
        "code": code, "name": offices[code], "documents": latest.items, "offices": offices,
        "counts": [(c.value, CATEGORY_LABELS[c.value], n) for c, n in counts.items()],
    })


TABS = (("semua", "Semua"), (KipCategory.BERKALA.value, "Berkala"),
        (KipCategory.SERTA_MERTA.value, "Serta merta"),
        (KipCategory.SETIAP_SAAT.value, "Setiap saat"))


@router.get("/dip", response_class=HTMLResponse)
async def dip_page(request: Request, container: Container, kantor: OfficeCode = None,
                   kategori: str = "semua") -> HTMLResponse:
    if kategori not in dict(TABS):
        kategori = "semua"
    category = None if kategori == "semua" else KipCategory(kategori)
    entries = await dip_entries(container, office=kantor, category=category)
    async with container.core.uow() as uow:
        offices = await service.known_offices(uow=uow)
    return render(request, "dip.html", {
        "entries": entries, "offices": offices, "kantor": kantor, "tabs": TABS,
        "kategori": kategori, "office_query": f"&kantor={kantor}" if kantor else "",
        "api_query": f"&office={kantor}" if kantor else "",
    })


@router.get("/dik", response_class=HTMLResponse)
async def dik_page(request: Request, container: Container,
                   kantor: OfficeCode = None) -> HTMLResponse:
    entries = await dik_entries(container, office=kantor)
    async with container.core.uow() as uow:
        offices = await service.known_offices(uow=uow)
    return render(request, "dik.html", {
        "entries": entries, "offices": offices, "kantor": kantor,
        "office_query": f"&office={kantor}" if kantor else "",
    })


@router.get("/dokumen/{document_id}", response_class=HTMLResponse)
async def document_page(request: Request, document_id: str,
                        container: Container) -> HTMLResponse:
    try:
        doc_id = UUID(document_id)
    except ValueError:
        return _not_found(request)
    async with container.core.uow() as uow:
        try:
            row = await service.get_publication(uow=uow, document_id=doc_id)
        except ApiError as exc:
            if exc.status_code != 404:
                raise
            return _not_found(request)
        offices = await service.name_offices(uow=uow)
        divisions = await service.name_divisions(uow=uow)
    preview = await build_preview(container, row)
    chart = None
    if preview.kind == "table":
        chart = table_chart(preview.columns, preview.rows, title=row.title)
    return render(request, "document.html", {
        "document": row, "dip": row.dip or {}, "offices": offices,
        "division": divisions.get(str(row.division_id)) if row.division_id else None,
        "download_url": content_url(row.document_id), "preview": preview, "chart": chart,
    })


def table_chart(columns: list[str], rows: list[list[Any]], *, title: str) -> Any:
    """A column chart of the table's first numeric column, labelled by its first column."""
    table = previews.Table(columns=columns, rows=rows)
    numeric = previews.numeric_columns(table)
    candidates = [i for i in numeric if i != 0] or list(numeric)
    if not candidates or not rows:
        return None
    index = candidates[0]
    labels: list[str] = []
    values: list[float] = []
    for row in rows[:40]:
        value = previews.as_number(row[index])
        if value is None:
            continue
        labels.append(str(row[0]) if index != 0 else str(len(labels) + 1))
        values.append(value)
    if not values:
        return None
    return {"column": columns[index], "svg": charts.column_chart(
        labels, values, title=f"{columns[index]} — {title}")}


@router.get("/dasbor", response_class=HTMLResponse)
async def dashboard_page(request: Request, container: Container) -> HTMLResponse:
    async with container.core.uow() as uow:
        stats = await service.statistics(uow=uow)
        offices = await service.known_offices(uow=uow)
        divisions = await service.name_divisions(uow=uow)
    months = sorted(stats.by_month)[-12:]
    office_codes = sorted(stats.by_office)
    grid = [[stats.by_office_month.get(code, {}).get(m, 0) for m in months]
            for code in office_codes]
    category_items = [(CATEGORY_LABELS.get(k, k), v) for k, v in sorted(stats.by_category.items())]
    total = stats.total or 1
    return render(request, "dashboard.html", {
        "stats": stats, "offices": offices, "months": months, "office_codes": office_codes,
        "grid": grid, "divisions": divisions, "category_items": category_items,
        "shares": [(label, round(100 * n / total, 1)) for label, n in category_items],
        "heatmap": charts.heatmap([_office_name(offices, c) for c in office_codes], months, grid,
                                  title="Publikasi per kantor per bulan") if months else None,
        "category_chart": charts.bar_chart(
            [label for label, _ in category_items],
            [round(100 * n / total, 1) for _, n in category_items],
            title="Pangsa publikasi per kategori", unit=" %") if category_items else None,
        "office_chart": charts.bar_chart(
            [_office_name(offices, c) for c in office_codes],
            [stats.by_office[c] for c in office_codes],
            title="Jumlah publikasi per kantor") if office_codes else None,
    })


# --- feeds and sitemap ------------------------------------------------------------------------

async def _feed(request: Request, container: Container, office: str | None) -> Response:
    async with container.core.uow() as uow:
        offices = await service.known_offices(uow=uow)
        if office and office not in offices:
            raise ApiError.not_found("Kantor tidak ditemukan.")
        page = await service.list_publications(
            uow=uow, where=service.DocumentFilter(office=office), limit=FEED_ITEMS)
    base = base_url(request, container)
    path = f"/kantor/{office}/feed.atom" if office else "/feed.atom"
    title = (f"Informasi publik {_office_name(offices, office)}" if office
             else f"Informasi publik {PORTAL_TITLE}")
    body = feeds.atom_feed(base_url=base, feed_path=path, title=title, rows=page.items,
                           offices=offices, category_labels=CATEGORY_LABELS)
    return Response(body, media_type=ATOM_MEDIA,
                    headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


@router.get("/feed.atom")
async def province_feed(request: Request, container: Container,
                        office: OfficeCode = None) -> Response:
    return await _feed(request, container, office)


@router.get("/kantor/{code}/feed.atom")
async def office_feed(request: Request, code: str, container: Container) -> Response:
    return await _feed(request, container, code)


@router.get("/sitemap.xml")
async def sitemap(request: Request, container: Container) -> Response:
    async with container.core.uow() as uow:
        offices = await service.known_offices(uow=uow)
        rows = await service.list_for_register(uow=uow)
    latest = max((r.published_at for r in rows if r.published_at), default=None)
    paths: list[tuple[str, datetime | None]] = [
        ("/", latest), ("/dokumen", latest), ("/dip", latest), ("/dik", None),
        ("/dasbor", latest)]
    paths += [(f"/kantor/{code}", None) for code in offices]
    paths += [(f"/dokumen/{r.document_id}", r.published_at) for r in _newest(rows)]
    body = feeds.sitemap(base_url=base_url(request, container), paths=paths)
    return Response(body, media_type="application/xml",
                    headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


def _newest(rows: list[Publication]) -> list[Publication]:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return sorted(rows, key=lambda r: r.published_at or epoch, reverse=True)[:45_000]


def _not_found(request: Request, title: str = "Dokumen tidak ditemukan") -> HTMLResponse:
    return render(request, "not_found.html", {"title": title}, status_code=404)
