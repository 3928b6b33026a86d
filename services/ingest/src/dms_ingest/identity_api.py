"""Ingest's identity API (thin): tokens, offices, divisions, accounts and the audit log.

A user whose password an admin reset (`must_change_password`) still receives tokens, and
`GET /api/v1/auth/me` says so; every other API of every service then answers 403
`password_change_required` until `POST /api/v1/auth/password` sets a new password. The flag
travels on `dms.identity.changed` with the user's fields, so each service's user standing (see
`dms_common.identity.users`) knows it; only the routes here that take `PasswordChangeUser` let
such a user through. The reset also revokes the user's refresh tokens.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from dms_common.errors import ApiError
from dms_common.identity.deps import ACCESS_COOKIE, CurrentUser, PasswordChangeUser
from dms_common.identity.tokens import InvalidToken, Role
from dms_common.identity.users import Standing
from dms_common.web import container_dependency, container_of
from dms_ingest import identity_service as identity
from dms_ingest.bootstrap import IngestApp
from dms_ingest.models import Division, Office, User
from dms_ingest.schemas import (
    AuditEntryOut,
    AuditList,
    DivisionIn,
    DivisionOut,
    DivisionUpdate,
    MeOut,
    OfficeIn,
    OfficeOut,
    OfficeUpdate,
    PasswordChangeIn,
    PasswordResetOut,
    RefreshIn,
    TokenOut,
    UserIn,
    UserList,
    UserOut,
    UserUpdate,
)

__all__ = ["auth_router", "log_in", "log_out", "password_current", "router"]


Ingest = Annotated[IngestApp, Depends(container_dependency(IngestApp))]


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


# What a user who must replace their password may still open: the way to do it, and the way out.
_PAGES_BEFORE_PASSWORD = frozenset({"/staf/sandi", "/staf/masuk", "/staf/keluar", "/staf/sesi",
                                    "/staf/static/unggah.js"})


async def password_current(request: Request) -> None:
    """Pages: refuse a signed-in user who must first replace a reset password (403).

    The pages read their user leniently (a stale cookie browses as nobody), so the APIs' own
    refusal does not reach them; this asks the same cached standing, with no query of its own.
    """
    token = request.cookies.get(ACCESS_COOKIE)
    if not token or request.url.path in _PAGES_BEFORE_PASSWORD:
        return
    ingest = container_of(request, IngestApp)
    try:
        principal = ingest.core.verifier.verify(token)
    except InvalidToken:
        return  # the page's own authentication answers
    if await ingest.core.user_status.standing(principal.user_id) is Standing.PASSWORD_CHANGE:
        raise ApiError(403, "password_change_required",
                       "Anda harus mengganti kata sandi terlebih dahulu.")


auth_router = APIRouter(tags=["auth"])
router = APIRouter()


def _token_out(pair: identity.TokenPair) -> TokenOut:
    return TokenOut(access_token=pair.access_token, token_type="bearer",  # noqa: S106
                    refresh_token=pair.refresh_token,
                    must_change_password=pair.must_change_password)


async def log_in(ingest: IngestApp, *, username: str, password: str,
                 client: str | None) -> identity.TokenPair:
    """Authenticate under the login throttle and return tokens, or raise the 401/429 ApiError.

    The attempt is committed before raising, so failures count towards the throttle.
    """
    async with ingest.core.uow() as uow:
        outcome = await identity.authenticate(uow=uow, issuer=ingest.issuer, username=username,
                                              password=password, client=client)
    if outcome.refusal is not None:
        raise outcome.refusal
    assert outcome.tokens is not None
    return outcome.tokens


async def log_out(ingest: IngestApp, *, refresh_token: str, client: str | None) -> None:
    """Revoke a refresh token (and the session family it belongs to); unknown tokens are ignored."""
    async with ingest.core.uow() as uow:
        await identity.log_out(uow=uow, refresh_token=refresh_token, client=client)


# --- auth -----------------------------------------------------------------------------------------


@auth_router.post("/api/v1/auth/token", response_model=TokenOut,
                  summary="Masuk: tukar nama pengguna dan kata sandi dengan token",
                  responses={401: {"description": "Nama pengguna atau kata sandi salah"},
                             429: {"description": "Terlalu banyak percobaan gagal (Retry-After)"}})
async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request,
                ingest: Ingest) -> TokenOut:
    pair = await log_in(ingest, username=form.username, password=form.password,
                        client=client_of(request))
    return _token_out(pair)


@auth_router.post("/api/v1/auth/refresh", response_model=TokenOut,
                  summary="Perpanjang sesi: tukar token penyegar dengan pasangan token baru",
                  responses={401: {"description": "Token penyegar tidak valid atau dicabut"}})
async def refresh(body: RefreshIn, request: Request, ingest: Ingest) -> TokenOut:
    async with ingest.core.uow() as uow:
        pair = await identity.refresh_tokens(uow=uow, issuer=ingest.issuer,
                                             refresh_token=body.refresh_token,
                                             client=client_of(request))
    if pair is None:
        raise identity.refresh_refused()
    return _token_out(pair)


@auth_router.post("/api/v1/auth/logout", status_code=204, response_class=Response,
                  summary="Keluar: cabut token penyegar sesi ini")
async def logout(body: RefreshIn, request: Request, ingest: Ingest) -> Response:
    await log_out(ingest, refresh_token=body.refresh_token, client=client_of(request))
    return Response(status_code=204)


@auth_router.get("/api/v1/auth/me", response_model=MeOut, summary="Siapa saya")
async def me(user: PasswordChangeUser, ingest: Ingest) -> MeOut:
    async with ingest.core.sessions() as session:
        row = await session.get(User, user.user_id)
    if row is None:
        raise ApiError(401, "user_disabled", "Akun Anda tidak aktif. Hubungi admin kantor Anda.",
                       headers={"WWW-Authenticate": "Bearer"})
    return MeOut(id=row.id, username=row.username, full_name=row.full_name, role=row.role,
                 office_code=row.office_code, division_id=row.division_id,
                 permissions=sorted(row.permissions),
                 must_change_password=row.must_change_password)


@auth_router.post("/api/v1/auth/password", response_model=TokenOut,
                  summary="Ganti kata sandi sendiri (sesi lain diakhiri, token baru diberikan)",
                  responses={400: {"description": "Kata sandi lama salah"},
                             422: {"description": "Kata sandi baru tidak memenuhi aturan"}})
async def change_password(body: PasswordChangeIn, user: PasswordChangeUser, request: Request,
                          ingest: Ingest) -> TokenOut:
    async with ingest.core.uow() as uow:
        pair = await identity.change_password(
            uow=uow, issuer=ingest.issuer, principal=user, old_password=body.old_password,
            new_password=body.new_password, client=client_of(request))
    ingest.core.user_status.invalidate(user.user_id)
    return _token_out(pair)


# --- offices --------------------------------------------------------------------------------------


def _office_out(office: Office) -> OfficeOut:
    return OfficeOut(code=office.code, name=office.name, parent_code=office.parent_code,
                     disabled=office.disabled)


@router.get("/api/v1/offices", response_model=list[OfficeOut], tags=["identity"],
            summary="Daftar kantor Bawaslu")
async def offices(user: CurrentUser, ingest: Ingest) -> list[OfficeOut]:
    async with ingest.core.sessions() as session:
        rows = (await session.execute(select(Office).order_by(Office.code))).scalars().all()
    return [_office_out(o) for o in rows]


@router.post("/api/v1/offices", status_code=201, response_model=OfficeOut, tags=["identity"],
             summary="Tambah kantor (superadmin)",
             responses={409: {"description": "Kode kantor sudah ada"}})
async def create_office(body: OfficeIn, user: CurrentUser, request: Request,
                        ingest: Ingest) -> OfficeOut:
    async with ingest.core.uow() as uow:
        office = await identity.create_office(uow=uow, manager=user, code=body.code,
                                              name=body.name, parent_code=body.parent_code,
                                              client=client_of(request))
    return _office_out(office)


@router.patch("/api/v1/offices/{code}", response_model=OfficeOut, tags=["identity"],
              summary="Ubah, nonaktifkan atau aktifkan kantor (superadmin)")
async def update_office(code: str, body: OfficeUpdate, user: CurrentUser, request: Request,
                        ingest: Ingest) -> OfficeOut:
    clear_parent = "parent_code" in body.model_fields_set and body.parent_code is None
    async with ingest.core.uow() as uow:
        office = await identity.update_office(
            uow=uow, manager=user, code=code, name=body.name, parent_code=body.parent_code,
            clear_parent=clear_parent, disabled=body.disabled, client=client_of(request))
    # Disabling an office locks out all of its accounts: forget every cached answer.
    ingest.core.user_status.invalidate()
    return _office_out(office)


# --- divisions ------------------------------------------------------------------------------------


def _division_out(division: Division) -> DivisionOut:
    return DivisionOut(id=division.id, slug=division.slug, name=division.name,
                       valid_from=division.valid_from, valid_until=division.valid_until)


@router.get("/api/v1/divisions", response_model=list[DivisionOut], tags=["identity"],
            summary="Daftar divisi (valid_on: hanya yang berlaku pada tanggal itu)")
async def divisions(user: CurrentUser, ingest: Ingest,
                    valid_on: Annotated[date | None, Query()] = None) -> list[DivisionOut]:
    stmt = select(Division).order_by(Division.name)
    if valid_on is not None:
        stmt = stmt.where(Division.valid_from <= valid_on,
                          (Division.valid_until.is_(None)) | (Division.valid_until >= valid_on))
    async with ingest.core.sessions() as session:
        rows = (await session.execute(stmt)).scalars().all()
    return [_division_out(d) for d in rows]


@router.post("/api/v1/divisions", status_code=201, response_model=DivisionOut,
             tags=["identity"], summary="Tambah divisi dengan masa berlakunya (superadmin)",
             responses={409: {"description": "Slug divisi sudah ada"}})
async def create_division(body: DivisionIn, user: CurrentUser, request: Request,
                          ingest: Ingest) -> DivisionOut:
    async with ingest.core.uow() as uow:
        division = await identity.create_division(
            uow=uow, manager=user, slug=body.slug, name=body.name, valid_from=body.valid_from,
            valid_until=body.valid_until, client=client_of(request))
    return _division_out(division)


@router.patch("/api/v1/divisions/{division_id}", response_model=DivisionOut, tags=["identity"],
              summary="Ubah nama atau masa berlaku divisi (superadmin)")
async def update_division(division_id: uuid.UUID, body: DivisionUpdate, user: CurrentUser,
                          request: Request, ingest: Ingest) -> DivisionOut:
    clear_until = "valid_until" in body.model_fields_set and body.valid_until is None
    async with ingest.core.uow() as uow:
        division = await identity.update_division(
            uow=uow, manager=user, division_id=division_id, name=body.name,
            valid_from=body.valid_from, valid_until=body.valid_until,
            clear_valid_until=clear_until, client=client_of(request))
    return _division_out(division)


# --- users ----------------------------------------------------------------------------------------


def _user_out(user: User) -> UserOut:
    return UserOut(id=user.id, username=user.username, full_name=user.full_name, role=user.role,
                   office_code=user.office_code, division_id=user.division_id,
                   permissions=list(user.permissions), disabled=user.disabled,
                   must_change_password=user.must_change_password, created_at=user.created_at)


@router.get("/api/v1/users", response_model=UserList, tags=["identity"],
            summary="Daftar akun yang Anda kelola")
async def list_users(user: CurrentUser, ingest: Ingest,
                     office: Annotated[str | None, Query(pattern=r"^\d{2,4}$")] = None,
                     role: Annotated[Role | None, Query()] = None,
                     include_disabled: bool = False,
                     limit: Annotated[int, Query(ge=1, le=100)] = 20,
                     cursor: Annotated[str | None, Query(max_length=100)] = None) -> UserList:
    async with ingest.core.sessions() as session:
        rows, next_cursor = await identity.list_users(
            session=session, viewer=user, office_code=office, role=role,
            include_disabled=include_disabled, limit=limit, after=cursor)
    return UserList(items=[_user_out(u) for u in rows], next_cursor=next_cursor)


@router.post("/api/v1/users", status_code=201, response_model=UserOut, tags=["identity"],
             summary="Buat akun pengguna",
             responses={409: {"description": "Nama pengguna sudah dipakai"}})
async def create_user(body: UserIn, user: CurrentUser, request: Request,
                      ingest: Ingest) -> UserOut:
    async with ingest.core.uow() as uow:
        created = await identity.create_user(
            uow=uow, manager=user, client=client_of(request), new=identity.NewUser(
                username=body.username, password=body.password, full_name=body.full_name,
                role=Role(body.role), office_code=body.office_code,
                division_id=body.division_id, permissions=body.permissions))
    ingest.core.user_status.invalidate(created.id)
    return _user_out(created)


@router.get("/api/v1/users/{user_id}", response_model=UserOut, tags=["identity"],
            summary="Satu akun")
async def get_user(user_id: uuid.UUID, user: CurrentUser, ingest: Ingest) -> UserOut:
    async with ingest.core.sessions() as session:
        return _user_out(await identity.get_user(session=session, viewer=user, user_id=user_id))


@router.patch("/api/v1/users/{user_id}", response_model=UserOut, tags=["identity"],
              summary="Ubah akun: nama, peran, divisi, izin, nonaktif/aktif")
async def update_user(user_id: uuid.UUID, body: UserUpdate, user: CurrentUser,
                      request: Request, ingest: Ingest) -> UserOut:
    changes = identity.UserChanges(
        full_name=body.full_name, role=Role(body.role) if body.role else None,
        office_code=body.office_code, division_id=body.division_id,
        clear_division="division_id" in body.model_fields_set and body.division_id is None,
        permissions=body.permissions, disabled=body.disabled)
    async with ingest.core.uow() as uow:
        updated = await identity.update_user(uow=uow, manager=user, user_id=user_id,
                                             changes=changes, client=client_of(request))
    ingest.core.user_status.invalidate(user_id)
    return _user_out(updated)


@router.delete("/api/v1/users/{user_id}", status_code=204, response_class=Response,
               tags=["identity"], summary="Hapus akun (dinonaktifkan permanen)")
async def delete_user(user_id: uuid.UUID, user: CurrentUser, request: Request,
                      ingest: Ingest) -> Response:
    async with ingest.core.uow() as uow:
        await identity.delete_user(uow=uow, manager=user, user_id=user_id,
                                   client=client_of(request))
    ingest.core.user_status.invalidate(user_id)
    return Response(status_code=204)


@router.post("/api/v1/users/{user_id}/password-reset", response_model=PasswordResetOut,
             tags=["identity"],
             summary="Atur ulang kata sandi: kata sandi sementara, wajib diganti saat masuk")
async def reset_password(user_id: uuid.UUID, user: CurrentUser, request: Request,
                         ingest: Ingest) -> PasswordResetOut:
    async with ingest.core.uow() as uow:
        password = await identity.reset_password(uow=uow, manager=user, user_id=user_id,
                                                 client=client_of(request))
    ingest.core.user_status.invalidate(user_id)
    return PasswordResetOut(temporary_password=password)


def _aware(moment: datetime | None) -> datetime | None:
    # A time without an offset is read as UTC, as every stored time is.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


# --- audit ----------------------------------------------------------------------------------------


@router.get("/api/v1/audit", response_model=AuditList, tags=["audit"],
            summary="Log audit: admin kantor (kantornya), PPID (semua), superadmin (identitas)")
async def audit(user: CurrentUser, ingest: Ingest,
                action: Annotated[str | None, Query(max_length=60)] = None,
                subject_type: Annotated[str | None, Query(max_length=40)] = None,
                subject_id: Annotated[str | None, Query(max_length=100)] = None,
                actor_id: uuid.UUID | None = None,
                office: Annotated[str | None, Query(pattern=r"^\d{2,4}$")] = None,
                since: datetime | None = None,
                until: datetime | None = None,
                limit: Annotated[int, Query(ge=1, le=100)] = 20,
                cursor: Annotated[str | None, Query(max_length=100)] = None) -> AuditList:
    filters = identity.AuditFilter(action=action, subject_type=subject_type,
                                   subject_id=subject_id, actor_id=actor_id, office_code=office,
                                   since=_aware(since), until=_aware(until))
    async with ingest.core.sessions() as session:
        rows, next_cursor = await identity.read_audit(
            session=session, tables=ingest.core.tables, viewer=user, filters=filters,
            limit=limit, cursor=cursor)
    return AuditList(items=[AuditEntryOut.model_validate(r) for r in rows],
                     next_cursor=next_cursor)

