"""Identity: token verification, the disabled-user check, FastAPI dependencies, dms-token CLI."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from dms_common.errors import ApiError, install_error_handlers
from dms_common.identity.cli import main as dms_token
from dms_common.identity.deps import (
    ACCESS_COOKIE,
    CurrentUser,
    OptionalUser,
    PasswordChangeUser,
    can_classify_office,
    can_manage_office,
    can_read_office,
    require_permission,
    require_role,
)
from dms_common.identity.tokens import (
    InvalidToken,
    Principal,
    Role,
    TokenIssuer,
    TokenVerifier,
    generate_keypair,
    load_key,
    make_permission,
)
from dms_common.identity.users import CachedUserStatus, InMemoryUserStatus, Standing

USER = uuid.UUID("11111111-1111-4111-8111-111111111111")
DIVISION = uuid.UUID("22222222-2222-4222-8222-222222222222")


# --- helpers ----------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(obj: dict[str, Any]) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    base: dict[str, Any] = {
        "iss": "dms-ingest",
        "sub": str(USER),
        "aud": "dms",
        "role": "staff",
        "office_code": "6302",
        "division_id": str(DIVISION),
        "permissions": [],
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    base.update(overrides)
    return base


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return generate_keypair()


@pytest.fixture(scope="module")
def issuer(keys: tuple[str, str]) -> TokenIssuer:
    return TokenIssuer(keys[0])


@pytest.fixture(scope="module")
def verifier(keys: tuple[str, str]) -> TokenVerifier:
    return TokenVerifier(keys[1])


def sign(keys: tuple[str, str], payload: dict[str, Any], **headers: Any) -> str:
    """Sign arbitrary claims with the real private key, to test claim checks in isolation."""
    private = load_key(keys[0])
    return jwt.encode(payload, private, algorithm="EdDSA", headers={"typ": "at+jwt", **headers})


# --- the verifier -----------------------------------------------------------------------------


def test_issued_token_round_trips(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    token = issuer.issue_access(
        user_id=USER,
        role=Role.OFFICE_ADMIN,
        office_code="6302",
        division_id=DIVISION,
        permissions=["approve_exemption:6302", "approve_exemption:6371"],
    )
    principal = verifier.verify(token)
    assert principal.user_id == USER
    assert principal.role is Role.OFFICE_ADMIN
    assert principal.office_code == "6302"
    assert principal.division_id == DIVISION
    assert principal.permissions == {"approve_exemption:6302", "approve_exemption:6371"}
    assert principal.has_permission("approve_exemption", "6371")
    assert not principal.has_permission("approve_exemption", "6301")
    assert principal.offices_with("approve_exemption") == {"6302", "6371"}
    assert principal.jti
    lifetime = principal.expires_at - datetime.now(UTC)
    assert timedelta(minutes=9) < lifetime <= timedelta(minutes=10)
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "typ": "at+jwt"}


def test_null_division_is_allowed(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    token = issuer.issue_access(user_id=USER, role="ppid", office_code="63")
    assert verifier.verify(token).division_id is None


def test_alg_none_is_refused(verifier: TokenVerifier) -> None:
    token = f"{segment({'alg': 'none', 'typ': 'at+jwt'})}.{segment(claims())}."
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert caught.value.reason == "algorithm_not_allowed"


def test_hs256_signed_with_public_key_is_refused(
    keys: tuple[str, str], verifier: TokenVerifier
) -> None:
    # The classic key-confusion attack: the public key is known, so use it as an HMAC secret.
    signing_input = f"{segment({'alg': 'HS256', 'typ': 'at+jwt'})}.{segment(claims())}"
    for secret in (keys[1].encode(), keys[1].strip().encode()):
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        with pytest.raises(InvalidToken) as caught:
            verifier.verify(f"{signing_input}.{b64(mac)}")
        assert caught.value.reason == "algorithm_not_allowed"


def test_expired_token_is_refused(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    token = issuer.issue_access(
        user_id=USER,
        role="staff",
        office_code="6302",
        now=datetime.now(UTC) - timedelta(minutes=20),
    )
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert caught.value.reason == "expired"


def test_a_verified_token_is_remembered_until_it_expires(
        issuer: TokenIssuer, keys: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    now = [datetime.now(UTC)]
    verifier = TokenVerifier(keys[1], leeway=timedelta(seconds=30), clock=lambda: now[0])
    token = issuer.issue_access(user_id=USER, role="staff", office_code="6302",
                                ttl=timedelta(minutes=2))
    decoded: list[str] = []
    real_decode = jwt.decode

    def counting_decode(*args: Any, **kwargs: Any) -> Any:
        decoded.append(args[0])
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    first = verifier.verify(token)
    assert verifier.verify(token) == first
    assert len(decoded) == 1, "the signature was checked again for a token already verified"

    # Another token's text is never answered from the cache: a changed signature is refused.
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    with pytest.raises(InvalidToken):
        verifier.verify(forged)

    now[0] += timedelta(minutes=2, seconds=31)
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert caught.value.reason == "expired"


def test_the_verified_token_cache_is_bounded(issuer: TokenIssuer, keys: tuple[str, str]) -> None:
    verifier = TokenVerifier(keys[1], remember=3)
    for _ in range(5):
        verifier.verify(issuer.issue_access(user_id=uuid.uuid4(), role="staff",
                                            office_code="6302"))
    assert len(verifier._verified) == 3


def test_leeway_tolerates_small_clock_skew(issuer: TokenIssuer, keys: tuple[str, str]) -> None:
    token = issuer.issue_access(
        user_id=USER,
        role="staff",
        office_code="6302",
        ttl=timedelta(minutes=1),
        now=datetime.now(UTC) - timedelta(seconds=70),
    )
    assert TokenVerifier(keys[1], leeway=timedelta(seconds=30)).verify(token).user_id == USER
    with pytest.raises(InvalidToken):
        TokenVerifier(keys[1], leeway=timedelta(0)).verify(token)


def test_tampered_payload_is_refused(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    header, _, signature = issuer.issue_access(
        user_id=USER, role="staff", office_code="6302"
    ).split(".")
    forged = f"{header}.{segment(claims(role='ppid'))}.{signature}"
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(forged)
    assert caught.value.reason == "bad_signature"


def test_token_of_another_key_is_refused(verifier: TokenVerifier) -> None:
    other = TokenIssuer(generate_keypair()[0])
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(other.issue_access(user_id=USER, role="staff", office_code="6302"))
    assert caught.value.reason == "bad_signature"


def test_wrong_audience_is_refused(keys: tuple[str, str], verifier: TokenVerifier) -> None:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(sign(keys, claims(aud="other")))
    assert caught.value.reason == "wrong_audience"


def test_wrong_issuer_is_refused(keys: tuple[str, str], verifier: TokenVerifier) -> None:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(sign(keys, claims(iss="somebody")))
    assert caught.value.reason == "wrong_issuer"


@pytest.mark.parametrize(
    "claim",
    ["sub", "role", "office_code", "division_id", "permissions", "aud", "iat", "exp", "jti"],
)
def test_missing_claim_is_refused(
    keys: tuple[str, str], verifier: TokenVerifier, claim: str
) -> None:
    payload = claims()
    del payload[claim]
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(sign(keys, payload))
    assert caught.value.reason == f"missing_claim:{claim}"


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"sub": "not-a-uuid"}, "invalid_claim:sub"),
        ({"role": "root"}, "invalid_claim:role"),
        ({"office_code": "63:02"}, "invalid_claim:office_code"),
        ({"division_id": 7}, "invalid_claim:division_id"),
        ({"permissions": "approve_exemption:6302"}, "invalid_claim:permissions"),
        ({"permissions": ["approve_exemption"]}, "invalid_claim:permissions"),
    ],
)
def test_invalid_claim_is_refused(
    keys: tuple[str, str], verifier: TokenVerifier, override: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(sign(keys, claims(**override)))
    assert caught.value.reason == reason


def test_lifetime_longer_than_ten_minutes_is_refused(
    keys: tuple[str, str], verifier: TokenVerifier
) -> None:
    now = int(datetime.now(UTC).timestamp())
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(sign(keys, claims(iat=now, exp=now + 3600)))
    assert caught.value.reason == "lifetime_too_long"


def test_token_without_access_type_is_refused(
    keys: tuple[str, str], verifier: TokenVerifier
) -> None:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(sign(keys, claims(), typ="refresh+jwt"))
    assert caught.value.reason == "not_an_access_token"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "....", "x" * 10_000])
def test_garbage_is_refused(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_verifier_refuses_non_ed25519_keys(keys: tuple[str, str]) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ValueError, match="Ed25519"):
        TokenVerifier(ec_public)
    with pytest.raises(ValueError):
        TokenVerifier(keys[0])  # a private key where the public one belongs


# --- the issuer -------------------------------------------------------------------------------


def test_issuer_refuses_lifetimes_over_ten_minutes(
    keys: tuple[str, str], issuer: TokenIssuer
) -> None:
    with pytest.raises(ValueError, match="exceeds"):
        TokenIssuer(keys[0], access_ttl=timedelta(minutes=11))
    with pytest.raises(ValueError, match="exceeds"):
        issuer.issue_access(
            user_id=USER, role="staff", office_code="6302", ttl=timedelta(minutes=30)
        )


def test_issuer_refuses_bad_inputs(issuer: TokenIssuer) -> None:
    with pytest.raises(ValueError):
        issuer.issue_access(user_id=USER, role="root", office_code="6302")
    with pytest.raises(ValueError):
        issuer.issue_access(user_id=USER, role="staff", office_code="")
    with pytest.raises(ValueError, match="permission"):
        issuer.issue_access(
            user_id=USER, role="staff", office_code="6302", permissions=["approve_exemption"]
        )


def test_make_permission() -> None:
    assert make_permission("approve_exemption", "6302") == "approve_exemption:6302"
    with pytest.raises(ValueError):
        make_permission("Approve", "6302")
    with pytest.raises(ValueError):
        make_permission("approve_exemption", "63:02")


# --- keys -------------------------------------------------------------------------------------


def test_load_key_accepts_escaped_newlines_and_paths(
    keys: tuple[str, str], issuer: TokenIssuer, tmp_path: Path
) -> None:
    public_pem = keys[1]
    token = issuer.issue_access(user_id=USER, role="staff", office_code="6302")
    one_line = public_pem.strip().replace("\n", "\\n")
    assert "\n" not in one_line
    assert TokenVerifier(load_key(one_line)).verify(token).user_id == USER
    assert TokenVerifier(load_key(f'"{one_line}"')).verify(token).user_id == USER
    path = tmp_path / "pub.pem"
    path.write_text(public_pem)
    assert load_key(str(path)) == load_key(public_pem)
    assert load_key(path) == load_key(public_pem)
    with pytest.raises(ValueError):
        load_key(str(tmp_path / "absent.pem"))
    with pytest.raises(ValueError):
        load_key("")


# --- user status ------------------------------------------------------------------------------


async def test_in_memory_user_status() -> None:
    status = InMemoryUserStatus()
    assert await status.is_disabled(USER)  # never heard of: refused
    status.enable(USER)
    assert not await status.is_disabled(USER)
    status.disable(USER)
    assert await status.is_disabled(USER)
    status.enable(USER)
    status.delete(USER)
    assert await status.is_disabled(USER)

    lenient = InMemoryUserStatus(unknown_is_disabled=False)
    assert not await lenient.is_disabled(USER)
    lenient.delete(USER)
    assert await lenient.is_disabled(USER)


async def test_cached_user_status_expires_and_invalidates() -> None:
    inner = InMemoryUserStatus()
    inner.enable(USER)
    now = [100.0]
    cached = CachedUserStatus(inner, ttl_seconds=2.0, clock=lambda: now[0])
    assert not await cached.is_disabled(USER)
    inner.disable(USER)
    assert not await cached.is_disabled(USER)  # still the cached answer
    now[0] += 2.5
    assert await cached.is_disabled(USER)
    inner.enable(USER)
    cached.invalidate(USER)
    assert not await cached.is_disabled(USER)


async def test_a_reset_password_is_a_standing_of_its_own() -> None:
    status = InMemoryUserStatus()
    status.upsert(USER, must_change_password=True)
    assert await status.standing(USER) is Standing.PASSWORD_CHANGE
    assert not await status.is_disabled(USER)
    status.upsert(USER, disabled=True, must_change_password=True)
    assert await status.standing(USER) is Standing.DISABLED  # disabled wins
    status.upsert(USER)
    assert await status.standing(USER) is Standing.ACTIVE

    now = [0.0]
    cached = CachedUserStatus(status, clock=lambda: now[0])
    status.upsert(USER, must_change_password=True)
    assert await cached.standing(USER) is Standing.PASSWORD_CHANGE
    status.upsert(USER)
    cached.invalidate(USER)
    assert await cached.standing(USER) is Standing.ACTIVE


class CountingStatus(InMemoryUserStatus):
    """Answers slowly and counts the questions, like a database under load."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0
        self.release = asyncio.Event()

    async def standing(self, user_id: uuid.UUID) -> Standing:
        self.asked += 1
        await self.release.wait()
        return await super().standing(user_id)


async def test_concurrent_requests_of_one_user_share_one_question() -> None:
    inner = CountingStatus()
    inner.enable(USER)
    cached = CachedUserStatus(inner)
    waiting = [asyncio.ensure_future(cached.standing(USER)) for _ in range(20)]
    await asyncio.sleep(0)
    inner.release.set()
    assert set(await asyncio.gather(*waiting)) == {Standing.ACTIVE}
    assert inner.asked == 1


async def test_an_answer_that_predates_an_invalidation_is_not_kept() -> None:
    inner = CountingStatus()
    inner.enable(USER)
    cached = CachedUserStatus(inner)
    asking = asyncio.ensure_future(cached.standing(USER))
    await asyncio.sleep(0)
    inner.disable(USER)
    cached.invalidate(USER)  # the change landed while the question was out
    inner.release.set()
    await asking
    assert await cached.standing(USER) is Standing.DISABLED
    assert inner.asked == 2


async def test_cached_user_status_is_bounded() -> None:
    inner = InMemoryUserStatus(unknown_is_disabled=False)
    cached = CachedUserStatus(inner, max_entries=3)
    users = [uuid.uuid4() for _ in range(5)]
    for user in users:
        await cached.is_disabled(user)
    assert len(cached._entries) == 3


# --- the FastAPI dependencies -----------------------------------------------------------------


class Item(BaseModel):
    title: str
    size: int


# Module level: with postponed annotations FastAPI resolves the alias from the module's globals.
AdminUser = Annotated[Principal, Depends(require_role(Role.OFFICE_ADMIN, Role.PPID))]


def make_app(verifier: TokenVerifier, status: InMemoryUserStatus) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = verifier
    app.state.user_status = status

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, str]:
        return {"user_id": str(user.user_id), "role": user.role}

    @app.get("/maybe")
    async def maybe(user: OptionalUser) -> dict[str, str | None]:
        return {"user_id": str(user.user_id) if user else None}

    @app.post("/password")
    async def password(user: PasswordChangeUser) -> dict[str, str]:
        return {"user_id": str(user.user_id)}

    @app.get("/admin")
    async def admin_only(user: AdminUser) -> dict[str, str]:
        return {"role": user.role}

    @app.post(
        "/offices/{office_code}/exemptions/approve",
        dependencies=[Depends(require_permission("approve_exemption", "office_code"))],
    )
    async def approve(office_code: str) -> dict[str, str]:
        return {"approved_for": office_code}

    @app.post("/own/approve", dependencies=[Depends(require_permission("approve_exemption"))])
    async def approve_own() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/documents/{office_code}")
    async def document(office_code: str, user: CurrentUser) -> dict[str, str]:
        if not can_read_office(user, office_code):
            raise ApiError.not_found("Dokumen tidak ditemukan.")
        return {"office_code": office_code}

    @app.post("/items")
    async def items(item: Item) -> Item:
        return item

    return app


@pytest.fixture
def status() -> InMemoryUserStatus:
    status = InMemoryUserStatus()
    status.enable(USER)
    return status


@pytest.fixture
def client(verifier: TokenVerifier, status: InMemoryUserStatus) -> Iterator[TestClient]:
    with TestClient(make_app(verifier, status)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_401(response: Any, code: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == code
    assert body["message"]


def test_valid_token_via_header(client: TestClient, issuer: TokenIssuer) -> None:
    token = issuer.issue_access(user_id=USER, role="staff", office_code="6302")
    response = client.get("/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {"user_id": str(USER), "role": "staff"}


def test_a_user_whose_password_was_reset_may_only_replace_it(
        client: TestClient, issuer: TokenIssuer, status: InMemoryUserStatus) -> None:
    status.upsert(USER, must_change_password=True)
    token = issuer.issue_access(user_id=USER, role="staff", office_code="6302")
    refused = client.get("/me", headers=bearer(token))
    assert refused.status_code == 403
    assert refused.json()["code"] == "password_change_required"
    assert client.post("/password", headers=bearer(token)).status_code == 200
    client.cookies.set(ACCESS_COOKIE, token)
    assert client.get("/maybe").json() == {"user_id": None}  # the portal: browses as nobody
    status.upsert(USER)
    assert client.get("/me", headers=bearer(token)).status_code == 200


def test_a_disabled_user_may_not_even_replace_a_password(
        client: TestClient, issuer: TokenIssuer, status: InMemoryUserStatus) -> None:
    status.upsert(USER, disabled=True, must_change_password=True)
    token = issuer.issue_access(user_id=USER, role="staff", office_code="6302")
    assert_401(client.post("/password", headers=bearer(token)), "user_disabled")


def test_valid_token_via_cookie(client: TestClient, issuer: TokenIssuer) -> None:
    token = issuer.issue_access(user_id=USER, role="staff", office_code="6302")
    client.cookies.set(ACCESS_COOKIE, token)
    response = client.get("/me")
    assert response.status_code == 200
    assert response.json()["user_id"] == str(USER)


def test_no_token_is_not_authenticated(client: TestClient) -> None:
    assert_401(client.get("/me"), "not_authenticated")
    assert_401(
        client.get("/me", headers={"Authorization": "Basic dXNlcjpwdw=="}), "not_authenticated"
    )


def test_each_bad_token_answers_invalid_token(
    client: TestClient, keys: tuple[str, str], issuer: TokenIssuer
) -> None:
    good = issuer.issue_access(user_id=USER, role="staff", office_code="6302")
    header, _, signature = good.split(".")
    signing_input = f"{segment({'alg': 'HS256', 'typ': 'at+jwt'})}.{segment(claims())}"
    hs256 = hmac.new(keys[1].encode(), signing_input.encode(), hashlib.sha256).digest()
    missing = claims()
    del missing["office_code"]
    bad_tokens = {
        "alg none": f"{segment({'alg': 'none', 'typ': 'at+jwt'})}.{segment(claims())}.",
        "hs256 with public key": f"{signing_input}.{b64(hs256)}",
        "expired": issuer.issue_access(
            user_id=USER,
            role="staff",
            office_code="6302",
            now=datetime.now(UTC) - timedelta(hours=1),
        ),
        "tampered": f"{header}.{segment(claims(role='superadmin'))}.{signature}",
        "wrong audience": sign(keys, claims(aud="not-dms")),
        "missing claim": sign(keys, missing),
    }
    for name, token in bad_tokens.items():
        for path in ("/me", "/maybe"):  # a bad header token is refused even where anonymous is ok
            response = client.get(path, headers=bearer(token))
            assert response.status_code == 401, (name, path)
            assert_401(response, "invalid_token")


def test_expired_token_message_says_so(client: TestClient, issuer: TokenIssuer) -> None:
    token = issuer.issue_access(
        user_id=USER, role="staff", office_code="6302", now=datetime.now(UTC) - timedelta(hours=1)
    )
    assert "kedaluwarsa" in client.get("/me", headers=bearer(token)).json()["message"]


def test_disabled_user_is_refused(
    client: TestClient, issuer: TokenIssuer, status: InMemoryUserStatus
) -> None:
    token = issuer.issue_access(user_id=USER, role="staff", office_code="6302")
    status.disable(USER)
    assert_401(client.get("/me", headers=bearer(token)), "user_disabled")


def test_deleted_user_is_refused(
    client: TestClient, issuer: TokenIssuer, status: InMemoryUserStatus
) -> None:
    token = issuer.issue_access(user_id=USER, role="staff", office_code="6302")
    status.delete(USER)
    assert_401(client.get("/me", headers=bearer(token)), "user_disabled")


def test_unknown_user_is_refused(client: TestClient, issuer: TokenIssuer) -> None:
    token = issuer.issue_access(user_id=uuid.uuid4(), role="staff", office_code="6302")
    assert_401(client.get("/me", headers=bearer(token)), "user_disabled")


def test_header_wins_over_cookie(client: TestClient, issuer: TokenIssuer) -> None:
    client.cookies.set(
        ACCESS_COOKIE, issuer.issue_access(user_id=USER, role="staff", office_code="6302")
    )
    assert_401(client.get("/me", headers=bearer("not.a.token")), "invalid_token")


def test_optional_user(client: TestClient, issuer: TokenIssuer, status: InMemoryUserStatus) -> None:
    assert client.get("/maybe").json() == {"user_id": None}
    token = issuer.issue_access(user_id=USER, role="staff", office_code="6302")
    assert client.get("/maybe", headers=bearer(token)).json() == {"user_id": str(USER)}
    # A stale browser cookie falls back to anonymous instead of locking out the public portal.
    client.cookies.set(ACCESS_COOKIE, "stale.cookie.value")
    assert client.get("/maybe").json() == {"user_id": None}
    client.cookies.set(ACCESS_COOKIE, token)
    assert client.get("/maybe").json() == {"user_id": str(USER)}
    status.disable(USER)
    assert client.get("/maybe").json() == {"user_id": None}


@pytest.mark.parametrize(
    ("role", "expected"),
    [(Role.STAFF, 403), (Role.OFFICE_ADMIN, 200), (Role.PPID, 200), (Role.SUPERADMIN, 403)],
)
def test_require_role(client: TestClient, issuer: TokenIssuer, role: Role, expected: int) -> None:
    token = issuer.issue_access(user_id=USER, role=role, office_code="6302")
    response = client.get("/admin", headers=bearer(token))
    assert response.status_code == expected
    if expected == 403:
        assert response.json()["code"] == "forbidden"


def test_require_permission_per_office(client: TestClient, issuer: TokenIssuer) -> None:
    token = issuer.issue_access(
        user_id=USER, role="staff", office_code="6302", permissions=["approve_exemption:6302"]
    )
    ok = client.post("/offices/6302/exemptions/approve", headers=bearer(token))
    assert ok.status_code == 200
    assert ok.json() == {"approved_for": "6302"}
    other = client.post("/offices/6371/exemptions/approve", headers=bearer(token))
    assert other.status_code == 403
    assert other.json()["code"] == "forbidden"
    assert client.post("/own/approve", headers=bearer(token)).status_code == 200


def test_require_permission_without_grant(client: TestClient, issuer: TokenIssuer) -> None:
    # Not even the superadmin or PPID passes without the explicit grant.
    for role in Role:
        token = issuer.issue_access(user_id=USER, role=role, office_code="6302")
        assert client.post("/own/approve", headers=bearer(token)).status_code == 403
    assert_401(client.post("/own/approve"), "not_authenticated")


def test_other_office_object_answers_404(client: TestClient, issuer: TokenIssuer) -> None:
    token = issuer.issue_access(user_id=USER, role="staff", office_code="6302")
    assert client.get("/documents/6302", headers=bearer(token)).status_code == 200
    response = client.get("/documents/6371", headers=bearer(token))
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Dokumen tidak ditemukan."}


def test_missing_state_fails_closed(verifier: TokenVerifier, issuer: TokenIssuer) -> None:
    app = FastAPI()

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, str]:
        return {"user_id": str(user.user_id)}

    app.state.token_verifier = verifier  # user_status forgotten
    token = issuer.issue_access(user_id=USER, role="staff", office_code="6302")
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/me", headers=bearer(token)).status_code == 500


# --- error rendering --------------------------------------------------------------------------


def test_validation_error_names_fields(client: TestClient) -> None:
    response = client.post("/items", json={"title": "x", "size": "big"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request"
    assert "size" in body["message"]
    assert "title" not in body["message"]
    missing = client.post("/items", json={}).json()["message"]
    assert "title" in missing and "size" in missing
    broken = client.post(
        "/items", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["code"] == "invalid_request"


def test_framework_errors_use_our_shape(client: TestClient) -> None:
    not_found = client.get("/nowhere")
    assert not_found.status_code == 404
    assert not_found.json() == {"code": "not_found", "message": "Data tidak ditemukan."}
    wrong_method = client.delete("/me")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


# --- office rules -----------------------------------------------------------------------------


def principal(role: Role, office_code: str = "6302") -> Principal:
    return Principal(
        user_id=USER,
        role=role,
        office_code=office_code,
        division_id=None,
        permissions=frozenset(),
        jti="j",
        expires_at=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("role", "own", "other", "province"),
    [
        (Role.STAFF, True, False, False),
        (Role.OFFICE_ADMIN, True, False, False),
        (Role.PPID, True, True, True),
        (Role.SUPERADMIN, False, False, False),
    ],
)
def test_can_read_office(role: Role, own: bool, other: bool, province: bool) -> None:
    user = principal(role)
    assert can_read_office(user, "6302") is own
    assert can_read_office(user, "6371") is other
    assert can_read_office(user, "63") is province


def test_province_staff_read_only_the_province_office() -> None:
    # The province is an office like any other for its own staff: no inheritance of children.
    assert can_read_office(principal(Role.STAFF, "63"), "63")
    assert not can_read_office(principal(Role.STAFF, "63"), "6302")


@pytest.mark.parametrize(
    ("role", "own", "other"),
    [
        (Role.STAFF, False, False),
        (Role.OFFICE_ADMIN, True, False),
        (Role.PPID, True, True),
        (Role.SUPERADMIN, False, False),
    ],
)
def test_can_classify_office(role: Role, own: bool, other: bool) -> None:
    assert can_classify_office(principal(role), "6302") is own
    assert can_classify_office(principal(role), "6371") is other


@pytest.mark.parametrize(
    ("role", "own", "other"),
    [
        (Role.STAFF, False, False),
        (Role.OFFICE_ADMIN, True, False),
        (Role.PPID, False, False),
        (Role.SUPERADMIN, True, True),
    ],
)
def test_can_manage_office(role: Role, own: bool, other: bool) -> None:
    assert can_manage_office(principal(role), "6302") is own
    assert can_manage_office(principal(role), "6371") is other


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_keygen_and_mint_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "keys"
    assert dms_token(["keygen", "--out", str(out)]) == 0
    private, public = out / "jwt-private.pem", out / "jwt-public.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert "PUBLIC KEY" in public.read_text()
    capsys.readouterr()

    mint = ["mint", "--key", str(private), "--sub", str(USER), "--office", "6302"]
    extra = f"--role office_admin --division {DIVISION} --ttl-minutes 5"
    extra += " --permission approve_exemption:6302 --permission approve_exemption:6371"
    assert dms_token([*mint, *extra.split()]) == 0
    token = capsys.readouterr().out.strip()
    user = TokenVerifier(load_key(str(public))).verify(token)
    assert user.user_id == USER
    assert user.role is Role.OFFICE_ADMIN
    assert user.division_id == DIVISION
    assert user.permissions == {"approve_exemption:6302", "approve_exemption:6371"}
    assert user.expires_at - datetime.now(UTC) <= timedelta(minutes=5)

    # Keys are never overwritten by accident, and lifetimes over ten minutes are refused.
    assert dms_token(["keygen", "--out", str(out)]) == 1
    assert dms_token([*mint, "--role", "staff", "--ttl-minutes", "60"]) == 1
    assert "exceeds" in capsys.readouterr().err
