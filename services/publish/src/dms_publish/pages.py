"""The public PPID portal's pages: the home page and one page per published document.

Every value reaches the HTML through Jinja2 with autoescaping on; text is in Bahasa Indonesia
and times are shown in WITA.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from dms_common.errors import ApiError
from dms_common.events import KipCategory
from dms_publish import service
from dms_publish.api import Container
from dms_publish.schemas import content_url

TEMPLATES = Path(__file__).parent / "templates"
WITA = ZoneInfo("Asia/Makassar")
PORTAL_TITLE = "PPID Bawaslu Provinsi Kalimantan Selatan"

CATEGORY_LABELS: dict[str, str] = {
    KipCategory.BERKALA.value: "Informasi Berkala",
    KipCategory.SERTA_MERTA.value: "Informasi Serta Merta",
    KipCategory.SETIAP_SAAT.value: "Informasi Setiap Saat",
}
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")
# Headers every page carries: nothing of ours is framed or sniffed.
PAGE_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                "Referrer-Policy": "same-origin"}


def format_date(value: date | datetime | None) -> str:
    """`5 Maret 2025`; a datetime as `5 Maret 2025 14.30 WITA`."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        local = value.astimezone(WITA)
        return f"{local.day} {MONTHS[local.month - 1]} {local.year} {local:%H.%M} WITA"
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def category_label(value: str | None) -> str:
    return CATEGORY_LABELS.get(value or "", "-")


def make_templates() -> Jinja2Templates:
    """The portal's template environment (autoescaping everything)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["tanggal"] = format_date
    env.filters["kategori"] = category_label
    env.globals["portal_title"] = PORTAL_TITLE
    return Jinja2Templates(env=env)


def _render(request: Request, name: str, context: dict[str, Any],
            status_code: int = 200) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, name, context, status_code=status_code,
                                          headers=PAGE_HEADERS)
    return response


router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home_page(request: Request, container: Container) -> HTMLResponse:
    async with container.core.uow() as uow:
        latest = await service.list_publications(
            uow=uow, limit=container.settings.portal_latest_count)
        counts = await service.count_publications(uow=uow)
        offices = await service.name_offices(uow=uow)
    return _render(request, "home.html", {
        "documents": latest.items, "offices": offices,
        "counts": [(CATEGORY_LABELS[c.value], n) for c, n in counts.items()],
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
    return _render(request, "document.html", {
        "document": row, "dip": row.dip or {}, "offices": offices,
        "download_url": content_url(row.document_id),
    })


def _not_found(request: Request) -> HTMLResponse:
    return _render(request, "not_found.html", {}, status_code=404)
