"""Errors as the API answers them: ``{"code": <stable English code>, "message": <Indonesian>}``.

Raise :class:`ApiError` anywhere below a route; :func:`install_error_handlers` (called once in each
service's ``create_app``) renders it, FastAPI's request-validation errors and every
``HTTPException`` (including the framework's own 404 and 405) in that one shape (DESIGN.md §5).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

__all__ = ["ApiError", "error_response", "install_error_handlers"]


class ApiError(Exception):
    """An error the client is meant to see, with its HTTP status, stable code and message."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})

    @classmethod
    def not_found(cls, message: str = "Data tidak ditemukan.") -> ApiError:
        """Build the 404 that also hides objects of another office."""
        return cls(404, "not_found", message)

    @classmethod
    def forbidden(cls, message: str = "Anda tidak memiliki akses untuk tindakan ini.") -> ApiError:
        """Build a 403 for a route the user's role or permissions do not allow."""
        return cls(403, "forbidden", message)


# Codes and messages for HTTPExceptions raised without our shape (mostly by the framework).
_STATUS_TEXT: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Permintaan tidak dapat diproses."),
    401: ("not_authenticated", "Anda harus masuk terlebih dahulu."),
    403: ("forbidden", "Anda tidak memiliki akses untuk tindakan ini."),
    404: ("not_found", "Data tidak ditemukan."),
    405: ("method_not_allowed", "Metode HTTP ini tidak didukung untuk alamat tersebut."),
    406: ("not_acceptable", "Format jawaban yang diminta tidak tersedia."),
    409: ("conflict", "Permintaan bertentangan dengan keadaan data saat ini."),
    410: ("gone", "Data sudah tidak tersedia."),
    413: ("payload_too_large", "Ukuran berkas atau permintaan melebihi batas."),
    415: ("unsupported_media_type", "Jenis isi permintaan tidak didukung."),
    422: ("invalid_request", "Permintaan tidak valid."),
    429: ("too_many_requests", "Terlalu banyak permintaan. Coba lagi nanti."),
    500: ("internal_error", "Terjadi kesalahan pada server."),
    503: ("service_unavailable", "Layanan sedang tidak tersedia. Coba lagi nanti."),
}

_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


def _status_text(status_code: int) -> tuple[str, str]:
    if status_code in _STATUS_TEXT:
        return _STATUS_TEXT[status_code]
    if status_code >= 500:
        return _STATUS_TEXT[500]
    return _STATUS_TEXT[400]


def _body_allowed(status_code: int) -> bool:
    return not (status_code < 200 or status_code in {204, 205, 304})


def error_response(
    status_code: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render one error in the API's ``{"code", "message"}`` shape."""
    if not _body_allowed(status_code):
        return Response(status_code=status_code, headers=dict(headers or {}))
    return JSONResponse(
        {"code": code, "message": message}, status_code=status_code, headers=dict(headers or {})
    )


def _field_name(loc: Iterable[Any]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_message(errors: Iterable[Mapping[str, Any]]) -> str:
    errors = list(errors)
    if any(error.get("type") == "json_invalid" for error in errors):
        return "Isi permintaan bukan JSON yang valid."
    fields = list(dict.fromkeys(_field_name(error.get("loc", ())) for error in errors))
    if not fields:
        return "Permintaan tidak valid."
    return "Permintaan tidak valid. Periksa kolom: " + ", ".join(fields) + "."


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, exc.headers)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "invalid_request", validation_message(exc.errors()))


async def _http_exception(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code, message = _status_text(exc.status_code)
    detail = exc.detail
    if isinstance(detail, Mapping) and isinstance(detail.get("code"), str):
        code = detail["code"]
        message = str(detail.get("message", message))
    elif isinstance(detail, str) and detail:
        # The framework's own details are the English reason phrases; anything else was written
        # for the user by one of our routes and is kept.
        try:
            phrase = HTTPStatus(exc.status_code).phrase
        except ValueError:
            phrase = ""
        if detail != phrase:
            message = detail
    return error_response(exc.status_code, code, message, exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` answer as ``{"code", "message"}`` JSON."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
