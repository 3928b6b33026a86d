"""FastAPI dependencies that turn a request into a :class:`Principal`, and the office rules.

Wiring: each service's lifespan puts two objects where these dependencies find them, either on
``app.state`` or in the lifespan state it yields (``request.state``, which is looked at first)::

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.token_verifier = TokenVerifier(load_key(settings.jwt_public_key))
        app.state.user_status = CachedUserStatus(<the service's identity read-model>)
        yield

- ``token_verifier``: a :class:`~dms_common.identity.tokens.TokenVerifier`
- ``user_status``: any :class:`~dms_common.identity.users.UserStatus`

A missing one is a wiring bug and fails the request with a 500 rather than letting it through.

The token comes from ``Authorization: Bearer <token>`` or, for the browser pages, from the HttpOnly
cookie ``dms_access``; a header, when present, wins. Failures answer 401 with
``WWW-Authenticate: Bearer`` and code ``not_authenticated``, ``invalid_token`` or
``user_disabled``. A user whose password an admin reset gets 403 ``password_change_required``
from every service until they set their own; only routes that take :data:`PasswordChangeUser`
(replacing the password, reading one's own account, logging out) let them through. Route-level
role and permission checks answer 403 ``forbidden``. Object-level
checks are the services' business: an object of another office answers 404 — use
:func:`can_read_office` and friends, and raise ``ApiError.not_found()``.

Cookie authentication needs CSRF protection on state-changing forms; that belongs to the pages.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from dms_common.errors import ApiError
from dms_common.identity.tokens import InvalidToken, Principal, Role, TokenVerifier
from dms_common.identity.users import Standing, UserStatus

__all__ = [
    "ACCESS_COOKIE",
    "CurrentUser",
    "OptionalUser",
    "PasswordChangeUser",
    "can_classify_office",
    "can_manage_office",
    "can_read_office",
    "get_current_user",
    "get_optional_user",
    "require_permission",
    "require_role",
]

ACCESS_COOKIE = "dms_access"

_log = logging.getLogger(__name__)

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_MESSAGES = {
    "not_authenticated": "Anda harus masuk terlebih dahulu.",
    "invalid_token": "Token akses tidak valid. Silakan masuk kembali.",
    "expired": "Token akses sudah kedaluwarsa. Silakan masuk kembali.",
    "user_disabled": "Akun Anda tidak aktif. Hubungi admin kantor Anda.",
    "forbidden": "Anda tidak memiliki akses untuk tindakan ini.",
    "password_change_required": "Anda harus mengganti kata sandi terlebih dahulu "
                                "(POST /api/v1/auth/password).",
}

# auto_error=False: absence is ours to report, in our error shape. Declaring them still puts both
# schemes into the OpenAPI document, so /docs can authorize.
_bearer_scheme = HTTPBearer(auto_error=False, description="Token akses dari /api/v1/auth/token")
_cookie_scheme = APIKeyCookie(
    name=ACCESS_COOKIE, auto_error=False, description="Token akses untuk halaman web (HttpOnly)"
)


def _unauthorized(code: str, message_key: str | None = None) -> ApiError:
    return ApiError(401, code, _MESSAGES[message_key or code], _CHALLENGE)


def _state_object(request: Request, name: str) -> Any:
    value = getattr(request.state, name, None)
    if value is None:
        value = getattr(request.app.state, name, None)
    if value is None:
        raise RuntimeError(f"{name} is not set on app.state: wire it in the service's lifespan")
    return value


def _verifier(request: Request) -> TokenVerifier:
    verifier = _state_object(request, "token_verifier")
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError("app.state.token_verifier must be a TokenVerifier")
    return verifier


def _user_status(request: Request) -> UserStatus:
    status = _state_object(request, "user_status")
    if not isinstance(status, UserStatus):
        raise RuntimeError("app.state.user_status must implement UserStatus")
    return status


async def _authenticate(request: Request, token: str, *,
                        pending_password: bool = False) -> Principal:
    try:
        principal = _verifier(request).verify(token)
    except InvalidToken as exc:
        _log.info("refused access token: %s", exc.reason)
        raise _unauthorized(
            "invalid_token", "expired" if exc.reason == "expired" else None
        ) from exc
    standing = await _user_status(request).standing(principal.user_id)
    if standing is Standing.DISABLED:
        raise _unauthorized("user_disabled")
    if standing is Standing.PASSWORD_CHANGE and not pending_password:
        key = "password_change_required"
        raise ApiError(403, key, _MESSAGES[key])
    return principal


def _token(bearer: HTTPAuthorizationCredentials | None, cookie: str | None) -> str:
    token = bearer.credentials if bearer is not None else cookie
    if not token:
        raise _unauthorized("not_authenticated")
    return token


async def get_current_user(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
    cookie: Annotated[str | None, Depends(_cookie_scheme)],
) -> Principal:
    """Authenticate the request from its bearer header or access cookie, or answer 401."""
    return await _authenticate(request, _token(bearer, cookie))


async def get_password_change_user(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
    cookie: Annotated[str | None, Depends(_cookie_scheme)],
) -> Principal:
    """Like :func:`get_current_user`, but let through a user who must replace their password."""
    return await _authenticate(request, _token(bearer, cookie), pending_password=True)


async def get_optional_user(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
    cookie: Annotated[str | None, Depends(_cookie_scheme)],
) -> Principal | None:
    """Authenticate the request if it carries a token; anonymous requests get ``None``."""
    if bearer is not None:
        # An API client that sends a token wants it honoured: tell it the token is bad.
        return await _authenticate(request, bearer.credentials)
    if not cookie:
        return None
    try:
        return await _authenticate(request, cookie)
    except ApiError:
        # A stale cookie must not lock a browser out of the public portal: browse anonymously.
        return None


CurrentUser = Annotated[Principal, Depends(get_current_user)]
OptionalUser = Annotated[Principal | None, Depends(get_optional_user)]
PasswordChangeUser = Annotated[Principal, Depends(get_password_change_user)]


def require_role(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """Build a dependency that returns the user if their role is one of ``roles``, else 403."""
    if not roles:
        raise ValueError("require_role needs at least one role")
    allowed = frozenset(Role(role) for role in roles)

    async def dependency(user: CurrentUser) -> Principal:
        if user.role not in allowed:
            raise ApiError(403, "forbidden", _MESSAGES["forbidden"])
        return user

    return dependency


OfficeCodeSource = str | Callable[[Request], str | None] | None


def _office_code(request: Request, source: OfficeCodeSource, user: Principal) -> str | None:
    if source is None:
        return user.office_code
    if callable(source):
        return source(request)
    value = request.path_params.get(source)
    if value is None:
        value = request.query_params.get(source)
    return None if value is None else str(value)


def require_permission(
    name: str, office_code_from: OfficeCodeSource = None
) -> Callable[[Request, Principal], Awaitable[Principal]]:
    """Build a dependency that returns the user if they hold ``name`` for the office, else 403.

    ``office_code_from`` says which office: ``None`` for the user's own office, a string naming a
    path parameter (or, failing that, a query parameter), or a function of the request.
    """

    async def dependency(request: Request, user: CurrentUser) -> Principal:
        office_code = _office_code(request, office_code_from, user)
        if not office_code:
            raise ApiError(422, "invalid_request", "Kode kantor wajib diisi.")
        if not user.has_permission(name, office_code):
            raise ApiError(403, "forbidden", _MESSAGES["forbidden"])
        return user

    return dependency


def can_read_office(principal: Principal, office_code: str) -> bool:
    """Tell whether the user may see documents of ``office_code``.

    PPID reads every office; staff and office admins only their own; the superadmin reads no
    documents at all (separation of duties).
    """
    if principal.role is Role.PPID:
        return True
    if principal.role in (Role.STAFF, Role.OFFICE_ADMIN):
        return principal.office_code == office_code
    return False


def can_classify_office(principal: Principal, office_code: str) -> bool:
    """Tell whether the user may classify, publish or withdraw documents of ``office_code``."""
    if principal.role is Role.PPID:
        return True
    if principal.role is Role.OFFICE_ADMIN:
        return principal.office_code == office_code
    return False


def can_manage_office(principal: Principal, office_code: str) -> bool:
    """Tell whether the user may manage the accounts and settings of ``office_code``.

    The superadmin manages every office; an office admin only their own. PPID and staff manage none.
    """
    if principal.role is Role.SUPERADMIN:
        return True
    if principal.role is Role.OFFICE_ADMIN:
        return principal.office_code == office_code
    return False
