"""Access tokens: Ed25519-signed JWTs that ingest issues and every service verifies locally.

Claims of an access token (DESIGN.md §5):

- ``sub``: the user's id (UUID string)
- ``role``: one of :class:`Role`
- ``office_code``: the user's own office (BPS region code, e.g. ``"6302"``)
- ``division_id``: the user's division (UUID string) or ``null``; the claim itself is required
- ``permissions``: list of per-office grants, each ``"<name>:<office_code>"``, e.g.
  ``"approve_exemption:6302"`` (the Atasan PPID's approval for Kotabaru). A grant names exactly one
  office; there is no wildcard — a user approving for three offices carries three grants.
  ``name`` is ``[a-z][a-z0-9_]*``; office codes are ``[A-Za-z0-9_-]{1,32}`` (no ``:``).
- ``aud`` (``"dms"``), ``iss``, ``iat``, ``exp`` (at most 10 minutes after ``iat``), ``jti``.

The JOSE header carries ``alg: EdDSA`` and ``typ: at+jwt`` (RFC 9068). The verifier requires that
``typ`` so that no other JWT signed with the same key (a refresh token, say) passes as an access
token: whatever ingest signs that is not an access token must use another ``typ``, or be opaque.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "ALGORITHM",
    "DEFAULT_AUDIENCE",
    "DEFAULT_ISSUER",
    "MAX_ACCESS_TTL",
    "InvalidToken",
    "Principal",
    "Role",
    "TokenIssuer",
    "TokenVerifier",
    "generate_keypair",
    "load_key",
    "make_permission",
]

ALGORITHM: Final = "EdDSA"
ACCESS_TOKEN_TYPE: Final = "at+jwt"  # noqa: S105 - a media type, not a secret
DEFAULT_AUDIENCE: Final = "dms"
DEFAULT_ISSUER: Final = "dms-ingest"
MAX_ACCESS_TTL: Final = timedelta(minutes=10)
# Real tokens are well under 2 KB; refusing huge ones early keeps base64/JSON work bounded.
MAX_TOKEN_LENGTH: Final = 8192

_PERMISSION_NAME = re.compile(r"[a-z][a-z0-9_]*")
_OFFICE_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_REQUIRED_CLAIMS: Final = (
    "sub",
    "role",
    "office_code",
    "permissions",
    "aud",
    "iss",
    "iat",
    "exp",
    "jti",
)


class Role(StrEnum):
    """What a user may do, by kind of account (DESIGN.md §1)."""

    STAFF = "staff"
    OFFICE_ADMIN = "office_admin"
    PPID = "ppid"
    SUPERADMIN = "superadmin"


class InvalidToken(Exception):
    """A token that must not be honoured; ``reason`` is a short stable code for logs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated user behind a request, as the access token describes them."""

    user_id: uuid.UUID
    role: Role
    office_code: str
    division_id: uuid.UUID | None
    permissions: frozenset[str]
    jti: str
    expires_at: datetime

    def has_permission(self, name: str, office_code: str) -> bool:
        """Tell whether the user holds permission ``name`` for ``office_code``."""
        return make_permission(name, office_code) in self.permissions

    def offices_with(self, name: str) -> frozenset[str]:
        """Return the office codes for which the user holds permission ``name``."""
        prefix = f"{name}:"
        return frozenset(p[len(prefix) :] for p in self.permissions if p.startswith(prefix))


def make_permission(name: str, office_code: str) -> str:
    """Build the ``"<name>:<office_code>"`` string of a per-office grant, validating both parts."""
    if not _PERMISSION_NAME.fullmatch(name):
        raise ValueError(f"invalid permission name: {name!r}")
    if not _OFFICE_CODE.fullmatch(office_code):
        raise ValueError(f"invalid office code: {office_code!r}")
    return f"{name}:{office_code}"


def _is_permission(value: object) -> bool:
    if not isinstance(value, str):
        return False
    name, sep, office = value.partition(":")
    return (
        bool(sep)
        and bool(_PERMISSION_NAME.fullmatch(name))
        and bool(_OFFICE_CODE.fullmatch(office))
    )


# --- keys -------------------------------------------------------------------------------------


def generate_keypair() -> tuple[str, str]:
    """Create a fresh Ed25519 key pair and return ``(private_pem, public_pem)``."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = (
        private.public_key()
        .public_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode("ascii")
    )
    return private_pem, public_pem


def _normalize_pem(text: str) -> str:
    # Env vars and .env files often carry PEM on one line with literal "\n", sometimes quoted.
    text = text.strip().strip("'\"").strip()
    return text.replace("\\r\\n", "\n").replace("\\n", "\n") + "\n"


def load_key(value_or_path: str | os.PathLike[str]) -> str:
    """Return PEM text from PEM text (literal ``\\n`` escapes allowed) or from a file path."""
    if isinstance(value_or_path, str) and "-----BEGIN " in value_or_path:
        return _normalize_pem(value_or_path)
    if not str(value_or_path).strip():
        raise ValueError("key is empty: expected PEM text or a path to a PEM file")
    path = Path(value_or_path).expanduser()
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read key file {path}: {exc}") from exc
    if "-----BEGIN " not in text:
        raise ValueError(f"key file {path} holds no PEM block")
    return _normalize_pem(text)


def _public_key(pem: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_normalize_pem(pem).encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise ValueError("the public key is not a readable PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the public key must be Ed25519")
    return key


def _private_key(pem: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_normalize_pem(pem).encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise ValueError("the private key is not a readable, unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the private key must be Ed25519")
    return key


# --- verification -----------------------------------------------------------------------------


def _unverified_header(token: str) -> dict[str, Any]:
    # Read the header ourselves: the algorithm check must not depend on what the library accepts.
    try:
        segment = token.split(".", 1)[0]
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        header = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidToken("malformed") from exc
    if not isinstance(header, dict):
        raise InvalidToken("malformed")
    return header


class TokenVerifier:
    """Verify access tokens with ingest's Ed25519 public key; nothing but EdDSA is accepted."""

    def __init__(
        self,
        public_key_pem: str,
        audience: str = DEFAULT_AUDIENCE,
        leeway: timedelta = timedelta(seconds=30),
        *,
        issuer: str | None = DEFAULT_ISSUER,
        max_ttl: timedelta = MAX_ACCESS_TTL,
        remember: int = 4096,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._key = _public_key(public_key_pem)
        self._audience = audience
        self._leeway = leeway
        self._issuer = issuer
        self._max_ttl = max_ttl
        # A client sends the same token with every request for up to ten minutes; checking its
        # signature once is enough. Only tokens that passed every check are remembered, keyed by
        # their exact text, and only until they expire.
        self._remember = remember
        self._clock = clock
        self._verified: OrderedDict[str, Principal] = OrderedDict()

    def verify(self, token: str) -> Principal:
        """Check the token's signature and claims and return the principal it names."""
        known = self._verified.get(token)
        if known is not None:
            if self._clock() <= known.expires_at + self._leeway:
                return known
            del self._verified[token]
        principal = self._verify(token)
        if self._clock() > principal.expires_at + self._leeway:
            raise InvalidToken("expired")
        if self._remember:
            self._verified[token] = principal
            while len(self._verified) > self._remember:
                self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> Principal:
        if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise InvalidToken("malformed")
        header = _unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("algorithm_not_allowed")
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidToken("not_an_access_token")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={
                    "require": list(_REQUIRED_CLAIMS),
                    "verify_iss": self._issuer is not None,
                },
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken("wrong_audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidToken("wrong_issuer") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"missing_claim:{exc.claim}") from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidToken("bad_signature") from exc
        except jwt.ImmatureSignatureError as exc:
            raise InvalidToken("not_yet_valid") from exc
        except jwt.InvalidAlgorithmError as exc:
            raise InvalidToken("algorithm_not_allowed") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken("malformed") from exc
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        # pyjwt treats a null claim as missing, but division_id may be null: check presence here.
        if "division_id" not in claims:
            raise InvalidToken("missing_claim:division_id")
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise InvalidToken("invalid_claim:exp")
        # The 10-minute ceiling is part of the contract: our issuer never mints a longer token.
        if exp - iat > self._max_ttl.total_seconds():
            raise InvalidToken("lifetime_too_long")
        try:
            user_id = uuid.UUID(claims["sub"])
        except (ValueError, TypeError, AttributeError) as exc:
            raise InvalidToken("invalid_claim:sub") from exc
        try:
            role = Role(claims["role"])
        except ValueError as exc:
            raise InvalidToken("invalid_claim:role") from exc
        office_code = claims["office_code"]
        if not isinstance(office_code, str) or not _OFFICE_CODE.fullmatch(office_code):
            raise InvalidToken("invalid_claim:office_code")
        raw_division = claims["division_id"]
        division_id: uuid.UUID | None = None
        if raw_division is not None:
            try:
                division_id = uuid.UUID(raw_division)
            except (ValueError, TypeError, AttributeError) as exc:
                raise InvalidToken("invalid_claim:division_id") from exc
        permissions = claims["permissions"]
        if not isinstance(permissions, list) or not all(_is_permission(p) for p in permissions):
            raise InvalidToken("invalid_claim:permissions")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise InvalidToken("invalid_claim:jti")
        return Principal(
            user_id=user_id,
            role=role,
            office_code=office_code,
            division_id=division_id,
            permissions=frozenset(permissions),
            jti=jti,
            expires_at=datetime.fromtimestamp(exp, tz=UTC),
        )


# --- issuing ----------------------------------------------------------------------------------


class TokenIssuer:
    """Sign access tokens with the Ed25519 private key; only ingest holds one."""

    def __init__(
        self,
        private_key_pem: str,
        issuer: str = DEFAULT_ISSUER,
        access_ttl: timedelta = MAX_ACCESS_TTL,
        *,
        audience: str = DEFAULT_AUDIENCE,
    ) -> None:
        _check_ttl(access_ttl)
        self._key = _private_key(private_key_pem)
        self._issuer = issuer
        self._access_ttl = access_ttl
        self._audience = audience

    def issue_access(
        self,
        *,
        user_id: uuid.UUID,
        role: Role | str,
        office_code: str,
        division_id: uuid.UUID | None = None,
        permissions: Iterable[str] = (),
        ttl: timedelta | None = None,
        now: datetime | None = None,
    ) -> str:
        """Sign an access token for one user; ``ttl`` may shorten the lifetime, never extend it."""
        lifetime = self._access_ttl if ttl is None else ttl
        _check_ttl(lifetime)
        role = Role(role)
        if not _OFFICE_CODE.fullmatch(office_code):
            raise ValueError(f"invalid office code: {office_code!r}")
        granted = sorted(set(permissions))
        for permission in granted:
            if not _is_permission(permission):
                raise ValueError(f"invalid permission {permission!r}: expected 'name:office_code'")
        issued_at = int((now or datetime.now(UTC)).timestamp())
        claims = {
            "iss": self._issuer,
            "sub": str(user_id),
            "aud": self._audience,
            "role": role.value,
            "office_code": office_code,
            "division_id": str(division_id) if division_id is not None else None,
            "permissions": granted,
            "iat": issued_at,
            "exp": issued_at + int(lifetime.total_seconds()),
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(
            claims, self._key, algorithm=ALGORITHM, headers={"typ": ACCESS_TOKEN_TYPE}
        )


def _check_ttl(ttl: timedelta) -> None:
    if ttl <= timedelta(0):
        raise ValueError("access token lifetime must be positive")
    if ttl > MAX_ACCESS_TTL:
        raise ValueError(f"access token lifetime {ttl} exceeds the maximum of {MAX_ACCESS_TTL}")
