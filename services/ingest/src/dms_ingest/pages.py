"""Staff pages under /staf/ (Bahasa Indonesia), on the shared page kit (dms_common.pages).

Log in and out, the office's documents with filters, a document's versions and history, and an
upload page where several files are dropped at once, each with its own progress bar and its own
refusal message. Uploads go through the same streaming code as the API; page forms and the
upload script carry the CSRF token.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from dms_common.errors import ApiError
from dms_common.identity.deps import ACCESS_COOKIE, OptionalUser
from dms_common.identity.tokens import Principal, Role
from dms_common.pages import CsrfProtected, NavItem, make_templates, render
from dms_ingest import api, identity_api
from dms_ingest.models import Division
from dms_ingest.schemas import DocumentOut, RetractIn

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
REFRESH_COOKIE = "dms_refresh"
STAFF_TITLE = "DMS Bawaslu Kalimantan Selatan"
NAV = (NavItem("/staf/", "Dokumen"), NavItem("/staf/unggah", "Unggah"))
STATUS_LABELS = {
    "received": "Diterima", "extracted": "Siap ditinjau", "extraction_failed": "Gagal dibaca",
    "classified": "Diklasifikasi", "published": "Dipublikasikan", "withheld": "Dikecualikan",
    "withdrawn": "Ditarik dari publik", "retracted": "Dibatalkan pengunggah",
}
ACTION_LABELS = {
    "upload": "Diunggah", "upload_version": "Versi baru diunggah", "download": "Diunduh",
    "retract": "Dibatalkan",
}


def build_templates() -> Jinja2Templates:
    return make_templates(TEMPLATES, site_title=STAFF_TITLE, nav=NAV,
                          globals_={"status_labels": STATUS_LABELS,
                                    "action_labels": ACTION_LABELS})


router = APIRouter(prefix="/staf", include_in_schema=False)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/staf/") and not target.startswith("//"):
        return target
    return "/staf/"


class _LoginRequired(Exception):
    pass


def _reader(user: Principal | None, request: Request) -> Principal:
    if user is None:
        raise _LoginRequired(request.url.path)
    if user.role is Role.SUPERADMIN:
        raise ApiError.forbidden("Superadmin mengelola akun dan tidak membaca dokumen.")
    return user


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/staf/masuk?next={target}", status_code=303)


def _error(request: Request, exc: ApiError) -> HTMLResponse:
    return render(request, "error.html", {"title": "Tidak dapat ditampilkan",
                                          "message": exc.message},
                  status_code=exc.status_code)


@router.get("/static/unggah.js")
async def upload_script() -> FileResponse:
    return FileResponse(STATIC / "unggah.js", media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})


@router.get("/masuk", response_class=HTMLResponse)
async def login_page(request: Request,
                     next: Annotated[str | None, Query(max_length=500)] = None) -> HTMLResponse:
    return render(request, "staf_masuk.html", {"next": _safe_next(next), "error": None,
                                               "username": ""})


@router.post("/masuk", response_class=HTMLResponse)
async def login(request: Request, _csrf: CsrfProtected, ingest: api.Ingest,
                username: Annotated[str, Form(max_length=200)],
                password: Annotated[str, Form(max_length=500)],
                next: Annotated[str, Form(max_length=500)] = "/staf/") -> Response:
    try:
        pair = await identity_api.log_in(ingest, username=username, password=password,
                                         client=request.client.host if request.client else None)
    except ApiError as exc:
        return render(request, "staf_masuk.html", {"next": _safe_next(next),
                                                   "error": exc.message, "username": username},
                      status_code=exc.status_code, headers=exc.headers)
    response = RedirectResponse(_safe_next(next), status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(ACCESS_COOKIE, pair.access_token, httponly=True, samesite="lax",
                        path="/", secure=secure, max_age=600)
    response.set_cookie(REFRESH_COOKIE, pair.refresh_token, httponly=True, samesite="strict",
                        path="/staf/", secure=secure, max_age=7 * 24 * 3600)
    return response


@router.post("/keluar")
async def logout(request: Request, _csrf: CsrfProtected, ingest: api.Ingest) -> Response:
    refresh = request.cookies.get(REFRESH_COOKIE)
    if refresh:
        await identity_api.log_out(ingest, refresh_token=refresh,
                                   client=request.client.host if request.client else None)
    response = RedirectResponse("/staf/masuk", status_code=303)
    response.delete_cookie(ACCESS_COOKIE, path="/")
    response.delete_cookie(REFRESH_COOKIE, path="/staf/")
    return response


@router.get("/", response_class=HTMLResponse)
async def documents_page(
        request: Request, user: OptionalUser, ingest: api.Ingest,
        status: Annotated[str | None, Query(max_length=40)] = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        category: Annotated[str | None, Query(max_length=40)] = None,
        date_from: Annotated[str | None, Query(max_length=10)] = None,
        date_to: Annotated[str | None, Query(max_length=10)] = None,
        cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    try:
        reader = _reader(user, request)
        listing = await api.list_documents(
            user=reader, ingest=ingest, status=status or None, office=None, division_id=None,
            category=category or None, date_from=_date(date_from), date_to=_date(date_to),
            q=q or None, sha256=None, limit=25, cursor=cursor or None)
    except _LoginRequired:
        return _to_login(request)
    except ApiError as exc:
        return _error(request, exc)
    filters = {"status": status or "", "q": q or "", "category": category or "",
               "date_from": date_from or "", "date_to": date_to or ""}
    return render(request, "staf_dokumen.html", {
        "user": reader, "documents": listing.items, "next_cursor": listing.next_cursor,
        "filters": filters, "query": "&".join(f"{k}={v}" for k, v in filters.items() if v)})


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ApiError(422, "invalid_date", f"Tanggal tidak valid: {value}.") from exc


@router.get("/unggah", response_class=HTMLResponse)
async def upload_page(request: Request, user: OptionalUser, ingest: api.Ingest) -> Response:
    try:
        reader = _reader(user, request)
    except _LoginRequired:
        return _to_login(request)
    except ApiError as exc:
        return _error(request, exc)
    async with ingest.core.sessions() as session:
        divisions = (await session.execute(select(Division).where(
            Division.valid_until.is_(None)).order_by(Division.name))).scalars().all()
    return render(request, "staf_unggah.html", {
        "user": reader, "divisions": divisions,
        "max_mb": ingest.settings.max_upload_bytes // (1024 * 1024)})


@router.post("/unggah", status_code=201, response_model=DocumentOut)
async def upload(request: Request, _csrf: CsrfProtected, user: OptionalUser,
                 ingest: api.Ingest) -> DocumentOut:
    """The upload script's target: the API's upload behind the page's CSRF check."""
    if user is None:
        raise ApiError(401, "not_authenticated", "Sesi Anda berakhir. Silakan masuk kembali.")
    return await api.upload(request, user, ingest)


@router.get("/dokumen/{document_id}", response_class=HTMLResponse)
async def document_page(request: Request, document_id: uuid.UUID, user: OptionalUser,
                        ingest: api.Ingest) -> Response:
    try:
        reader = _reader(user, request)
        document = await api.get_document(document_id, reader, ingest)
    except _LoginRequired:
        return _to_login(request)
    except ApiError as exc:
        return _error(request, exc)
    return render(request, "staf_dokumen_satu.html", {
        "user": reader, "doc": document,
        "may_upload": reader.role in (Role.STAFF, Role.OFFICE_ADMIN),
        "may_retract": document.status in ("received", "extracted", "extraction_failed")
        and (document.uploader_id == reader.user_id or reader.role is Role.OFFICE_ADMIN),
        "max_mb": ingest.settings.max_upload_bytes // (1024 * 1024)})


@router.post("/dokumen/{document_id}/versi", status_code=201, response_model=DocumentOut)
async def upload_version(document_id: uuid.UUID, request: Request, _csrf: CsrfProtected,
                         user: OptionalUser, ingest: api.Ingest) -> DocumentOut:
    if user is None:
        raise ApiError(401, "not_authenticated", "Sesi Anda berakhir. Silakan masuk kembali.")
    return await api.upload_version(document_id, request, user, ingest)


@router.post("/dokumen/{document_id}/tarik")
async def retract(document_id: uuid.UUID, request: Request, _csrf: CsrfProtected,
                  user: OptionalUser, ingest: api.Ingest,
                  reason: Annotated[str, Form(max_length=1000)] = "") -> Response:
    try:
        reader = _reader(user, request)
        await api.retract(document_id, RetractIn(reason=reason), request, reader, ingest)
    except _LoginRequired:
        return _to_login(request)
    except ApiError as exc:
        return _error(request, exc)
    return RedirectResponse(f"/staf/dokumen/{document_id}", status_code=303)
