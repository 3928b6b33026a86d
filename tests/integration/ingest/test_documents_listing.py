"""Reading for staff against the real servers: filters, keyset pages, who sees what."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator

import pytest

from dms_ingest.models import Document
from tests.integration.ingest.documents_env import DocsEnv, documents_env
from tests.support.servers import Endpoints


@pytest.fixture
async def docs(servers: Endpoints) -> AsyncIterator[DocsEnv]:
    async with documents_env(servers) as env:
        yield env


async def _ids(docs: DocsEnv, who: str, **params: str) -> list[str]:
    response = await docs.client.get("/api/v1/documents", headers=docs.headers[who],
                                     params=params)
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()["items"]]


async def test_filters(docs: DocsEnv) -> None:
    division = (await docs.division_ids())[0]
    rapat = (await docs.upload("staff", b"a1", title="Notulen Rapat Pleno",
                               division_id=str(division), document_date="2024-02-14")).json()
    surat = (await docs.upload("staff", b"a2", title="Surat Edaran 100%",
                               document_date="2024-06-01")).json()
    laporan = (await docs.upload("admin", b"a3", title="Laporan rapat koordinasi")).json()
    async with docs.app.core.sessions() as session, session.begin():
        row = await session.get(Document, uuid.UUID(laporan["id"]))
        assert row is not None
        row.status, row.kip_category = "published", "berkala"

    assert set(await _ids(docs, "staff", q="rapat")) == {rapat["id"], laporan["id"]}
    assert await _ids(docs, "staff", q="RAPAT pleno") == [rapat["id"]]
    assert await _ids(docs, "staff", q="100%") == [surat["id"]]
    assert await _ids(docs, "staff", q="_") == []
    assert await _ids(docs, "staff", division_id=str(division)) == [rapat["id"]]
    assert await _ids(docs, "staff", status="published") == [laporan["id"]]
    assert await _ids(docs, "staff", category="berkala") == [laporan["id"]]
    assert await _ids(docs, "staff", date_from="2024-03-01") == [surat["id"]]
    assert await _ids(docs, "staff", date_from="2024-01-01", date_to="2024-03-01") \
        == [rapat["id"]]
    sha = hashlib.sha256(b"a2").hexdigest()
    assert await _ids(docs, "staff", sha256=sha) == [surat["id"]]
    bad = await docs.client.get("/api/v1/documents", headers=docs.headers["staff"],
                                params={"date_from": "kemarin"})
    assert bad.status_code == 422


async def test_keyset_pages_cover_everything_once(docs: DocsEnv) -> None:
    made = [(await docs.upload("staff", f"p{i}".encode())).json()["id"] for i in range(7)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await docs.client.get("/api/v1/documents", headers=docs.headers["staff"],
                                      params=params)).json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    bad = await docs.client.get("/api/v1/documents", headers=docs.headers["staff"],
                                params={"cursor": "tidak-valid"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"


async def test_who_sees_what(docs: DocsEnv) -> None:
    mine = (await docs.upload("staff", uuid.uuid4().hex.encode())).json()["id"]
    theirs = (await docs.upload("other", uuid.uuid4().hex.encode())).json()["id"]
    assert await _ids(docs, "staff") == [mine]
    # Asking for another office's documents gives nothing, not their list.
    assert await _ids(docs, "staff", office="6303") == []
    assert await _ids(docs, "other") == [theirs]
    assert set(await _ids(docs, "ppid")) == {mine, theirs}
    assert await _ids(docs, "ppid", office="6303") == [theirs]
    ppid_detail = await docs.client.get(f"/api/v1/documents/{theirs}", headers=docs.headers["ppid"])
    assert ppid_detail.status_code == 200
    cross = await docs.client.get(f"/api/v1/documents/{theirs}", headers=docs.headers["staff"])
    assert cross.status_code == 404
    for path in ("/api/v1/documents", f"/api/v1/documents/{mine}",
                 f"/api/v1/documents/{mine}/content"):
        root = await docs.client.get(path, headers=docs.headers["root"])
        assert root.status_code in (403, 404), path
    upload = await docs.upload("ppid", b"ppid tidak mengunggah")
    assert upload.status_code == 403
