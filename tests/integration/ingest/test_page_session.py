"""The staff pages' session against the real servers: a page whose access cookie has run out
is renewed with the refresh cookie and opens without a login form; a replayed refresh cookie
ends at the login page and ends the session; a renewed token the service still refuses goes to
the login page instead of looping; the upload script's renewal answers 204 or 401."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from dms_common.identity.tokens import TokenVerifier, generate_keypair
from dms_common.pages import CSRF_COOKIE, REFRESHED_COOKIE
from dms_ingest.bootstrap import IngestApp
from tests.integration.ingest.running import running_ingest
from tests.support.refresh import age_rotations
from tests.support.servers import Endpoints

PASSWORD = "Rahasia-12345"
ACCESS, REFRESH = "dms_access", "dms_refresh"
HTML = {"Accept": "text/html"}


@dataclass
class Env:
    app: IngestApp
    web: FastAPI
    root: dict[str, str]

    def browser(self) -> httpx.AsyncClient:
        """A fresh cookie jar on the in-process ingest, like a new browser profile."""
        transport = httpx.ASGITransport(app=self.web, client=("203.0.113.8", 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://ingest", headers=HTML)

    async def new_staff(self) -> str:
        username = f"s{uuid.uuid4().hex[:10]}"
        async with self.browser() as client:
            response = await client.post("/api/v1/users", headers=self.root, json={
                "username": username, "password": PASSWORD, "role": "staff",
                "office_code": "6302"})
        assert response.status_code == 201, response.text
        return username


@pytest.fixture(scope="module")
async def env(servers: Endpoints) -> AsyncIterator[Env]:
    async with running_ingest(servers) as ingest:
        yield Env(ingest.app, ingest.web, ingest.root)


async def log_in(client: httpx.AsyncClient, username: str, next_path: str = "/staf/") -> None:
    page = await client.get(f"/staf/masuk?next={next_path}")
    assert page.status_code == 200
    response = await client.post("/staf/masuk", data={
        "username": username, "password": PASSWORD, "next": next_path,
        "csrf_token": client.cookies[CSRF_COOKIE]})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == next_path
    assert client.cookies.get(ACCESS) and client.cookies.get(REFRESH)


def drop(client: httpx.AsyncClient, name: str) -> None:
    """Forget one cookie, as the browser does with the access cookie after its ten minutes."""
    for cookie in list(client.cookies.jar):
        if cookie.name == name:
            client.cookies.jar.clear(cookie.domain, cookie.path, cookie.name)


def put(client: httpx.AsyncClient, name: str, value: str, path: str) -> None:
    drop(client, name)
    client.cookies.set(name, value, domain="ingest.local", path=path)


async def test_a_page_with_an_expired_access_cookie_is_renewed_not_sent_to_log_in(
        env: Env) -> None:
    username = await env.new_staff()
    async with env.browser() as client:
        await log_in(client, username)
        first_access, first_refresh = client.cookies[ACCESS], client.cookies[REFRESH]
        drop(client, ACCESS)

        page = await client.get("/staf/?status=received&q=laporan")
        assert page.status_code == 303
        assert page.headers["location"] == \
            "/staf/sesi?next=%2Fstaf%2F%3Fstatus%3Dreceived%26q%3Dlaporan"
        renewed = await client.get(page.headers["location"])
        assert renewed.status_code == 303, renewed.text
        assert renewed.headers["location"] == "/staf/?status=received&q=laporan"
        assert client.cookies[ACCESS] != first_access
        assert client.cookies[REFRESH] != first_refresh
        assert client.cookies.get(REFRESHED_COOKIE)

        landed = await client.get(renewed.headers["location"])
        assert landed.status_code == 200
        assert 'action="/staf/masuk"' not in landed.text
        assert username in landed.text or "Dokumen" in landed.text

        # Ten minutes later the browser has forgotten the access cookie (and the 30-second
        # renewal marker long before): the whole chain, followed, ends on the page again.
        drop(client, ACCESS)
        drop(client, REFRESHED_COOKIE)
        again = await client.get("/staf/", follow_redirects=True)
        assert again.status_code == 200 and str(again.url) == "http://ingest/staf/"
        assert 'action="/staf/masuk"' not in again.text


async def test_two_tabs_renewing_with_the_same_cookie_both_stay_logged_in(env: Env) -> None:
    username = await env.new_staff()
    async with env.browser() as first, env.browser() as second:
        await log_in(first, username)
        for cookie in first.cookies.jar:  # the second tab shares the browser's cookies
            put(second, cookie.name, cookie.value or "", cookie.path)
        drop(first, ACCESS)
        drop(second, ACCESS)
        for tab in (first, second):
            landed = await tab.get("/staf/unggah", follow_redirects=True)
            assert landed.status_code == 200 and str(landed.url) == "http://ingest/staf/unggah"
            assert 'action="/staf/masuk"' not in landed.text


async def test_a_replayed_refresh_cookie_ends_at_the_login_page_and_ends_the_session(
        env: Env) -> None:
    username = await env.new_staff()
    async with env.browser() as client:
        await log_in(client, username)
        stolen = client.cookies[REFRESH]
        drop(client, ACCESS)
        assert (await client.get("/staf/", follow_redirects=True)).url.path == "/staf/"
        current = client.cookies[REFRESH]

        put(client, REFRESH, stolen, "/staf/")
        drop(client, ACCESS)
        await age_rotations(env.app)  # past the grace a second tab gets
        replay = await client.get("/staf/sesi?next=/staf/unggah")
        assert replay.status_code == 303
        assert replay.headers["location"] == "/staf/masuk?next=%2Fstaf%2Funggah"
        assert client.cookies.get(REFRESH) is None and client.cookies.get(ACCESS) is None

        # The replay revoked the family: the legitimate, newer cookie is refused too.
        put(client, REFRESH, current, "/staf/")
        drop(client, REFRESHED_COOKIE)
        hops: list[str] = []
        response = await client.get("/staf/unggah")
        while response.status_code == 303:
            hops.append(response.headers["location"])
            response = await client.get(hops[-1])
        assert hops == ["/staf/sesi?next=%2Fstaf%2Funggah", "/staf/masuk?next=%2Fstaf%2Funggah"]
        assert 'action="/staf/masuk"' in response.text
        assert client.cookies.get(REFRESH) is None


async def test_without_a_refresh_cookie_the_login_page_follows_and_nothing_is_cleared(
        env: Env) -> None:
    async with env.browser() as client:
        response = await client.get("/staf/sesi?next=//evil.example/x")
        assert response.status_code == 303
        assert response.headers["location"] == "/staf/masuk?next=%2Fstaf%2F"
        assert "set-cookie" not in response.headers
        outside = await client.get("/staf/sesi?next=https://evil.example/")
        assert outside.headers["location"] == "/staf/masuk?next=%2Fstaf%2F"


async def test_a_renewed_token_the_service_still_refuses_goes_to_log_in_not_round(
        env: Env) -> None:
    username = await env.new_staff()
    async with env.browser() as client:
        await log_in(client, username)
        drop(client, ACCESS)
        verifier = env.web.state.token_verifier
        # The service now trusts another key: every token ingest issues is refused.
        env.web.state.token_verifier = TokenVerifier(generate_keypair()[1])
        try:
            hops: list[str] = []
            response = await client.get("/staf/")
            while response.status_code == 303 and len(hops) < 10:
                hops.append(response.headers["location"])
                response = await client.get(hops[-1])
        finally:
            env.web.state.token_verifier = verifier
        assert hops == ["/staf/sesi?next=%2Fstaf%2F", "/staf/", "/staf/masuk?next=%2Fstaf%2F"]
        assert response.status_code == 200 and 'action="/staf/masuk"' in response.text
        assert client.cookies.get(REFRESHED_COOKIE) is None


async def test_the_upload_script_renews_with_a_post_behind_the_csrf_check(env: Env) -> None:
    username = await env.new_staff()
    async with env.browser() as client:
        await log_in(client, username)
        drop(client, ACCESS)
        csrf = {"X-CSRF-Token": client.cookies[CSRF_COOKIE], "Accept": "application/json"}
        upload = await client.post("/staf/unggah", headers=csrf,
                                   files={"file": ("a.txt", b"isi")}, data={"title": "Uji"})
        assert upload.status_code == 401
        assert upload.json()["code"] == "not_authenticated"

        assert (await client.post("/staf/sesi")).status_code == 403
        before = client.cookies[REFRESH]
        renewed = await client.post("/staf/sesi", headers=csrf)
        assert renewed.status_code == 204, renewed.text
        assert client.cookies.get(ACCESS) and client.cookies[REFRESH] != before
        page = await client.get("/staf/unggah")
        assert page.status_code == 200 and 'id="unggah"' in page.text

        put(client, REFRESH, before, "/staf/")
        await age_rotations(env.app)  # past the grace a second tab gets
        refused = await client.post("/staf/sesi", headers=csrf)
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_refresh_token"
        assert client.cookies.get(ACCESS) is None and client.cookies.get(REFRESH) is None
