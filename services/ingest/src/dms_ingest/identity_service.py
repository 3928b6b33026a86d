"""Ingest's identity use cases: offices, divisions, accounts, passwords, tokens, the audit log.

Rights (DESIGN.md §1): the superadmin manages offices, divisions and every account but reads no
documents; an office admin manages the accounts of their own office, never a PPID or superadmin
account, and grants no role or permission above their own. Every change of a user, office or
division is announced on `dms.identity.changed` and written to the audit log in the same unit of
work. Accounts are disabled, never removed: "deleting" one disables it for good.

Passwords: Argon2id. A password reset by an admin sets `must_change_password`; such a user still
logs in and gets tokens, `GET /api/v1/auth/me` says so, and every other API of every service
answers 403 `password_change_required` until `POST /api/v1/auth/password` sets a new one.

Login throttling: attempts are rows in PostgreSQL, serialised per username by an advisory lock,
so ten failures within a minute lock the account out (429 with `Retry-After`) across processes.

Tokens: access tokens live at most ten minutes; refresh tokens are opaque random strings stored
as SHA-256 hashes (the row id is the jti), rotated on every use. Replaying a rotated refresh token
revokes its whole family; logout revokes the family too.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dms_common.db.tables import CoreTables
from dms_common.db.uow import Actor, UnitOfWork
from dms_common.errors import ApiError
from dms_common.events import IdentityChanged, IdentityChangedPayload, IdentityKind
from dms_common.identity.projection import apply_identity_changed
from dms_common.identity.tokens import Principal, Role, TokenIssuer
from dms_ingest.models import Division, LoginAttempt, Office, RefreshToken, User

SEED = Path(__file__).parent / "seed" / "offices.json"
REFRESH_TTL = timedelta(days=7)
THROTTLE_LIMIT = 10
THROTTLE_WINDOW = timedelta(minutes=1)
ATTEMPTS_KEPT = timedelta(hours=1)
PASSWORD_MIN = 10
PASSWORD_MAX = 256
# Per-office permissions a user may be granted, as "<name>:<office_code>".
KNOWN_PERMISSIONS = frozenset({"approve_exemption"})
IDENTITY_SUBJECTS = ("user", "office", "division")

_hasher = PasswordHasher()  # argon2id with the library's vetted defaults
# Verifying against a dummy hash when the user does not exist keeps the
# response time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("dms-timing-equaliser")

_BAD_CREDENTIALS = "Nama pengguna atau kata sandi salah."


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def _verify_off_loop(password_hash: str, password: str) -> bool:
    # Argon2 takes tens of milliseconds of CPU: keep the event loop serving others meanwhile.
    return await asyncio.to_thread(verify_password, password_hash, password)


async def _hash_off_loop(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


def _now() -> datetime:
    return datetime.now(UTC)


def actor_of(principal: Principal, client: str | None) -> Actor:
    return Actor(user_id=principal.user_id, role=principal.role.value,
                 office_code=principal.office_code, client_ip=client)


# --- pure rules ---------------------------------------------------------------------------------


def password_problem(password: str, *, username: str, old_password: str | None = None
                     ) -> str | None:
    """Why a new password is refused (Bahasa Indonesia), or None when it is acceptable."""
    if len(password) < PASSWORD_MIN:
        return f"Kata sandi minimal {PASSWORD_MIN} karakter."
    if len(password) > PASSWORD_MAX:
        return f"Kata sandi maksimal {PASSWORD_MAX} karakter."
    if password.strip() != password:
        return "Kata sandi tidak boleh diawali atau diakhiri spasi."
    if not any(c.isalpha() for c in password) or all(c.isalpha() for c in password):
        return "Kata sandi harus memuat huruf dan setidaknya satu angka atau simbol."
    if len(set(password)) < 4:
        return "Kata sandi terlalu mudah ditebak: gunakan lebih banyak karakter yang berbeda."
    if username and username.lower() in password.lower():
        return "Kata sandi tidak boleh memuat nama pengguna."
    if old_password is not None and password == old_password:
        return "Kata sandi baru harus berbeda dari kata sandi lama."
    return None


def throttle_retry_after(attempts: Sequence[tuple[datetime, bool]], now: datetime, *,
                         limit: int = THROTTLE_LIMIT,
                         window: timedelta = THROTTLE_WINDOW) -> int | None:
    """Seconds until the account may try again, or None while it is under the limit.

    Only failures within the window and after the last success count.
    """
    failures: list[datetime] = []
    for at, succeeded in sorted(attempts):
        if at <= now - window:
            continue
        if succeeded:
            failures.clear()
        else:
            failures.append(at)
    if len(failures) < limit:
        return None
    # The account may try again once enough failures left the window to be under the limit.
    freed_at = failures[len(failures) - limit] + window
    return max(1, math.ceil((freed_at - now).total_seconds()))


def assignable_roles(role: Role) -> frozenset[Role]:
    """The roles an account of `role` may give (never above its own)."""
    if role is Role.SUPERADMIN:
        return frozenset(Role)
    if role is Role.OFFICE_ADMIN:
        return frozenset({Role.STAFF, Role.OFFICE_ADMIN})
    return frozenset()


def check_manages(manager: Principal, *, role: Role, office_code: str,
                  existing: bool = True) -> None:
    """Refuse unless `manager` may manage an account of `role` in `office_code`.

    An existing account of another office answers 404 (it is not theirs to see); creating one
    there, or touching one of theirs above their rights, answers 403.
    """
    if manager.role is Role.SUPERADMIN:
        return
    if manager.role is not Role.OFFICE_ADMIN or manager.office_code != office_code:
        if existing:
            raise ApiError.not_found("Pengguna tidak ditemukan.")
        raise ApiError.forbidden("Anda tidak berhak mengelola akun kantor ini.")
    if role not in assignable_roles(manager.role):
        raise ApiError.forbidden("Admin kantor tidak dapat mengelola akun PPID atau superadmin.")


def check_permissions(manager: Principal, permissions: Iterable[str],
                      office_codes: Iterable[str]) -> list[str]:
    """Validate requested per-office grants; an office admin grants only what they hold."""
    known_offices = set(office_codes)
    granted: set[str] = set()
    for permission in permissions:
        name, _, office = permission.partition(":")
        if name not in KNOWN_PERMISSIONS or not office:
            raise ApiError(422, "unknown_permission",
                           f"Izin '{permission}' tidak dikenal. Bentuknya 'nama:kode_kantor', "
                           f"nama yang dikenal: {', '.join(sorted(KNOWN_PERMISSIONS))}.")
        if office not in known_offices:
            raise ApiError(422, "unknown_office", f"Kantor {office} tidak dikenal.")
        if manager.role is not Role.SUPERADMIN and permission not in manager.permissions:
            raise ApiError.forbidden(f"Anda tidak dapat memberikan izin '{permission}' "
                                     "yang tidak Anda miliki sendiri.")
        granted.add(permission)
    return sorted(granted)


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(f"a{value}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("a"):
            raise ValueError(cursor)
        return int(raw[1:])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(422, "invalid_cursor", "Kursor halaman tidak valid.") from exc


# --- announcing changes -------------------------------------------------------------------------


async def _emit_identity(*, uow: UnitOfWork, entity_id: uuid.UUID, kind: IdentityKind,
                         office_code: str, fields: dict[str, Any], disabled: bool) -> None:
    event = IdentityChanged.build(entity_id=entity_id, office_code=office_code,
                                  payload=IdentityChangedPayload(kind=kind, fields=fields,
                                                                 disabled=disabled))
    stamped = await uow.emit(event)
    # Ingest verifies tokens like every service, from its own projection.
    await apply_identity_changed(stamped, uow)


def user_fields(user: User) -> dict[str, Any]:
    return {"username": user.username, "full_name": user.full_name, "role": user.role,
            "office_code": user.office_code,
            "division_id": str(user.division_id) if user.division_id else None,
            "permissions": list(user.permissions), "deleted": user.deleted_at is not None,
            "must_change_password": user.must_change_password}


def office_fields(office: Office) -> dict[str, Any]:
    return {"code": office.code, "name": office.name, "parent": office.parent_code}


def division_fields(division: Division) -> dict[str, Any]:
    return {"slug": division.slug, "name": division.name,
            "valid_from": division.valid_from.isoformat(),
            "valid_until": division.valid_until.isoformat() if division.valid_until else None}


def division_expired(division: Division, today: date | None = None) -> bool:
    return division.valid_until is not None and division.valid_until < (today or date.today())


async def _announce_user(uow: UnitOfWork, user: User) -> None:
    await _emit_identity(uow=uow, entity_id=user.id, kind=IdentityKind.USER,
                         office_code=user.office_code, fields=user_fields(user),
                         disabled=user.disabled or user.deleted_at is not None)


async def _announce_office(uow: UnitOfWork, office: Office) -> None:
    await _emit_identity(uow=uow, entity_id=office.id, kind=IdentityKind.OFFICE,
                         office_code=office.code, fields=office_fields(office),
                         disabled=office.disabled)


async def _announce_division(uow: UnitOfWork, division: Division) -> None:
    await _emit_identity(uow=uow, entity_id=division.id, kind=IdentityKind.DIVISION,
                         office_code="63", fields=division_fields(division),
                         disabled=division_expired(division))


# --- reference data and the first account ---------------------------------------------------------


async def seed_reference_data(*, uow: UnitOfWork, seed: Path = SEED) -> int:
    """Load offices and divisions from the seed file; return how many were new."""
    data = json.loads(seed.read_text())  # noqa: ASYNC240 - a small packaged file, read once
    added = 0
    for item in data["offices"]:
        exists = (await uow.session.execute(
            select(Office.id).where(Office.code == item["code"]))).first()
        if exists is not None:
            continue
        office = Office(id=uuid.uuid4(), code=item["code"], name=item["name"],
                        parent_code=item["parent"], disabled=False)
        uow.session.add(office)
        await _announce_office(uow, office)
        added += 1
    for item in data["divisions"]:
        known = (await uow.session.execute(
            select(Division.id).where(Division.slug == item["slug"]))).first()
        if known is not None:
            continue
        division = Division(id=uuid.uuid4(), slug=item["slug"], name=item["name"],
                            valid_from=date.fromisoformat(item["valid_from"]),
                            valid_until=None)
        uow.session.add(division)
        await _announce_division(uow, division)
        added += 1
    if added:
        await uow.audit(actor=Actor.system("seed"), action="seed_reference_data",
                        subject_type="office", detail={"added": added})
    return added


async def ensure_superadmin(*, uow: UnitOfWork, username: str, password: str) -> bool:
    """Create the first superadmin on first start; True if created."""
    if (await uow.session.execute(select(User.id).where(User.role == Role.SUPERADMIN.value))
            ).first() is not None:
        return False
    user = User(id=uuid.uuid4(), username=username, full_name="Superadmin",
                password_hash=await _hash_off_loop(password), role=Role.SUPERADMIN.value,
                office_code="63", division_id=None, permissions=[], disabled=False,
                must_change_password=False)
    uow.session.add(user)
    await _announce_user(uow, user)
    await uow.audit(actor=Actor.system("bootstrap"), action="create_user", subject_type="user",
                    subject_id=user.id, office_code=user.office_code,
                    detail={"username": username, "role": user.role})
    return True


# --- logging in and tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    must_change_password: bool


@dataclass(frozen=True)
class LoginOutcome:
    """What a login attempt came to: tokens, or the refusal to answer with.

    The attempt is recorded either way, so the caller must let the unit of work commit and
    raise `refusal` only after it.
    """

    tokens: TokenPair | None
    refusal: ApiError | None
    user_id: uuid.UUID | None = None


def _refresh_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _issue_pair(*, uow: UnitOfWork, issuer: TokenIssuer, user: User, client: str,
                      family_id: uuid.UUID | None = None) -> tuple[TokenPair, RefreshToken]:
    access = issuer.issue_access(user_id=user.id, role=Role(user.role),
                                 office_code=user.office_code, division_id=user.division_id,
                                 permissions=tuple(user.permissions))
    refresh = secrets.token_urlsafe(32)
    row_id = uuid.uuid4()
    row = RefreshToken(id=row_id, user_id=user.id, token_hash=_refresh_hash(refresh),
                       expires_at=_now() + REFRESH_TTL, family_id=family_id or row_id,
                       replaced_by=None, client=client[:100])
    uow.session.add(row)
    return TokenPair(access, refresh, user.must_change_password), row


async def _office_disabled(session: AsyncSession, office_code: str) -> bool:
    return bool((await session.execute(
        select(Office.disabled).where(Office.code == office_code))).scalar())


async def _usable(session: AsyncSession, user: User | None) -> bool:
    return (user is not None and not user.disabled and user.deleted_at is None
            and not await _office_disabled(session, user.office_code))


async def authenticate(*, uow: UnitOfWork, issuer: TokenIssuer, username: str, password: str,
                       client: str | None) -> LoginOutcome:
    """Check a username and password under the login throttle; issue tokens or say why not."""
    username = username[:100]
    client_text = (client or "")[:100]
    # One attempt at a time per account, across every ingest process.
    await uow.lock(f"dms-login:{username}")
    now = _now()
    await uow.session.execute(delete(LoginAttempt).where(
        LoginAttempt.username == username, LoginAttempt.at < now - ATTEMPTS_KEPT))
    recent = (await uow.session.execute(
        select(LoginAttempt.at, LoginAttempt.succeeded)
        .where(LoginAttempt.username == username, LoginAttempt.at > now - THROTTLE_WINDOW)
    )).all()
    user = (await uow.session.execute(
        select(User).where(User.username == username))).scalar_one_or_none()
    audit_actor = Actor(user_id=user.id if user else None,
                        role=user.role if user else None,
                        office_code=user.office_code if user else None, client_ip=client)
    retry_after = throttle_retry_after([(a.at, a.succeeded) for a in recent], now)
    if retry_after is not None:
        await uow.audit(actor=audit_actor, action="login_throttled", subject_type="user",
                        subject_id=user.id if user else None,
                        detail={"username": username, "retry_after": retry_after})
        return LoginOutcome(None, ApiError(
            429, "too_many_attempts",
            f"Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam {retry_after} detik.",
            headers={"Retry-After": str(retry_after)}), user.id if user else None)
    ok = await _verify_off_loop(user.password_hash if user else _DUMMY_HASH, password)
    usable = await _usable(uow.session, user)
    uow.session.add(LoginAttempt(username=username, client=client_text, succeeded=ok and usable,
                                 at=now))
    if user is None or not ok or not usable:
        reason = ("unknown_user" if user is None else "wrong_password" if not ok
                  else "account_disabled")
        await uow.audit(actor=audit_actor, action="login_failed", subject_type="user",
                        subject_id=user.id if user else None,
                        detail={"username": username, "reason": reason})
        return LoginOutcome(None, ApiError(401, "invalid_credentials", _BAD_CREDENTIALS,
                                           headers={"WWW-Authenticate": "Bearer"}),
                            user.id if user else None)
    pair, _ = await _issue_pair(uow=uow, issuer=issuer, user=user, client=client_text)
    await uow.audit(actor=audit_actor, action="login", subject_type="user", subject_id=user.id,
                    detail={"username": username})
    return LoginOutcome(pair, None, user.id)


def refresh_refused() -> ApiError:
    return ApiError(401, "invalid_refresh_token",
                    "Sesi Anda sudah berakhir atau tidak valid. Silakan masuk kembali.",
                    headers={"WWW-Authenticate": "Bearer"})


async def _revoke_family(uow: UnitOfWork, family_id: uuid.UUID) -> None:
    await uow.session.execute(update(RefreshToken).where(
        RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now()))


async def _revoke_user_tokens(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    await uow.session.execute(update(RefreshToken).where(
        RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now()))


# How long a rotated refresh token may still be presented once more (two tabs renewing at
# once). Past it, presenting a rotated token is a replay: the whole family is revoked.
REFRESH_REUSE_GRACE = timedelta(seconds=10)


async def refresh_tokens(*, uow: UnitOfWork, issuer: TokenIssuer, refresh_token: str,
                         client: str | None) -> TokenPair | None:
    """Rotate a refresh token: revoke it and issue a new pair in the same family; None if refused.

    A token that was already rotated is being replayed: its whole family is revoked, unless it
    was rotated within `REFRESH_REUSE_GRACE` and the family is still alive. A refusal
    still writes (revocations, the audit entry), so the caller commits and answers
    `refresh_refused()` afterwards.
    """
    row = (await uow.session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == _refresh_hash(refresh_token))
        .with_for_update())).scalar_one_or_none()
    if row is None:
        return None
    user = await uow.session.get(User, row.user_id)
    actor = Actor(user_id=row.user_id, role=user.role if user else None,
                  office_code=user.office_code if user else None, client_ip=client)
    if row.expires_at <= _now() or not await _usable(uow.session, user):
        await _revoke_family(uow, row.family_id)
        return None
    if row.revoked_at is not None:
        if row.replaced_by is None:
            return None  # logged out or revoked: nothing to renew
        if not (_now() - row.revoked_at <= REFRESH_REUSE_GRACE
                and await _family_alive(uow, row.family_id)):
            await _revoke_family(uow, row.family_id)
            await uow.audit(actor=actor, action="refresh_token_reused", subject_type="user",
                            subject_id=row.user_id, detail={"family": str(row.family_id)})
            return None
        # Two tabs whose access ran out together renew with the same token a moment apart:
        # the second gets its own pair in the same family rather than ending the session.
    assert user is not None
    pair, new_row = await _issue_pair(uow=uow, issuer=issuer, user=user,
                                      client=(client or "")[:100], family_id=row.family_id)
    if row.revoked_at is None:
        row.revoked_at = _now()
        row.replaced_by = new_row.id
    return pair


async def _family_alive(uow: UnitOfWork, family_id: uuid.UUID) -> bool:
    """Whether any refresh token of the family may still be used (no logout, no reuse)."""
    return (await uow.session.execute(
        select(RefreshToken.id).where(RefreshToken.family_id == family_id,
                                      RefreshToken.revoked_at.is_(None)).limit(1))).first() \
        is not None


async def log_out(*, uow: UnitOfWork, refresh_token: str, client: str | None) -> bool:
    """Revoke the refresh token's family; False if the token was unknown."""
    row = (await uow.session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == _refresh_hash(refresh_token))
    )).scalar_one_or_none()
    if row is None:
        return False
    await _revoke_family(uow, row.family_id)
    user = await uow.session.get(User, row.user_id)
    await uow.audit(actor=Actor(user_id=row.user_id, role=user.role if user else None,
                                office_code=user.office_code if user else None,
                                client_ip=client),
                    action="logout", subject_type="user", subject_id=row.user_id)
    return True


# --- passwords --------------------------------------------------------------------------------


async def change_password(*, uow: UnitOfWork, issuer: TokenIssuer, principal: Principal,
                          old_password: str, new_password: str, client: str | None
                          ) -> TokenPair:
    """Set the user's own password; revoke their other sessions and issue fresh tokens."""
    user = await uow.session.get(User, principal.user_id, with_for_update=True)
    if user is None or not await _usable(uow.session, user):
        raise ApiError(401, "user_disabled", "Akun Anda tidak aktif. Hubungi admin kantor Anda.",
                       headers={"WWW-Authenticate": "Bearer"})
    if not await _verify_off_loop(user.password_hash, old_password):
        raise ApiError(400, "wrong_password", "Kata sandi lama salah.")
    problem = password_problem(new_password, username=user.username, old_password=old_password)
    if problem:
        raise ApiError(422, "weak_password", problem)
    user.password_hash = await _hash_off_loop(new_password)
    user.must_change_password = False
    user.password_changed_at = user.updated_at = _now()
    await _revoke_user_tokens(uow, user.id)
    pair, _ = await _issue_pair(uow=uow, issuer=issuer, user=user, client=(client or "")[:100])
    await _announce_user(uow, user)
    await uow.audit(actor=actor_of(principal, client), action="change_password",
                    subject_type="user", subject_id=user.id, office_code=user.office_code)
    return pair


def temporary_password() -> str:
    """A random password an admin hands over; the user must replace it at next login."""
    return f"{secrets.token_urlsafe(9)}-{secrets.randbelow(90) + 10}"


async def reset_password(*, uow: UnitOfWork, manager: Principal, user_id: uuid.UUID,
                         client: str | None) -> str:
    """Give a user of the manager's office a temporary password; return it."""
    user = await _managed_user(uow, manager, user_id)
    if user.id == manager.user_id:
        raise ApiError(422, "own_account",
                       "Ubah kata sandi Anda sendiri melalui menu ganti kata sandi.")
    password = temporary_password()
    user.password_hash = await _hash_off_loop(password)
    user.must_change_password = True
    user.password_changed_at = user.updated_at = _now()
    await _revoke_user_tokens(uow, user.id)
    await _announce_user(uow, user)
    await uow.audit(actor=actor_of(manager, client), action="reset_password",
                    subject_type="user", subject_id=user.id, office_code=user.office_code)
    return password


# --- accounts -------------------------------------------------------------------------------------


async def _flush_unique(session: AsyncSession, conflict: ApiError) -> None:
    # Two requests racing past the existence check meet at the unique index: answer 409.
    try:
        await session.flush()
    except IntegrityError as exc:
        raise conflict from exc


async def _office_codes(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(Office.code))).scalars().all())


async def _check_office(session: AsyncSession, office_code: str) -> None:
    office = (await session.execute(
        select(Office).where(Office.code == office_code))).scalar_one_or_none()
    if office is None:
        raise ApiError(422, "unknown_office", f"Kantor {office_code} tidak dikenal.")
    if office.disabled:
        raise ApiError(422, "office_disabled", f"Kantor {office_code} tidak aktif.")


async def _check_division(session: AsyncSession, division_id: uuid.UUID | None) -> None:
    if division_id is None:
        return
    division = await session.get(Division, division_id)
    if division is None:
        raise ApiError(422, "unknown_division", "Divisi tidak dikenal.")
    today = date.today()
    if division.valid_from > today or division_expired(division, today):
        raise ApiError(422, "division_not_valid",
                       f"Divisi '{division.name}' tidak berlaku pada hari ini.")


async def _managed_user(uow: UnitOfWork, manager: Principal, user_id: uuid.UUID) -> User:
    user = await uow.session.get(User, user_id, with_for_update=True)
    if user is None or user.deleted_at is not None:
        raise ApiError.not_found("Pengguna tidak ditemukan.")
    check_manages(manager, role=Role(user.role), office_code=user.office_code)
    return user


@dataclass(frozen=True)
class NewUser:
    username: str
    password: str
    full_name: str
    role: Role
    office_code: str
    division_id: uuid.UUID | None
    permissions: list[str]


async def create_user(*, uow: UnitOfWork, manager: Principal, new: NewUser,
                      client: str | None) -> User:
    """Create an account within the manager's rights and announce it to every service."""
    check_manages(manager, role=new.role, office_code=new.office_code, existing=False)
    session = uow.session
    await _check_office(session, new.office_code)
    await _check_division(session, new.division_id)
    permissions = check_permissions(manager, new.permissions, await _office_codes(session))
    problem = password_problem(new.password, username=new.username)
    if problem:
        raise ApiError(422, "weak_password", problem)
    taken = (await session.execute(
        select(User.id).where(func.lower(User.username) == new.username.lower()))).first()
    if taken is not None:
        raise ApiError(409, "username_taken", f"Nama pengguna '{new.username}' sudah dipakai.")
    user = User(id=uuid.uuid4(), username=new.username, full_name=new.full_name,
                password_hash=await _hash_off_loop(new.password), role=new.role.value,
                office_code=new.office_code, division_id=new.division_id,
                permissions=permissions, disabled=False, must_change_password=False)
    session.add(user)
    await _flush_unique(session, ApiError(409, "username_taken",
                                          f"Nama pengguna '{new.username}' sudah dipakai."))
    await _announce_user(uow, user)
    await uow.audit(actor=actor_of(manager, client), action="create_user", subject_type="user",
                    subject_id=user.id, office_code=user.office_code,
                    detail={"username": user.username, "role": user.role,
                            "permissions": permissions})
    return user


@dataclass(frozen=True)
class UserChanges:
    """Fields to change; None leaves a field as it is (division: see `clear_division`)."""

    full_name: str | None = None
    role: Role | None = None
    office_code: str | None = None
    division_id: uuid.UUID | None = None
    clear_division: bool = False
    permissions: list[str] | None = None
    disabled: bool | None = None


async def update_user(*, uow: UnitOfWork, manager: Principal, user_id: uuid.UUID,
                      changes: UserChanges, client: str | None) -> User:
    """Change an account within the manager's rights and announce it."""
    user = await _managed_user(uow, manager, user_id)
    session = uow.session
    before = user_fields(user) | {"disabled": user.disabled}
    own = user.id == manager.user_id
    if changes.role is not None and changes.role.value != user.role:
        if own:
            raise ApiError(422, "own_account", "Anda tidak dapat mengubah peran akun sendiri.")
        check_manages(manager, role=changes.role, office_code=user.office_code)
        user.role = changes.role.value
    if changes.office_code is not None and changes.office_code != user.office_code:
        if manager.role is not Role.SUPERADMIN:
            raise ApiError.forbidden("Hanya superadmin yang dapat memindahkan akun ke kantor lain.")
        await _check_office(session, changes.office_code)
        user.office_code = changes.office_code
    if changes.clear_division:
        user.division_id = None
    elif changes.division_id is not None and changes.division_id != user.division_id:
        await _check_division(session, changes.division_id)
        user.division_id = changes.division_id
    if changes.permissions is not None:
        # Grants the manager cannot give are refused, but those they cannot give and the user
        # already holds may stay.
        requested = set(changes.permissions)
        kept = requested & set(user.permissions)
        added = check_permissions(manager, requested - kept, await _office_codes(session))
        removed = set(user.permissions) - requested
        if removed and manager.role is not Role.SUPERADMIN:
            check_permissions(manager, removed, await _office_codes(session))
        user.permissions = sorted(kept | set(added))
    if changes.full_name is not None:
        user.full_name = changes.full_name
    if changes.disabled is not None and changes.disabled != user.disabled:
        if own:
            raise ApiError(422, "own_account", "Anda tidak dapat menonaktifkan akun sendiri.")
        user.disabled = changes.disabled
        if user.disabled:
            await _revoke_user_tokens(uow, user.id)
    after = user_fields(user) | {"disabled": user.disabled}
    changed = {k: after[k] for k in after if after[k] != before[k]}
    if not changed:
        return user
    user.updated_at = _now()
    await _announce_user(uow, user)
    action = ("disable_user" if changed.get("disabled") is True
              else "enable_user" if changed.get("disabled") is False else "update_user")
    await uow.audit(actor=actor_of(manager, client), action=action, subject_type="user",
                    subject_id=user.id, office_code=user.office_code, detail={"changed": changed})
    return user


async def delete_user(*, uow: UnitOfWork, manager: Principal, user_id: uuid.UUID,
                      client: str | None) -> None:
    """Disable an account for good: its tokens stop working everywhere."""
    user = await _managed_user(uow, manager, user_id)
    if user.id == manager.user_id:
        raise ApiError(422, "own_account", "Anda tidak dapat menghapus akun sendiri.")
    user.disabled = True
    user.deleted_at = user.updated_at = _now()
    await _revoke_user_tokens(uow, user.id)
    await _announce_user(uow, user)
    await uow.audit(actor=actor_of(manager, client), action="delete_user", subject_type="user",
                    subject_id=user.id, office_code=user.office_code,
                    detail={"username": user.username})


async def get_user(*, session: AsyncSession, viewer: Principal, user_id: uuid.UUID) -> User:
    """One account the viewer may manage (another office's answers 404)."""
    user = await session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise ApiError.not_found("Pengguna tidak ditemukan.")
    if viewer.role is not Role.SUPERADMIN and (
            viewer.role is not Role.OFFICE_ADMIN or viewer.office_code != user.office_code):
        raise ApiError.not_found("Pengguna tidak ditemukan.")
    return user


async def list_users(*, session: AsyncSession, viewer: Principal, office_code: str | None,
                     role: Role | None, include_disabled: bool, limit: int,
                     after: str | None) -> tuple[list[User], str | None]:
    """Accounts the viewer manages, by username, a page at a time (cursor: last username)."""
    stmt = select(User).where(User.deleted_at.is_(None))
    if viewer.role is Role.SUPERADMIN:
        if office_code:
            stmt = stmt.where(User.office_code == office_code)
    elif viewer.role is Role.OFFICE_ADMIN:
        stmt = stmt.where(User.office_code == viewer.office_code)
    else:
        raise ApiError.forbidden("Hanya admin kantor dan superadmin yang dapat melihat akun.")
    if role is not None:
        stmt = stmt.where(User.role == role.value)
    if not include_disabled:
        stmt = stmt.where(User.disabled.is_(False))
    if after:
        stmt = stmt.where(User.username > after)
    rows = list((await session.execute(stmt.order_by(User.username).limit(limit + 1)))
                .scalars().all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].username if more and rows else None


# --- offices and divisions ------------------------------------------------------------------------


def _superadmin_only(manager: Principal, what: str) -> None:
    if manager.role is not Role.SUPERADMIN:
        raise ApiError.forbidden(f"Hanya superadmin yang dapat mengelola {what}.")


async def create_office(*, uow: UnitOfWork, manager: Principal, code: str, name: str,
                        parent_code: str | None, client: str | None) -> Office:
    """Add an office and announce it."""
    _superadmin_only(manager, "kantor")
    if (await uow.session.execute(select(Office.id).where(Office.code == code))).first():
        raise ApiError(409, "office_exists", f"Kantor dengan kode {code} sudah ada.")
    if parent_code is not None:
        await _check_office(uow.session, parent_code)
    office = Office(id=uuid.uuid4(), code=code, name=name, parent_code=parent_code,
                    disabled=False)
    uow.session.add(office)
    await _flush_unique(uow.session, ApiError(409, "office_exists",
                                              f"Kantor dengan kode {code} sudah ada."))
    await _announce_office(uow, office)
    await uow.audit(actor=actor_of(manager, client), action="create_office",
                    subject_type="office", subject_id=office.id, office_code=code,
                    detail=office_fields(office))
    return office


async def update_office(*, uow: UnitOfWork, manager: Principal, code: str, name: str | None,
                        parent_code: str | None, clear_parent: bool, disabled: bool | None,
                        client: str | None) -> Office:
    """Rename, re-parent, disable or enable an office and announce it."""
    _superadmin_only(manager, "kantor")
    office = (await uow.session.execute(
        select(Office).where(Office.code == code).with_for_update())).scalar_one_or_none()
    if office is None:
        raise ApiError.not_found("Kantor tidak ditemukan.")
    before = office_fields(office) | {"disabled": office.disabled}
    if name is not None:
        office.name = name
    if clear_parent:
        office.parent_code = None
    elif parent_code is not None and parent_code != office.parent_code:
        if parent_code == code:
            raise ApiError(422, "invalid_parent", "Kantor tidak dapat menjadi induk dirinya.")
        await _check_office(uow.session, parent_code)
        office.parent_code = parent_code
    if disabled is not None:
        if disabled and code == manager.office_code:
            raise ApiError(422, "own_office", "Anda tidak dapat menonaktifkan kantor Anda sendiri.")
        office.disabled = disabled
    after = office_fields(office) | {"disabled": office.disabled}
    changed = {k: after[k] for k in after if after[k] != before[k]}
    if changed:
        office.updated_at = _now()
        await _announce_office(uow, office)
        await uow.audit(actor=actor_of(manager, client), action="update_office",
                        subject_type="office", subject_id=office.id, office_code=code,
                        detail={"changed": changed})
    return office


def _check_period(valid_from: date, valid_until: date | None) -> None:
    if valid_until is not None and valid_until < valid_from:
        raise ApiError(422, "invalid_period",
                       "Tanggal akhir berlaku tidak boleh sebelum tanggal mulai berlaku.")


async def create_division(*, uow: UnitOfWork, manager: Principal, slug: str, name: str,
                          valid_from: date, valid_until: date | None,
                          client: str | None) -> Division:
    """Add a division with its validity period and announce it."""
    _superadmin_only(manager, "divisi")
    _check_period(valid_from, valid_until)
    if (await uow.session.execute(select(Division.id).where(Division.slug == slug))).first():
        raise ApiError(409, "division_exists", f"Divisi dengan slug '{slug}' sudah ada.")
    division = Division(id=uuid.uuid4(), slug=slug, name=name, valid_from=valid_from,
                        valid_until=valid_until)
    uow.session.add(division)
    await _flush_unique(uow.session, ApiError(409, "division_exists",
                                              f"Divisi dengan slug '{slug}' sudah ada."))
    await _announce_division(uow, division)
    await uow.audit(actor=actor_of(manager, client), action="create_division",
                    subject_type="division", subject_id=division.id,
                    detail=division_fields(division))
    return division


async def update_division(*, uow: UnitOfWork, manager: Principal, division_id: uuid.UUID,
                          name: str | None, valid_from: date | None, valid_until: date | None,
                          clear_valid_until: bool, client: str | None) -> Division:
    """Rename a division or change its validity period and announce it."""
    _superadmin_only(manager, "divisi")
    division = await uow.session.get(Division, division_id, with_for_update=True)
    if division is None:
        raise ApiError.not_found("Divisi tidak ditemukan.")
    before = division_fields(division)
    if name is not None:
        division.name = name
    if valid_from is not None:
        division.valid_from = valid_from
    if clear_valid_until:
        division.valid_until = None
    elif valid_until is not None:
        division.valid_until = valid_until
    _check_period(division.valid_from, division.valid_until)
    after = division_fields(division)
    changed = {k: after[k] for k in after if after[k] != before[k]}
    if changed:
        division.updated_at = _now()
        await _announce_division(uow, division)
        await uow.audit(actor=actor_of(manager, client), action="update_division",
                        subject_type="division", subject_id=division.id,
                        detail={"changed": changed})
    return division


# --- reading the audit log --------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    actor_id: uuid.UUID | None = None
    office_code: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def audit_query(*, tables: CoreTables, viewer: Principal, filters: AuditFilter, limit: int,
                cursor: str | None) -> Select[Any]:
    """The audit entries the viewer may read, newest first (keyset on the entry id).

    Office admins read their office's entries, PPID every office's, the superadmin the
    identity entries (accounts, offices, divisions, logins) of every office; staff none.
    """
    log = tables.audit_log
    stmt = select(log)
    if viewer.role is Role.OFFICE_ADMIN:
        if filters.office_code and filters.office_code != viewer.office_code:
            raise ApiError.forbidden("Anda hanya dapat membaca log audit kantor Anda.")
        stmt = stmt.where(log.c.office_code == viewer.office_code)
    elif viewer.role is Role.SUPERADMIN:
        stmt = stmt.where(log.c.subject_type.in_(IDENTITY_SUBJECTS))
    elif viewer.role is not Role.PPID:
        raise ApiError.forbidden("Log audit hanya dapat dibaca admin kantor, PPID dan superadmin.")
    if filters.office_code and viewer.role is not Role.OFFICE_ADMIN:
        stmt = stmt.where(log.c.office_code == filters.office_code)
    if filters.action:
        stmt = stmt.where(log.c.action == filters.action)
    if filters.subject_type:
        stmt = stmt.where(log.c.subject_type == filters.subject_type)
    if filters.subject_id:
        stmt = stmt.where(log.c.subject_id == filters.subject_id)
    if filters.actor_id:
        stmt = stmt.where(log.c.actor_id == filters.actor_id)
    if filters.since:
        stmt = stmt.where(log.c.occurred_at >= filters.since)
    if filters.until:
        stmt = stmt.where(log.c.occurred_at < filters.until)
    if cursor:
        stmt = stmt.where(log.c.id < decode_cursor(cursor))
    return stmt.order_by(log.c.id.desc()).limit(limit + 1)


async def read_audit(*, session: AsyncSession, tables: CoreTables, viewer: Principal,
                     filters: AuditFilter, limit: int, cursor: str | None
                     ) -> tuple[list[dict[str, Any]], str | None]:
    """A page of audit entries the viewer may read and the cursor of the next page."""
    stmt = audit_query(tables=tables, viewer=viewer, filters=filters, limit=limit,
                       cursor=cursor)
    rows = [dict(r._mapping) for r in (await session.execute(stmt)).all()]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(int(rows[-1]["id"])) if more and rows else None

