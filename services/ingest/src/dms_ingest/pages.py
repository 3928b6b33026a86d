"""Staff pages under /staf/ (Bahasa Indonesia), on the shared page kit (dms_common.pages).

Log in and out, the office's documents with filters, a document's versions and history, and an
upload page where several files are dropped at once, each with its own progress bar and its own
refusal message. Uploads go through the same streaming code as the API; page forms and the
upload script carry the CSRF token.

Sessions: logging in sets the access cookie (ten minutes, path /) and the refresh cookie
(a week, path /staf/, SameSite=Strict). When the access cookie has run out, every service's
pages send the browser to ``/staf/sesi?next=...`` (dms_common.pages.session_redirect), which
rotates the refresh token and goes back, or ends at the login page; the upload script renews
through ``POST /staf/sesi`` and retries the file.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from dms_common.errors import ApiError
from dms_common.identity.deps import ACCESS_COOKIE, OptionalUser, get_password_change_user
from dms_common.identity.tokens import Principal, Role
from dms_common.identity.users import Standing
from dms_common.pages import (
    LOGIN_PATH,
    PASSWORD_PATH,
    REFRESH_PATH,
    REFRESHED_COOKIE,
    REFRESHED_SECONDS,
    CsrfProtected,
    NavItem,
    access_fingerprint,
    make_templates,
    render,
    session_redirect,
    with_next,
)
from dms_ingest import api, identity_api
from dms_ingest import identity_service as identity
from dms_ingest.bootstrap import IngestApp
from dms_ingest.models import Division
from dms_ingest.schemas import DocumentOut, RetractIn

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
REFRESH_COOKIE = "dms_refresh"
REFRESH_COOKIE_PATH = "/staf/"
HOME = "/staf/"
MAX_NEXT = 2000
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


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else the staff home: never an open redirect.

    Only a single leading slash is a path here: `//host` and `/\\host` are other sites to a
    browser, which also drops tabs and line breaks from addresses, so no whitespace, control
    character or backslash passes. The login and refresh routes are not destinations either.
    """
    if not target or len(target) > MAX_NEXT or not target.startswith("/"):
        return HOME
    if target.startswith("//") or "\\" in target:
        return HOME
    if any(ord(char) <= 0x20 or 0x7F <= ord(char) <= 0x9F or char.isspace()
           for char in target):
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path in (LOGIN_PATH, REFRESH_PATH):
        return HOME
    return target


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _start_session(response: Response, request: Request, pair: identity.TokenPair) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(ACCESS_COOKIE, pair.access_token, httponly=True, samesite="lax",
                        path="/", secure=secure, max_age=600)
    response.set_cookie(REFRESH_COOKIE, pair.refresh_token, httponly=True, samesite="strict",
                        path=REFRESH_COOKIE_PATH, secure=secure, max_age=7 * 24 * 3600)


def _end_session(response: Response) -> None:
    response.delete_cookie(ACCESS_COOKIE, path="/")
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_COOKIE_PATH)
    response.delete_cookie(REFRESHED_COOKIE, path="/")


async def _rotate(request: Request, ingest: IngestApp) -> identity.TokenPair | None:
    """Spend the refresh cookie for a new pair; None when it is missing or refused."""
    refresh = request.cookies.get(REFRESH_COOKIE)
    if not refresh:
        return None
    # Committed even on a refusal: a replayed token revokes its family and is audited.
    async with ingest.core.uow() as uow:
        return await identity.refresh_tokens(uow=uow, issuer=ingest.issuer,
                                             refresh_token=refresh, client=_client(request))


class _LoginRequired(Exception):
    pass


def _reader(user: Principal | None, request: Request) -> Principal:
    if user is None:
        raise _LoginRequired(request.url.path)
    if user.role is Role.SUPERADMIN:
        raise ApiError.forbidden("Superadmin mengelola akun dan tidak membaca dokumen.")
    return user


def _to_login(request: Request) -> RedirectResponse:
    return session_redirect(request)


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
    return render(request, "staf_masuk.html", {"next": safe_next(next), "error": None,
                                               "username": ""})


@router.get("/sesi")
async def renew_session(request: Request, ingest: api.Ingest,
                        next: Annotated[str | None, Query()] = None) -> Response:
    """Renew the page session with the refresh cookie and go back to `next`, else log in."""
    target = safe_next(next)
    had_refresh = bool(request.cookies.get(REFRESH_COOKIE))
    pair = await _rotate(request, ingest)
    if pair is None:
        response = RedirectResponse(with_next(LOGIN_PATH, target), status_code=303)
        if had_refresh:
            # Only a refused cookie is cleared: a cross-site link arrives without the
            # Strict cookie and must not be able to log anyone out.
            _end_session(response)
        return response
    response = RedirectResponse(target, status_code=303)
    _start_session(response, request, pair)
    response.set_cookie(REFRESHED_COOKIE, access_fingerprint(pair.access_token), httponly=True,
                        samesite="lax", path="/", secure=request.url.scheme == "https",
                        max_age=REFRESHED_SECONDS)
    return response


@router.post("/sesi", status_code=204, response_class=Response)
async def renew_session_for_script(request: Request, _csrf: CsrfProtected,
                                   ingest: api.Ingest) -> Response:
    """The upload script's renewal: 204 with fresh cookies, or 401 with the cookies cleared."""
    pair = await _rotate(request, ingest)
    if pair is None:
        refused = identity.refresh_refused()
        response: Response = JSONResponse({"code": refused.code, "message": refused.message},
                                          status_code=401, headers=refused.headers)
        _end_session(response)
        return response
    response = Response(status_code=204)
    _start_session(response, request, pair)
    return response


@router.post("/masuk", response_class=HTMLResponse)
async def login(request: Request, _csrf: CsrfProtected, ingest: api.Ingest,
                username: Annotated[str, Form(max_length=200)],
                password: Annotated[str, Form(max_length=500)],
                next: Annotated[str, Form(max_length=500)] = "/staf/") -> Response:
    try:
        pair = await identity_api.log_in(ingest, username=username, password=password,
                                         client=_client(request))
    except ApiError as exc:
        return render(request, "staf_masuk.html", {"next": safe_next(next),
                                                   "error": exc.message, "username": username},
                      status_code=exc.status_code, headers=exc.headers)
    target = safe_next(next)
    if pair.must_change_password:
        target = with_next(PASSWORD_PATH, target)
    response = RedirectResponse(target, status_code=303)
    _start_session(response, request, pair)
    response.delete_cookie(REFRESHED_COOKIE, path="/")
    return response


async def _password_user(request: Request) -> Principal | None:
    """The signed-in user, even one who must still replace a reset password."""
    try:
        return await get_password_change_user(request, None, request.cookies.get(ACCESS_COOKIE))
    except ApiError:
        return None


@router.get("/sandi", response_class=HTMLResponse)
async def password_page(request: Request, ingest: api.Ingest,
                        next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    user = await _password_user(request)
    if user is None:
        return session_redirect(request)
    return render(request, "staf_sandi.html", {
        "next": safe_next(next), "error": None, "user": user,
        "required": await _must_change(ingest, user)})


async def _must_change(ingest: IngestApp, user: Principal) -> bool:
    return await ingest.core.user_status.standing(user.user_id) is Standing.PASSWORD_CHANGE


@router.post("/sandi", response_class=HTMLResponse)
async def change_password(request: Request, _csrf: CsrfProtected, ingest: api.Ingest,
                          old_password: Annotated[str, Form(max_length=256)],
                          new_password: Annotated[str, Form(max_length=256)],
                          repeated: Annotated[str, Form(max_length=256)],
                          next: Annotated[str, Form(max_length=500)] = HOME) -> Response:
    user = await _password_user(request)
    if user is None:
        return session_redirect(request)
    target = safe_next(next)
    error = None
    if new_password != repeated:
        error, status = "Kata sandi baru dan ulangannya tidak sama.", 422
    else:
        try:
            async with ingest.core.uow() as uow:
                pair = await identity.change_password(
                    uow=uow, issuer=ingest.issuer, principal=user, old_password=old_password,
                    new_password=new_password, client=_client(request))
        except ApiError as exc:
            error, status = exc.message, exc.status_code
    if error is not None:
        return render(request, "staf_sandi.html", {
            "next": target, "error": error, "user": user,
            "required": await _must_change(ingest, user)}, status_code=status)
    ingest.core.user_status.invalidate(user.user_id)
    response = RedirectResponse(target, status_code=303)
    _start_session(response, request, pair)
    return response


@router.post("/keluar")
async def logout(request: Request, _csrf: CsrfProtected, ingest: api.Ingest) -> Response:
    refresh = request.cookies.get(REFRESH_COOKIE)
    if refresh:
        await identity_api.log_out(ingest, refresh_token=refresh, client=_client(request))
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    _end_session(response)
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
