"""The authorization matrix, generated from the four OpenAPI schemas of the running stack.

Every operation × every role × (own office, another office, anonymous): one document of office
6301 carries a canary in its title, and the matrix checks that

- no answer is a server error;
- anonymous callers get 401 everywhere but the public paths;
- nobody outside 6301 (its staff and admins, and `ppid`) ever sees the canary or the
  document's id in an answer — not in a listing, a search, an audit page or an error;
- a document of another office answers 404 on every path that names it, for reading and for
  acting, and the superadmin (who reads no documents) gets no document either;
- a download link that works for its owner does not work for anyone else;
- identifiers are random (UUID version 4), not counters.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.stack import (
    SERVICE_PORTS,
    StackUser,
    admin_credentials,
    create_user,
    gateway_client,
    login,
)

OWN_OFFICE, OTHER_OFFICE = "6301", "6302"
PUBLIC_PREFIXES = ("/api/v1/public/", "/healthz", "/readyz", "/api/v1/auth/token",
                   "/api/v1/auth/refresh", "/api/v1/auth/logout")
PUBLIC_PATHS = {"/api/v1/search", "/api/v1/search/suggest"}
# Roles entitled to read office 6301's documents.
INSIDERS = {"staff-own", "admin-own", "ppid"}


@dataclass
class World:
    callers: dict[str, dict[str, str]]  # role label -> headers (anonymous: none)
    document_id: str
    canary: str
    victim_id: str
    division_id: str


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[tuple[httpx.AsyncClient, World]]:
    async with gateway_client(timeout=60) as client:
        staff_own = await create_user(client, role="staff", office=OWN_OFFICE)
        users: dict[str, StackUser] = {
            "staff-own": staff_own,
            "admin-own": await create_user(client, role="office_admin", office=OWN_OFFICE),
            "staff-other": await create_user(client, role="staff", office=OTHER_OFFICE),
            "admin-other": await create_user(client, role="office_admin", office=OTHER_OFFICE),
            "ppid": await create_user(client, role="ppid", office="63"),
        }
        victim = await create_user(client, role="staff", office=OWN_OFFICE)
        canary = f"KANARI{uuid.uuid4().hex}"
        uploaded = await client.post(
            "/api/v1/documents", headers=staff_own.headers,
            data={"title": f"Laporan {canary}", "description": f"Uraian {canary}",
                  "document_date": "2026-11-25"},
            files={"file": ("laporan.txt", f"Isi rahasia {canary}".encode(), "text/plain")})
        assert uploaded.status_code == 201, uploaded.text
        divisions = (await client.get("/api/v1/divisions", headers=staff_own.headers)).json()
        items = divisions["items"] if isinstance(divisions, dict) else divisions
        callers = {label: user.headers for label, user in users.items()}
        callers["superadmin"] = await login(client, *admin_credentials())
        callers["anonymous"] = {}
        yield client, World(callers=callers, document_id=str(uploaded.json()["id"]),
                            canary=canary, victim_id=victim.id, division_id=str(items[0]["id"]))


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    operations = []
    for port in SERVICE_PORTS.values():
        schema = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=10).json()
        for path, methods in schema["paths"].items():
            for method, spec in methods.items():
                operations.append((method.upper(), path, spec))
    # Reads first, then acts: a retract or a deletion must not change what a later read sees.
    return sorted(operations, key=lambda op: (op[0] != "GET", op[0] == "DELETE", op[1]))


def _fill(path: str, world: World) -> str:
    return (path.replace("{document_id}", world.document_id)
                .replace("{user_id}", world.victim_id)
                .replace("{code}", OWN_OFFICE)
                .replace("{office_code}", OWN_OFFICE)
                .replace("{division_id}", world.division_id)
                .replace("{version}", "1")
                .replace("{page}", "1")
                .replace("{subscription_id}", str(uuid.uuid4())))


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or (path.startswith(PUBLIC_PREFIXES) and \
        not path.startswith("/api/v1/public/webhooks"))


async def test_every_operation_for_every_role(world: tuple[httpx.AsyncClient, World]) -> None:
    client, w = world
    own_read = await client.get(f"/api/v1/documents/{w.document_id}",
                                headers=w.callers["staff-own"])
    assert own_read.status_code == 200 and w.canary in own_read.text, \
        "the owner must see the canary, or this matrix proves nothing"

    problems: list[str] = []
    checked = 0
    operations = _operations()
    assert len(operations) > 40
    for method, path, _spec in operations:
        url = _fill(path, w)
        names_document = "{document_id}" in path
        for role, headers in w.callers.items():
            if role == "anonymous" and path == "/api/v1/auth/logout":
                continue
            kwargs: dict[str, Any] = {"headers": headers}
            if method in {"POST", "PATCH", "PUT"}:
                kwargs["json"] = {}
            port = next(p for p in SERVICE_PORTS.values()
                        if _serves(p, path))
            response = await client.request(method, f"http://127.0.0.1:{port}{url}", **kwargs)
            checked += 1
            where = f"{method} {path} as {role}: {response.status_code}"
            if response.status_code >= 500:
                problems.append(f"{where} (server error) {response.text[:200]}")
                continue
            if role == "anonymous" and not _is_public(path) and response.status_code != 401:
                problems.append(f"{where}, expected 401")
            outsider = role not in INSIDERS
            body = response.text
            if outsider and (w.canary in body or
                             (w.document_id in body and response.status_code < 400)):
                problems.append(f"{where} leaks office {OWN_OFFICE}'s document")
            if outsider and names_document and role != "anonymous" and \
                    not path.startswith("/api/v1/public/"):
                allowed = {404} if role != "superadmin" else {403, 404}
                if method != "GET":
                    allowed |= {403, 405, 422}  # refused before the object is looked at
                if response.status_code not in allowed:
                    problems.append(f"{where}, expected {sorted(allowed)}")
    print(f"authorization matrix: {len(operations)} operations × {len(w.callers)} callers "
          f"= {checked} requests")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


_SERVES: dict[int, set[str]] = {}


def _serves(port: int, path: str) -> bool:
    if port not in _SERVES:
        schema = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=10).json()
        _SERVES[port] = set(schema["paths"])
    return path in _SERVES[port]


async def test_a_download_link_works_only_for_whom_it_was_given(
        world: tuple[httpx.AsyncClient, World]) -> None:
    client, w = world
    link = f"/api/v1/documents/{w.document_id}/content"
    owner = await client.get(link, headers=w.callers["staff-own"])
    assert owner.status_code == 200 and w.canary.encode() in owner.content
    for role in ("staff-other", "admin-other"):
        assert (await client.get(link, headers=w.callers[role])).status_code == 404
    assert (await client.get(link)).status_code == 401
    # The owner's cookie-less link with someone else's session, and a forged token, fail too.
    forged = {"Authorization": "Bearer " + w.callers["staff-own"]["Authorization"][7:-4] + "AAAA"}
    assert (await client.get(link, headers=forged)).status_code == 401


async def test_identifiers_are_random_not_counters(
        world: tuple[httpx.AsyncClient, World]) -> None:
    _, w = world
    assert uuid.UUID(w.document_id).version == 4
    assert uuid.UUID(w.victim_id).version == 4
