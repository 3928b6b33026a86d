"""The page kit every service's HTML pages are built on.

One look for all of DMS: the services' templates extend ``layout.html`` from
here (a shared stylesheet, the header, skip link and footer), and get the same
filters (dates in WITA, KIP category names) and the same protections:

- Autoescaping everywhere and a strict Content-Security-Policy (scripts only
  from our own origin), so a title holding ``<script>`` stays text.
- CSRF by double submit: ``render()`` puts a random token into a cookie
  (``dms_csrf``, HttpOnly, SameSite=Strict) and into the page as
  ``csrf_token`` (a hidden field, and a ``<meta name="csrf-token">`` for
  scripts); ``require_csrf`` accepts a state-changing request only when the
  form field or the ``X-CSRF-Token`` header equals the cookie. A page of
  another origin can neither read the cookie nor set the header.
- Errors on a page answer a readable page, not JSON: ``install_page_errors``
  wraps the service's error handlers for HTML requests, and a 401 sends the
  browser to renew its session (``session_redirect``), then to the login page
  only when that fails, with the address to come back to.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from dms_common.errors import ApiError, validation_message
from dms_common.events import KipCategory
from dms_common.identity.deps import ACCESS_COOKIE

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LOGIN_PATH",
    "PAGE_HEADERS",
    "REFRESHED_COOKIE",
    "REFRESHED_SECONDS",
    "REFRESH_PATH",
    "WITA",
    "CsrfProtected",
    "NavItem",
    "access_fingerprint",
    "category_label",
    "format_date",
    "format_size",
    "install_page_errors",
    "make_templates",
    "render",
    "require_csrf",
    "session_redirect",
    "wants_html",
    "with_next",
]

WITA = ZoneInfo("Asia/Makassar")
COMMON_TEMPLATES = Path(__file__).parent / "templates"
CSRF_COOKIE = "dms_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_PATH = "/staf/masuk"
# Ingest's route that turns the refresh cookie into a fresh access cookie (see session_redirect).
REFRESH_PATH = "/staf/sesi"
# Ingest's page where a user replaces a password (the only page open after an admin's reset).
PASSWORD_PATH = "/staf/sandi"  # noqa: S105 - a path, not a password
# Set by the refresh route: which access token it has just issued (see session_redirect).
REFRESHED_COOKIE = "dms_refreshed"
REFRESHED_SECONDS = 30

CATEGORY_LABELS: dict[str, str] = {
    KipCategory.BERKALA.value: "Informasi Berkala",
    KipCategory.SERTA_MERTA.value: "Informasi Serta Merta",
    KipCategory.SETIAP_SAAT.value: "Informasi Setiap Saat",
    KipCategory.DIKECUALIKAN.value: "Informasi yang Dikecualikan",
}
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")
# Scripts only from our own origin (no inline script, nothing from elsewhere); the shared
# stylesheet is inline in the layout; images may be our own previews or inline SVG charts.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
}


Handler = Callable[[Request, Exception], Awaitable[Response]]


@dataclass(frozen=True)
class NavItem:
    """A link of the header's navigation."""

    href: str
    label: str


def format_date(value: date | datetime | None) -> str:
    """`5 Maret 2025`; a datetime as `5 Maret 2025 14.30 WITA`."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        local = value.astimezone(WITA)
        return f"{local.day} {MONTHS[local.month - 1]} {local.year} {local:%H.%M} WITA"
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def category_label(value: str | None) -> str:
    """The Indonesian name of a KIP category, `-` when there is none yet."""
    return CATEGORY_LABELS.get(value or "", "-")


def format_size(size: int | None) -> str:
    """A byte count the way people read it: `1,5 MB`."""
    if size is None:
        return "-"
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            text = f"{amount:.0f}" if unit == "B" else f"{amount:.1f}"
            return f"{text.replace('.', ',')} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def make_templates(service_templates: Path, *, site_title: str,
                   nav: Sequence[NavItem] = (),
                   globals_: Mapping[str, Any] | None = None) -> Jinja2Templates:
    """A template environment: the service's own folder first, then the shared layout."""
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(service_templates),
                                    jinja2.FileSystemLoader(COMMON_TEMPLATES)]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["tanggal"] = format_date
    env.filters["kategori"] = category_label
    env.filters["ukuran"] = format_size
    env.globals["site_title"] = site_title
    env.globals["nav"] = list(nav)
    env.globals.update(globals_ or {})
    return Jinja2Templates(env=env)


def _csrf_cookie(request: Request) -> str | None:
    token = request.cookies.get(CSRF_COOKIE)
    # Only our own tokens' shape is accepted, so a cookie planted by a sibling host cannot
    # carry something odd into the page.
    if token and 20 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum():
        return token
    return None


def render(request: Request, name: str, context: Mapping[str, Any] | None = None, *,
           status_code: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """Render a page of this service with the CSRF token, the current path and safe headers."""
    templates: Jinja2Templates = request.app.state.templates
    token = _csrf_cookie(request)
    fresh = token is None
    if token is None:
        token = secrets.token_urlsafe(32)
    page_context = {"csrf_token": token, "current_path": request.url.path, **(context or {})}
    response = templates.TemplateResponse(request, name, page_context, status_code=status_code,
                                          headers={**PAGE_HEADERS, **(headers or {})})
    if fresh:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
    return response


async def require_csrf(request: Request) -> None:
    """Refuse a state-changing page request whose CSRF token does not match its cookie."""
    expected = _csrf_cookie(request)
    offered = request.headers.get(CSRF_HEADER)
    if offered is None:
        content_type = request.headers.get("content-type", "")
        # A multipart upload is read as a stream by its route; it must send the header.
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = await request.form()  # cached by Starlette, so the route can read it again
            value = form.get(CSRF_FIELD)
            offered = value if isinstance(value, str) else None
    if expected is None or offered is None or not hmac.compare_digest(expected, offered):
        raise ApiError(403, "csrf_failed", "Formulir sudah kedaluwarsa atau tidak sah. "
                       "Muat ulang halaman lalu coba lagi.")


CsrfProtected = Annotated[None, Depends(require_csrf)]


def wants_html(request: Request, api_prefixes: Iterable[str] = ("/api/",)) -> bool:
    """Whether the request is a browser asking for a page rather than an API call."""
    if any(request.url.path.startswith(prefix) for prefix in api_prefixes):
        return False
    if request.url.path in {"/healthz", "/readyz", "/metrics", "/openapi.json"}:
        return False
    return "text/html" in request.headers.get("accept", "")


_ERROR_TITLES = {
    400: "Permintaan tidak valid",
    403: "Akses ditolak",
    404: "Halaman tidak ditemukan",
    405: "Metode tidak diizinkan",
    409: "Terjadi konflik",
    413: "Berkas terlalu besar",
    415: "Jenis berkas tidak didukung",
    422: "Isian belum lengkap",
    429: "Terlalu banyak percobaan",
}


def with_next(path: str, target: str) -> str:
    """The address of page `path` that goes on to `target` afterwards."""
    return f"{path}?next={quote(target, safe='')}"


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def access_fingerprint(token: str) -> str:
    """A short digest of an access token, to recognise it in the refresh marker cookie."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def session_redirect(request: Request) -> RedirectResponse:
    """Where a page request without a usable login goes: renew the session, or log in.

    The access cookie lives ten minutes; the refresh cookie (``dms_refresh``, HttpOnly,
    SameSite=Strict) lives a week and is scoped to ``/staf/``. Rather than widening that
    cookie to ``/`` so that every service could see it, every service sends the browser to
    ingest's refresh route (``REFRESH_PATH``), which rotates the refresh token and comes back
    to ``next``, or falls through to the login page when there is no refresh cookie or it is
    refused. The long-lived credential then only ever travels to the one route that spends it,
    never to classify's, publish's or search's pages nor to any API; the price is one extra
    redirect for a visitor who is not logged in at all.

    Loops: the refresh route marks the access token it issues in ``REFRESHED_COOKIE`` (short
    lived). If that very token (or none at all: the browser did not keep it) is refused
    again, refreshing once more would only loop, so the browser goes to the login page.
    """
    target = _here(request)
    marker = request.cookies.get(REFRESHED_COOKIE)
    access = request.cookies.get(ACCESS_COOKIE)
    if marker is not None and (not access or hmac.compare_digest(
            marker.encode(), access_fingerprint(access).encode())):
        response = RedirectResponse(with_next(LOGIN_PATH, target), status_code=303)
        response.delete_cookie(REFRESHED_COOKIE, path="/")
        return response
    return RedirectResponse(with_next(REFRESH_PATH, target), status_code=303)


def _error_page(request: Request, status_code: int, message: str,
                headers: Mapping[str, str] | None = None) -> Response:
    if status_code == 401:
        return session_redirect(request)
    title = _ERROR_TITLES.get(status_code, "Terjadi kesalahan")
    return render(request, "error.html", {"title": title, "message": message},
                  status_code=status_code, headers=headers)


def install_page_errors(app: FastAPI) -> None:
    """Answer errors of HTML requests with a readable page (401: renew the session or log in).

    Call after `install_error_handlers`; API requests keep their JSON errors.
    """
    json_api_error = cast(Handler, app.exception_handlers[ApiError])
    json_http_error = cast(Handler, app.exception_handlers[StarletteHTTPException])
    json_validation_error = cast(Handler, app.exception_handlers[RequestValidationError])

    async def api_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, ApiError) and wants_html(request):
            if exc.code == "password_change_required":
                # An admin reset the password: the only way on is to replace it.
                return RedirectResponse(with_next(PASSWORD_PATH, _here(request)),
                                        status_code=303)
            return _error_page(request, exc.status_code, exc.message, exc.headers)
        return await json_api_error(request, exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StarletteHTTPException) and wants_html(request):
            message = ("Alamat yang Anda buka tidak ada atau sudah dipindahkan."
                       if exc.status_code == 404 else _ERROR_TITLES.get(exc.status_code,
                                                                        "Terjadi kesalahan."))
            return _error_page(request, exc.status_code, message)
        return await json_http_error(request, exc)

    async def validation_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, RequestValidationError) and wants_html(request):
            return _error_page(request, 422, validation_message(exc.errors()))
        return await json_validation_error(request, exc)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
