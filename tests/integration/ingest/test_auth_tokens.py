"""Ingest's tokens against the real servers: bad tokens, refresh rotation, logout, throttling."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy import select

from dms_common.identity.tokens import Role, TokenIssuer
from dms_ingest.bootstrap import IngestApp, bootstrap
from dms_ingest.main import create_app
from dms_ingest.models import LoginAttempt
from dms_ingest.settings import IngestSettings
from tests.integration.ingest.running import running_ingest
from tests.support.isolation import Isolated
from tests.support.refresh import age_rotations
from tests.support.servers import Endpoints

PASSWORD = "Rahasia-12345"
CLIENT_IP = "203.0.113.7"


@dataclass
class Env:
    iso: Isolated
    app: IngestApp
    settings: IngestSettings
    client: httpx.AsyncClient
    root: dict[str, str]

    async def new_user(self, *, role: str = "staff", office: str = "6302") -> tuple[str, str]:
        """Create an account; return its id and username."""
        username = f"u{uuid.uuid4().hex[:10]}"
        response = await self.client.post("/api/v1/users", headers=self.root, json={
            "username": username, "password": PASSWORD, "role": role, "office_code": office})
        assert response.status_code == 201, response.text
        return response.json()["id"], username

    async def log_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        return await self.client.post("/api/v1/auth/token",
                                      data={"username": username, "password": password})


def client_for(app: IngestApp, settings: IngestSettings) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings, container=app),
                                    client=(CLIENT_IP, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://ingest")


@pytest.fixture(scope="module")
async def env(servers: Endpoints) -> AsyncIterator[Env]:
    async with running_ingest(servers, client_ip=CLIENT_IP) as ingest:
        yield Env(ingest.iso, ingest.app, ingest.settings, ingest.client, ingest.root)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def claims_of(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def valid_token(env: Env) -> tuple[str, str]:
    user_id, username = await env.new_user()
    response = await env.log_in(username)
    assert response.status_code == 200, response.text
    return user_id, response.json()["access_token"]


async def assert_refused(env: Env, token: str, code: str = "invalid_token") -> None:
    for path in ("/api/v1/auth/me", "/api/v1/documents", "/api/v1/offices"):
        response = await env.client.get(path, headers=bearer(token))
        assert response.status_code == 401, (path, response.text)
        assert response.json()["code"] == code
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_a_valid_token_is_accepted_and_lives_at_most_ten_minutes(env: Env) -> None:
    user_id, token = await valid_token(env)
    me = await env.client.get("/api/v1/auth/me", headers=bearer(token))
    assert me.status_code == 200 and me.json()["id"] == user_id
    claims = claims_of(token)
    assert claims["aud"] == "dms" and claims["sub"] == user_id and claims["jti"]
    assert isinstance(claims["exp"], int) and isinstance(claims["iat"], int)
    assert 0 < claims["exp"] - claims["iat"] <= 600


async def test_alg_none_is_refused(env: Env) -> None:
    _, token = await valid_token(env)
    header = b64(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
    payload = token.split(".")[1]
    await assert_refused(env, f"{header}.{payload}.")


async def test_hs256_signed_with_the_public_key_is_refused(env: Env) -> None:
    _, token = await valid_token(env)
    header = b64(json.dumps({"alg": "HS256", "typ": "at+jwt"}).encode())
    payload = token.split(".")[1]
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(env.iso.public_key.encode(), signing_input, hashlib.sha256).digest()
    await assert_refused(env, f"{header}.{payload}.{b64(signature)}")


async def test_expired_token_is_refused(env: Env) -> None:
    user_id, _ = await valid_token(env)
    issuer = TokenIssuer(env.iso.private_key)
    expired = issuer.issue_access(user_id=uuid.UUID(user_id), role=Role.STAFF, office_code="6302",
                                  now=datetime.now(UTC) - timedelta(minutes=15))
    await assert_refused(env, expired)


async def test_tampered_payload_is_refused(env: Env) -> None:
    _, token = await valid_token(env)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "ppid"
    await assert_refused(env, f"{header}.{b64(json.dumps(claims).encode())}.{signature}")


async def test_wrong_audience_is_refused(env: Env) -> None:
    user_id, _ = await valid_token(env)
    other = TokenIssuer(env.iso.private_key, audience="another-system")
    token = other.issue_access(user_id=uuid.UUID(user_id), role=Role.STAFF, office_code="6302")
    await assert_refused(env, token)


async def test_token_of_a_disabled_user_is_refused(env: Env) -> None:
    user_id, token = await valid_token(env)
    disabled = await env.client.patch(f"/api/v1/users/{user_id}", headers=env.root,
                                      json={"disabled": True})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    await assert_refused(env, token, "user_disabled")


async def test_token_of_a_deleted_user_is_refused(env: Env) -> None:
    user_id, token = await valid_token(env)
    deleted = await env.client.delete(f"/api/v1/users/{user_id}", headers=env.root)
    assert deleted.status_code == 204
    await assert_refused(env, token, "user_disabled")
    again = await env.client.get(f"/api/v1/users/{user_id}", headers=env.root)
    assert again.status_code == 404


async def test_refresh_rotates_and_a_replayed_token_revokes_the_family(env: Env) -> None:
    _, username = await env.new_user()
    first = (await env.log_in(username)).json()
    rotated = await env.client.post("/api/v1/auth/refresh",
                                    json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await env.client.get("/api/v1/auth/me",
                                 headers=bearer(second["access_token"]))).status_code == 200
    # A second tab renewing with the same token a moment later gets its own pair.
    other_tab = await env.client.post("/api/v1/auth/refresh",
                                      json={"refresh_token": first["refresh_token"]})
    assert other_tab.status_code == 200, other_tab.text
    assert other_tab.json()["refresh_token"] not in (first["refresh_token"],
                                                     second["refresh_token"])
    # Past the grace, presenting the rotated token is a replay: it ends the whole family.
    await age_rotations(env.app)
    replay = await env.client.post("/api/v1/auth/refresh",
                                   json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json()["code"] == "invalid_refresh_token"
    for survivor in (second, other_tab.json()):
        after = await env.client.post("/api/v1/auth/refresh",
                                      json={"refresh_token": survivor["refresh_token"]})
        assert after.status_code == 401


async def test_a_token_rotated_within_the_grace_is_not_renewed_after_logout(env: Env) -> None:
    _, username = await env.new_user()
    first = (await env.log_in(username)).json()
    second = (await env.client.post("/api/v1/auth/refresh",
                                    json={"refresh_token": first["refresh_token"]})).json()
    out = await env.client.post("/api/v1/auth/logout",
                                json={"refresh_token": second["refresh_token"]})
    assert out.status_code == 204
    late = await env.client.post("/api/v1/auth/refresh",
                                 json={"refresh_token": first["refresh_token"]})
    assert late.status_code == 401


async def test_logout_revokes_the_refresh_token(env: Env) -> None:
    _, username = await env.new_user()
    pair = (await env.log_in(username)).json()
    out = await env.client.post("/api/v1/auth/logout",
                                json={"refresh_token": pair["refresh_token"]})
    assert out.status_code == 204
    refused = await env.client.post("/api/v1/auth/refresh",
                                    json={"refresh_token": pair["refresh_token"]})
    assert refused.status_code == 401
    unknown = await env.client.post("/api/v1/auth/logout", json={"refresh_token": "nope"})
    assert unknown.status_code == 204


async def test_refresh_of_a_disabled_user_is_refused(env: Env) -> None:
    user_id, username = await env.new_user()
    pair = (await env.log_in(username)).json()
    await env.client.patch(f"/api/v1/users/{user_id}", headers=env.root, json={"disabled": True})
    refused = await env.client.post("/api/v1/auth/refresh",
                                    json={"refresh_token": pair["refresh_token"]})
    assert refused.status_code == 401
    relog = await env.log_in(username)
    assert relog.status_code == 401 and relog.json()["code"] == "invalid_credentials"


async def test_ten_failures_in_a_minute_answer_429_across_processes(env: Env) -> None:
    _, username = await env.new_user()
    # A second container on the same schema stands for a second ingest process.
    other = await bootstrap(env.settings)
    try:
        async with client_for(other, env.settings) as second:
            clients = [env.client, second]
            for attempt in range(10):
                wrong = await clients[attempt % 2].post(
                    "/api/v1/auth/token", data={"username": username, "password": "salah"})
                assert wrong.status_code == 401, (attempt, wrong.text)
            for client in clients:
                # Even the right password is refused while the account is locked.
                locked = await client.post("/api/v1/auth/token",
                                           data={"username": username, "password": PASSWORD})
                assert locked.status_code == 429
                assert locked.json()["code"] == "too_many_attempts"
                assert 1 <= int(locked.headers["Retry-After"]) <= 60
                assert "detik" in locked.json()["message"]
    finally:
        await other.close()
    async with env.app.core.sessions() as session:
        rows = (await session.execute(select(LoginAttempt).where(
            LoginAttempt.username == username))).scalars().all()
    assert len(rows) == 10 and {r.client for r in rows} == {CLIENT_IP}


async def test_concurrent_failures_never_pass_the_limit(env: Env) -> None:
    _, username = await env.new_user()

    async def attempt() -> int:
        response = await env.client.post("/api/v1/auth/token",
                                         data={"username": username, "password": "salah"})
        return response.status_code

    codes = await asyncio.gather(*(attempt() for _ in range(14)))
    assert sorted(codes) == [401] * 10 + [429] * 4


async def test_logins_are_audited_with_the_client_address(env: Env) -> None:
    user_id, username = await env.new_user()
    await env.log_in(username, "salah-sekali")
    await env.log_in(username)
    log = env.app.core.tables.audit_log
    async with env.app.core.sessions() as session:
        rows = (await session.execute(
            select(log.c.action, log.c.client_ip, log.c.detail)
            .where(log.c.subject_id == user_id, log.c.action.in_(("login", "login_failed")))
            .order_by(log.c.id))).all()
    assert [(r.action, r.client_ip) for r in rows] == [("login_failed", CLIENT_IP),
                                                      ("login", CLIENT_IP)]
    assert rows[0].detail["reason"] == "wrong_password"


async def test_unknown_user_fails_like_a_wrong_password(env: Env) -> None:
    username = f"tidak-ada-{uuid.uuid4().hex[:6]}"
    response = await env.log_in(username)
    assert response.status_code == 401 and response.json()["code"] == "invalid_credentials"
    log = env.app.core.tables.audit_log
    async with env.app.core.sessions() as session:
        detail = (await session.execute(select(log.c.detail).where(
            log.c.action == "login_failed",
            log.c.detail["username"].astext == username))).scalar_one()
    assert detail["reason"] == "unknown_user"
