"""Ingest's identity API against the real servers: who manages what, events, audit, passwords."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dms_common.events import IdentityChanged
from dms_ingest.bootstrap import IngestApp
from dms_ingest.models import Office
from tests.integration.ingest.running import running_ingest
from tests.support.servers import Endpoints

PASSWORD = "Rahasia-12345"


@dataclass
class Env:
    app: IngestApp
    client: httpx.AsyncClient
    root: dict[str, str]

    async def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        response = await self.client.post("/api/v1/auth/token",
                                          data={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def create(self, by: dict[str, str], *, role: str = "staff", office: str = "6302",
                     **extra: Any) -> httpx.Response:
        return await self.client.post("/api/v1/users", headers=by, json={
            "username": f"u{uuid.uuid4().hex[:10]}", "password": PASSWORD, "role": role,
            "office_code": office, **extra})

    async def account(self, by: dict[str, str], **kwargs: Any) -> tuple[str, dict[str, str]]:
        """Create an account and log it in; return its id and auth header."""
        response = await self.create(by, **kwargs)
        assert response.status_code == 201, response.text
        return response.json()["id"], await self.login(response.json()["username"])

    async def events(self, entity_id: str) -> list[IdentityChanged]:
        outbox = self.app.core.tables.outbox
        async with self.app.core.sessions() as session:
            values = (await session.execute(
                select(outbox.c.value).where(outbox.c.key == entity_id,
                                             outbox.c.topic == "dms.identity.changed")
                .order_by(outbox.c.id))).scalars().all()
        return [IdentityChanged.model_validate_json(v) for v in values]

    async def audit_actions(self, subject_id: str) -> list[str]:
        log = self.app.core.tables.audit_log
        async with self.app.core.sessions() as session:
            return list((await session.execute(
                select(log.c.action).where(log.c.subject_id == subject_id)
                .order_by(log.c.id))).scalars().all())


@pytest.fixture(scope="module")
async def env(servers: Endpoints) -> AsyncIterator[Env]:
    async with running_ingest(servers) as ingest:
        yield Env(ingest.app, ingest.client, ingest.root)


# --- accounts -------------------------------------------------------------------------------------


async def test_user_changes_are_announced_and_audited(env: Env) -> None:
    created = await env.create(env.root, role="office_admin", office="6303")
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    patched = await env.client.patch(f"/api/v1/users/{user_id}", headers=env.root,
                                     json={"full_name": "Siti Aminah",
                                           "permissions": ["approve_exemption:6303"]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["permissions"] == ["approve_exemption:6303"]
    assert (await env.client.patch(f"/api/v1/users/{user_id}", headers=env.root,
                                   json={"disabled": True})).status_code == 200
    assert (await env.client.delete(f"/api/v1/users/{user_id}",
                                    headers=env.root)).status_code == 204
    events = await env.events(user_id)
    assert [e.payload.disabled for e in events] == [False, False, True, True]
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert events[1].payload.fields["full_name"] == "Siti Aminah"
    assert events[1].payload.fields["permissions"] == ["approve_exemption:6303"]
    assert events[-1].payload.fields["deleted"] is True
    assert await env.audit_actions(user_id) == ["create_user", "update_user", "disable_user",
                                                "delete_user"]


async def test_granted_permission_reaches_the_token(env: Env) -> None:
    created = await env.create(env.root, role="office_admin", office="6304",
                               permissions=["approve_exemption:6304"])
    assert created.status_code == 201, created.text
    headers = await env.login(created.json()["username"])
    me = await env.client.get("/api/v1/auth/me", headers=headers)
    assert me.json()["permissions"] == ["approve_exemption:6304"]


async def test_office_admin_manages_only_their_office(env: Env) -> None:
    _, admin = await env.account(env.root, role="office_admin", office="6305")
    staff = await env.create(admin, role="staff", office="6305")
    assert staff.status_code == 201, staff.text
    peer = await env.create(admin, role="office_admin", office="6305")
    assert peer.status_code == 201
    elsewhere = await env.create(admin, role="staff", office="6306")
    assert elsewhere.status_code == 403
    above = await env.create(admin, role="ppid", office="6305")
    assert above.status_code == 403
    grant = await env.create(admin, role="staff", office="6305",
                             permissions=["approve_exemption:6305"])
    assert grant.status_code == 403
    foreign = await env.create(env.root, role="staff", office="6306")
    for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""),
                         ("POST", "/password-reset")):
        response = await env.client.request(
            method, f"/api/v1/users/{foreign.json()['id']}{path}", headers=admin,
            json={"full_name": "x"} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.text)
    listing = await env.client.get("/api/v1/users", headers=admin)
    assert {u["office_code"] for u in listing.json()["items"]} == {"6305"}
    promote = await env.client.patch(f"/api/v1/users/{staff.json()['id']}", headers=admin,
                                     json={"role": "ppid"})
    assert promote.status_code == 403
    move = await env.client.patch(f"/api/v1/users/{staff.json()['id']}", headers=admin,
                                  json={"office_code": "6306"})
    assert move.status_code == 403


async def test_office_admin_cannot_touch_a_ppid_of_their_office(env: Env) -> None:
    _, admin = await env.account(env.root, role="office_admin", office="63")
    ppid = await env.create(env.root, role="ppid", office="63")
    response = await env.client.patch(f"/api/v1/users/{ppid.json()['id']}", headers=admin,
                                      json={"disabled": True})
    assert response.status_code == 403


async def test_staff_and_ppid_manage_no_accounts(env: Env) -> None:
    _, staff = await env.account(env.root, role="staff", office="6307")
    _, ppid = await env.account(env.root, role="ppid", office="63")
    for headers in (staff, ppid):
        assert (await env.create(headers, role="staff", office="6307")).status_code == 403
        assert (await env.client.get("/api/v1/users", headers=headers)).status_code == 403


async def test_account_input_is_checked_with_clear_messages(env: Env) -> None:
    weak = await env.client.post("/api/v1/users", headers=env.root, json={
        "username": "lemah01", "password": "pendek", "role": "staff", "office_code": "6302"})
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    assert "minimal 10" in weak.json()["message"]
    unknown_office = await env.create(env.root, office="9999")
    assert unknown_office.status_code == 422 and unknown_office.json()["code"] == "unknown_office"
    unknown_division = await env.create(env.root, division_id=str(uuid.uuid4()))
    assert unknown_division.json()["code"] == "unknown_division"
    first = await env.create(env.root)
    taken = await env.client.post("/api/v1/users", headers=env.root, json={
        "username": first.json()["username"].upper(), "password": PASSWORD, "role": "staff",
        "office_code": "6302"})
    assert taken.status_code == 409 and taken.json()["code"] == "username_taken"


async def test_racing_creations_of_one_username_give_one_account(env: Env) -> None:
    username = f"balapan{uuid.uuid4().hex[:6]}"

    async def create() -> int:
        response = await env.client.post("/api/v1/users", headers=env.root, json={
            "username": username, "password": PASSWORD, "role": "staff", "office_code": "6302"})
        return response.status_code

    assert sorted(await asyncio.gather(create(), create(), create())) == [201, 409, 409]


async def test_nobody_disables_or_deletes_their_own_account(env: Env) -> None:
    me = (await env.client.get("/api/v1/auth/me", headers=env.root)).json()
    assert (await env.client.patch(f"/api/v1/users/{me['id']}", headers=env.root,
                                   json={"disabled": True})).status_code == 422
    assert (await env.client.delete(f"/api/v1/users/{me['id']}",
                                    headers=env.root)).status_code == 422


# --- passwords ------------------------------------------------------------------------------------


async def test_reset_password_forces_a_change_at_next_login(env: Env) -> None:
    _, admin = await env.account(env.root, role="office_admin", office="6308")
    staff_id, staff = await env.account(admin, role="staff", office="6308")
    username = (await env.client.get("/api/v1/auth/me", headers=staff)).json()["username"]
    reset = await env.client.post(f"/api/v1/users/{staff_id}/password-reset", headers=admin)
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["temporary_password"]
    assert (await env.client.post("/api/v1/auth/token", data={
        "username": username, "password": PASSWORD})).status_code == 401
    login = await env.client.post("/api/v1/auth/token",
                                  data={"username": username, "password": temporary})
    assert login.status_code == 200 and login.json()["must_change_password"] is True
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    me = await env.client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200 and me.json()["must_change_password"] is True
    for path in ("/api/v1/documents", "/api/v1/offices", "/api/v1/divisions"):
        blocked = await env.client.get(path, headers=headers)
        assert blocked.status_code == 403, path
        assert blocked.json()["code"] == "password_change_required"
    same = await env.client.post("/api/v1/auth/password", headers=headers, json={
        "old_password": temporary, "new_password": temporary})
    assert same.status_code == 422 and "berbeda" in same.json()["message"]
    changed = await env.client.post("/api/v1/auth/password", headers=headers, json={
        "old_password": temporary, "new_password": "Baru-Sekali-2025"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["must_change_password"] is False
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert (await env.client.get("/api/v1/documents", headers=fresh)).status_code == 200
    assert await env.audit_actions(staff_id) == ["create_user", "login", "reset_password",
                                                 "login_failed", "login", "change_password"]


async def test_change_password_needs_the_old_one(env: Env) -> None:
    _, staff = await env.account(env.root, role="staff", office="6309")
    wrong = await env.client.post("/api/v1/auth/password", headers=staff, json={
        "old_password": "bukan-ini-123", "new_password": "Baru-Sekali-2025"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_password"
    assert wrong.json()["message"] == "Kata sandi lama salah."


async def test_office_admin_cannot_reset_a_superadmin(env: Env) -> None:
    _, admin = await env.account(env.root, role="office_admin", office="63")
    me = (await env.client.get("/api/v1/auth/me", headers=env.root)).json()
    response = await env.client.post(f"/api/v1/users/{me['id']}/password-reset", headers=admin)
    assert response.status_code == 403


# --- offices and divisions ------------------------------------------------------------------------


async def test_superadmin_manages_offices_and_disabling_one_locks_its_users_out(env: Env) -> None:
    created = await env.client.post("/api/v1/offices", headers=env.root, json={
        "code": "6399", "name": "Bawaslu Kabupaten Percobaan", "parent_code": "63"})
    assert created.status_code == 201, created.text
    duplicate = await env.client.post("/api/v1/offices", headers=env.root, json={
        "code": "6399", "name": "Lagi", "parent_code": "63"})
    assert duplicate.status_code == 409
    _, staff = await env.account(env.root, role="staff", office="6399")
    assert (await env.client.get("/api/v1/auth/me", headers=staff)).status_code == 200
    disabled = await env.client.patch("/api/v1/offices/6399", headers=env.root,
                                      json={"disabled": True})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    refused = await env.client.get("/api/v1/auth/me", headers=staff)
    assert refused.status_code == 401 and refused.json()["code"] == "user_disabled"
    async with env.app.core.sessions() as session:
        office_id = (await session.execute(
            select(Office.id).where(Office.code == "6399"))).scalar_one()
    events = await env.events(str(office_id))
    assert [e.payload.disabled for e in events] == [False, True]


async def test_only_the_superadmin_manages_offices_and_divisions(env: Env) -> None:
    _, admin = await env.account(env.root, role="office_admin", office="6310")
    assert (await env.client.post("/api/v1/offices", headers=admin, json={
        "code": "6398", "name": "Bawaslu Palsu"})).status_code == 403
    assert (await env.client.patch("/api/v1/offices/6310", headers=admin,
                                   json={"name": "Ganti"})).status_code == 403
    assert (await env.client.post("/api/v1/divisions", headers=admin, json={
        "slug": "palsu", "name": "Divisi Palsu", "valid_from": "2025-01-01"})).status_code == 403


async def test_divisions_have_validity_periods(env: Env) -> None:
    today = date.today()
    slug = f"lama-{uuid.uuid4().hex[:6]}"
    old = await env.client.post("/api/v1/divisions", headers=env.root, json={
        "slug": slug, "name": "Divisi Lama", "valid_from": "2018-01-01",
        "valid_until": "2022-12-31"})
    assert old.status_code == 201, old.text
    backwards = await env.client.post("/api/v1/divisions", headers=env.root, json={
        "slug": f"x-{uuid.uuid4().hex[:6]}", "name": "Terbalik", "valid_from": "2024-01-01",
        "valid_until": "2023-01-01"})
    assert backwards.status_code == 422 and backwards.json()["code"] == "invalid_period"
    current = await env.client.get("/api/v1/divisions", headers=env.root,
                                   params={"valid_on": today.isoformat()})
    assert slug not in {d["slug"] for d in current.json()}
    assert "sekretariat" in {d["slug"] for d in current.json()}
    in_2020 = await env.client.get("/api/v1/divisions", headers=env.root,
                                   params={"valid_on": "2020-06-01"})
    assert slug in {d["slug"] for d in in_2020.json()}
    expired_user = await env.create(env.root, division_id=old.json()["id"])
    assert expired_user.status_code == 422
    assert expired_user.json()["code"] == "division_not_valid"
    extended = await env.client.patch(f"/api/v1/divisions/{old.json()['id']}",
                                      headers=env.root, json={"valid_until": None})
    assert extended.status_code == 200 and extended.json()["valid_until"] is None
    events = await env.events(old.json()["id"])
    assert [e.payload.disabled for e in events] == [True, False]
    inverted = await env.client.patch(f"/api/v1/divisions/{old.json()['id']}",
                                      headers=env.root, json={"valid_until": "2017-01-01"})
    assert inverted.status_code == 422 and inverted.json()["code"] == "invalid_period"


# --- the audit log --------------------------------------------------------------------------------


async def test_audit_is_scoped_by_role_and_paged_by_cursor(env: Env) -> None:
    _, admin = await env.account(env.root, role="office_admin", office="6311")
    for _ in range(5):
        assert (await env.create(admin, role="staff", office="6311")).status_code == 201
    _, ppid = await env.account(env.root, role="ppid", office="63")
    _, staff = await env.account(env.root, role="staff", office="6311")

    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, "action": "create_user"}
        if cursor:
            params["cursor"] = cursor
        page = await env.client.get("/api/v1/audit", headers=admin, params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        assert {e["office_code"] for e in body["items"]} <= {"6311"}
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and seen == sorted(seen, reverse=True)  # admin, staff, 5 by admin

    other = await env.client.get("/api/v1/audit", headers=admin, params={"office": "6302"})
    assert other.status_code == 403
    everywhere = await env.client.get("/api/v1/audit", headers=ppid, params={"limit": 100})
    assert len({e["office_code"] for e in everywhere.json()["items"]}) > 1
    identity_only = await env.client.get("/api/v1/audit", headers=env.root,
                                         params={"limit": 100})
    assert {e["subject_type"] for e in identity_only.json()["items"]} <= {
        "user", "office", "division"}
    assert (await env.client.get("/api/v1/audit", headers=staff)).status_code == 403
    too_many = await env.client.get("/api/v1/audit", headers=ppid, params={"limit": 101})
    assert too_many.status_code == 422
    garbage = await env.client.get("/api/v1/audit", headers=ppid, params={"cursor": "%%%"})
    assert garbage.status_code == 422 and garbage.json()["code"] == "invalid_cursor"
