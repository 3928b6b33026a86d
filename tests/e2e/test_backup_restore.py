"""A backup of the running stack restores into an empty database and bucket, whole and intact.

The restore target is a fresh PostgreSQL database and a fresh bucket on the same servers, so the
test never disturbs the stack it reads from. On the restored data, with the search indices rebuilt
by reindex, the publish and search APIs run as their own processes and the never-leak crawler
(tests/support/leaks.py) reads every public surface: the public documents show, the exempt one
and the redacted passage never do.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from minio import Minio
from pypdf import PdfReader

from dms_common.backup import BackupError, Target, create_backup, libpq_url, restore_backup
from dms_common.identity.tokens import Principal, Role
from dms_search.bootstrap import bootstrap
from dms_search.index import IndexKind
from dms_search.query import SearchRequest
from dms_search.reindex import reindex
from dms_search.service import search_internal, search_public
from dms_search.settings import SearchSettings
from tests.support.isolation import isolated
from tests.support.leaks import Crawler, Router, publish_redacted
from tests.support.pdf import make_pdf
from tests.support.servers import ROOT, Endpoints, read_env_file
from tests.support.stack import create_user, eventually, gateway_client


def _psql(url: str, sql: str) -> str:
    result = subprocess.run(["psql", "-XAtq", "-d", url, "-c", sql], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def source() -> Target:
    dev = read_env_file(ROOT / "deploy" / "local" / "dev.env")
    return Target(database_url=libpq_url(dev["DMS_DATABASE_URL"]),
                  s3_endpoint=dev["DMS_S3_ENDPOINT"], s3_access_key=dev["DMS_S3_ACCESS_KEY"],
                  s3_secret_key=dev["DMS_S3_SECRET_KEY"], s3_bucket=dev["DMS_S3_BUCKET"])


@pytest.fixture
def empty_target(source: Target, servers: Endpoints) -> Iterator[Target]:
    tag = uuid.uuid4().hex[:10]
    database, bucket = f"dms_restore_{tag}", f"dms-restore-{tag}"
    _psql(source.database_url, f'CREATE DATABASE "{database}"')
    base = source.database_url.rsplit("/", 1)[0]
    target = Target(database_url=f"{base}/{database}", s3_endpoint=source.s3_endpoint,
                    s3_access_key=source.s3_access_key, s3_secret_key=source.s3_secret_key,
                    s3_bucket=bucket)
    yield target
    _psql(source.database_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    client = target.minio()
    if client.bucket_exists(bucket):
        for item in client.list_objects(bucket, recursive=True):
            client.remove_object(bucket, str(item.object_name))
        client.remove_bucket(bucket)


async def _upload(client: httpx.AsyncClient, headers: dict[str, str], body: bytes) -> str:
    response = await client.post(
        "/api/v1/documents", headers=headers,
        data={"title": f"Laporan cadangan {uuid.uuid4().hex[:6]}", "document_date": "2026-11-02"},
        files={"file": ("laporan.pdf", body, "application/pdf")})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_backup_restores_every_row_and_object_into_an_empty_stack(
        source: Target, empty_target: Target, tmp_path: Path) -> None:
    async with gateway_client() as client:
        staff = await create_user(client, role="staff", office="6303")
        bodies = [make_pdf([f"Isi dokumen cadangan nomor {n} {uuid.uuid4()}"]) for n in range(3)]
        ids = [await _upload(client, staff.headers, body) for body in bodies]

    folder = tmp_path / "cadangan"
    manifest = create_backup(target=source, folder=folder)
    assert {entry["schema"] for entry in manifest["schemas"]} >= {"ingest", "classify",
                                                                  "publish", "search"}
    backed_up = {entry["key"]: entry for entry in manifest["objects"]}
    for document_id, body in zip(ids, bodies, strict=True):
        key = next(k for k in backed_up if f"/{document_id}/1/original" in k)
        assert backed_up[key]["sha256"] == hashlib.sha256(body).hexdigest()

    restore_backup(target=empty_target, folder=folder)

    # Every row the backup saw is in the restored database, table by table.
    for schema in ("ingest", "classify", "publish", "search"):
        tables = _psql(source.database_url,
                       f"SELECT tablename FROM pg_tables WHERE schemaname = '{schema}'").split()
        assert tables, f"no tables in {schema}"
        for table in tables:
            restored = int(_psql(empty_target.database_url,
                                 f'SELECT count(*) FROM "{schema}"."{table}"'))
            if schema == "ingest" and table in {"documents", "audit_log", "users", "offices"}:
                assert restored > 0, f"{schema}.{table} restored empty"
    listed = _psql(empty_target.database_url,
                   "SELECT id FROM ingest.documents WHERE id IN ("
                   + ",".join(f"'{i}'" for i in ids) + ")").split()
    assert sorted(listed) == sorted(ids)

    # The audit log stays append-only after a restore.
    refused = subprocess.run(["psql", "-XAtq", "-d", empty_target.database_url, "-c",
                              "UPDATE ingest.audit_log SET action = 'x'"],
                             capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "audit" in refused.stderr.lower()

    # Every object is back, byte for byte.
    restored_client: Minio = empty_target.minio()
    restored_keys = {str(o.object_name) for o in
                     restored_client.list_objects(empty_target.s3_bucket, recursive=True)}
    assert restored_keys == set(backed_up)
    for document_id, body in zip(ids, bodies, strict=True):
        key = next(k for k in restored_keys if f"/{document_id}/1/original" in k)
        response = restored_client.get_object(empty_target.s3_bucket, key)
        try:
            assert response.read() == body
        finally:
            response.close()
            response.release_conn()

    # A second restore onto the now full target is refused rather than mixing two states.
    with pytest.raises(BackupError, match="sudah berisi"):
        restore_backup(target=empty_target, folder=folder)


def test_a_tampered_backup_is_refused(source: Target, empty_target: Target,
                                      tmp_path: Path) -> None:
    folder = tmp_path / "cadangan"
    manifest = create_backup(target=source, folder=folder)
    dump = folder / manifest["schemas"][0]["file"]
    dump.write_bytes(dump.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(BackupError, match="rusak"):
        restore_backup(target=empty_target, folder=folder)
    assert _psql(empty_target.database_url,
                 "SELECT count(*) FROM pg_namespace WHERE nspname = 'ingest'") == "0"


DIP = {"summary": "Laporan pengawasan yang dipulihkan", "holder_unit": "Sekretariat",
       "responsible": "Kepala Sekretariat", "created_place_time": "Martapura, 2026",
       "available_forms": ["softcopy"], "retention": "5 tahun"}
EXEMPTION = {"exempt_information": "Identitas pelapor", "legal_basis": "Pasal 17 huruf h",
             "consequence": "Pelapor dapat terancam", "public_interest": "Perlindungan pelapor",
             "exempt_until": "2031-12-31", "place": "Martapura"}


LOG_TAIL = 4000


async def _upload_titled(client: httpx.AsyncClient, headers: dict[str, str], title: str,
                         lines: list[str]) -> tuple[str, bytes]:
    pdf = make_pdf([*lines, str(uuid.uuid4())])
    response = await client.post(
        "/api/v1/documents", headers=headers, data={"title": title, "document_date": "2026-11-02"},
        files={"file": ("isi.pdf", pdf, "application/pdf")})
    assert response.status_code == 201, response.text
    return str(response.json()["id"]), pdf


async def _decide(client: httpx.AsyncClient, admin: dict[str, str], document_id: str,
                  decision: dict[str, object]) -> None:
    async def settled() -> bool:
        got = await client.get(f"/api/v1/documents/{document_id}", headers=admin)
        return got.json()["status"] in ("extracted", "extraction_failed")

    await eventually(settled, what=f"{document_id} extracted", timeout=90)
    answer = await client.post(f"/api/v1/review/documents/{document_id}/decisions",
                               headers=admin, json=decision)
    assert answer.status_code == 201, answer.text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(log: Path) -> str:
    """The end of a service's log, without its access lines (the crawl makes hundreds)."""
    if not log.exists():
        return "(no log)"
    lines = [line for line in log.read_text(errors="replace").splitlines()
             if '"uvicorn.access"' not in line]
    return "\n".join(lines)[-LOG_TAIL:]


@asynccontextmanager
async def _service_api(service: str, settings: dict[str, object],
                       log: Path) -> AsyncIterator[str]:
    """A service's API as its own uvicorn process on a free port; yields its base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMS_")}
    env.update({f"DMS_{key.upper()}": str(value) for key, value in settings.items()})
    env.update({"DMS_SERVICE_NAME": service, "DMS_LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1"})
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "uvicorn", f"dms_{service}.main:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
            env=env, stdout=out, stderr=asyncio.subprocess.STDOUT)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            async def ready() -> bool:
                assert process.returncode is None, (
                    f"{service} API exited with {process.returncode}:\n{_tail(log)}")
                try:
                    answer = await client.get("/readyz")
                except httpx.TransportError:
                    return False
                return answer.status_code == 200 and answer.json().get("status") == "ready"

            try:
                await eventually(ready, what=f"the {service} API on the restored data",
                                 timeout=60)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{_tail(log)}") from exc
        yield base
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_a_restored_stack_finds_what_was_public_and_never_what_was_exempt(
        source: Target, empty_target: Target, tmp_path: Path, servers: Endpoints) -> None:
    tag = uuid.uuid4().hex[:8]
    public_title, secret_title = f"Rekap pulih{tag}", f"Laporan kanarirahasia{tag}"
    partly_title = f"Rekap penanganan sebagian{tag}"
    # Canaries only in the documents' text: the exempt document's, and a passage redacted
    # from a published one. A leak of extracted or redacted text shows, not only of a title.
    body_canary, redacted_canary = f"kanariisi{tag}", f"kanarihitam{tag}"
    async with gateway_client() as client:
        admin = (await create_user(client, role="office_admin", office="6303")).headers
        public, _ = await _upload_titled(client, admin, public_title,
                                         [public_title, "Rekap hasil pengawasan"])
        secret, _ = await _upload_titled(client, admin, secret_title,
                                         [secret_title, f"Nama pelapor {body_canary}"])
        partly, partly_original = await _upload_titled(
            client, admin, partly_title, [partly_title, f"NIK pelapor {redacted_canary}"])
        await _decide(client, admin, public, {"kip_category": "setiap_saat", "dip": DIP})
        await _decide(client, admin, secret,
                      {"kip_category": "dikecualikan", "consequence_test": EXEMPTION})
        await _decide(client, admin, partly, {"kip_category": "berkala", "dip": DIP})
        await publish_redacted(client, admin, partly, redacted_canary, DIP)

        async def searchable(word: str, document_id: str) -> bool:
            found = (await client.get("/api/v1/search", params={"q": word})).json()
            return any(hit["id"] == document_id for hit in found["hits"])

        async def redacted_copy_served() -> bool:
            got = await client.get(f"/api/v1/public/documents/{partly}/content")
            return got.status_code == 200 and got.content != partly_original

        await eventually(partial(searchable, f"pulih{tag}", public),
                         what="the public document in search", timeout=90)
        await eventually(redacted_copy_served, what="the redacted copy at publish", timeout=90)
        await eventually(partial(searchable, f"sebagian{tag}", partly),
                         what="the redacted document in search", timeout=90)

    folder = tmp_path / "cadangan"
    create_backup(target=source, folder=folder)
    restore_backup(target=empty_target, folder=folder)

    # The search service on the restored database and bucket, with fresh, empty indices,
    # rebuilt the way `stack restore` does it.
    async with isolated(servers) as iso:
        restored = {"db_schema_suffix": "", "s3_bucket": empty_target.s3_bucket,
                    "database_url": empty_target.database_url.replace(
                        "postgresql://", "postgresql+asyncpg://", 1)}
        settings = iso.settings(SearchSettings, **restored)
        app = await bootstrap(settings)
        try:
            for kind in (IndexKind.INTERNAL, IndexKind.PUBLIC):
                report = await reindex(app=app, kind=kind)
                assert report.copied > 0, f"nothing rebuilt into {kind}"
            public_hits = await search_public(index=app.index,
                                              request=SearchRequest(q=f"pulih{tag}"))
            assert [hit.id for hit in public_hits.hits] == [public]
            for canary in (f"kanarirahasia{tag}", body_canary, redacted_canary):
                found = await search_public(index=app.index, request=SearchRequest(q=canary))
                assert found.total == 0, f"{canary} is in the restored public index"
            by_title = await search_public(index=app.index, request=SearchRequest(
                q=secret_title, limit=100))
            assert secret not in [hit.id for hit in by_title.hits]
            ppid = Principal(user_id=uuid.uuid4(), role=Role.PPID, office_code="63",
                             division_id=None, permissions=frozenset(), jti="uji",
                             expires_at=datetime.now(UTC) + timedelta(minutes=5))
            # The canaries are really in the restored data, so their absence below means
            # something: the exempt document is found internally by title and by its text.
            for word in (f"kanarirahasia{tag}", body_canary):
                internal = await search_internal(index=app.index, actor=ppid,
                                                 request=SearchRequest(q=word))
                assert [hit.id for hit in internal.hits] == [secret], word
        finally:
            await app.close()

        # The public surfaces as real processes on the restored data: publish (portal and its
        # API) and search (API and page), crawled the way test_never_leak crawls the gateway.
        api_settings = {**iso.settings_kwargs(), **restored}
        async with (_service_api("publish", api_settings, tmp_path / "publish.log") as publish,
                    _service_api("search", api_settings, tmp_path / "search.log") as search,
                    httpx.AsyncClient(timeout=30) as http):
            try:
                await _crawl_restored(
                    Crawler(http, Router.services({"publish": publish, "search": search})),
                    tag=tag, public=(public, public_title), partly=(partly, partly_original),
                    secret=secret, canaries=(f"kanarirahasia{tag}", body_canary,
                                             redacted_canary))
            except AssertionError as exc:
                raise AssertionError(
                    f"{exc}\n--- publish API log ---\n{_tail(tmp_path / 'publish.log')}"
                    f"\n--- search API log ---\n{_tail(tmp_path / 'search.log')}") from exc


async def _crawl_restored(crawler: Crawler, *, tag: str, public: tuple[str, str],
                          partly: tuple[str, bytes], secret: str,
                          canaries: tuple[str, ...]) -> None:
    """Crawl every public surface; the public documents show, no canary nor the secret does."""
    (public_id, public_title), (partly_id, partly_original) = public, partly
    await crawler.crawl_pages()
    listed = await crawler.walk_api([*canaries, f"pulih{tag}", f"sebagian{tag}"])
    print(f"\nrestored stack: {crawler.pages} pages crawled, {len(crawler.bodies)} responses "
          f"read, {len(listed)} public documents; unrouted links: {sorted(crawler.unrouted)}")
    assert crawler.errors == [], crawler.errors
    assert len(crawler.bodies) > 40, sorted(crawler.bodies)
    # The crawl sees what it should, so it could see a leak too.
    assert public_id in listed and partly_id in listed and secret not in listed
    assert crawler.find(public_title), "the public document's title is on no surface"
    assert public_id in crawler.bodies[f"/api/v1/search?q=pulih{tag}"]
    assert public_title in crawler.bodies[f"/cari?q=pulih{tag}"]
    assert partly_id in crawler.bodies[f"/api/v1/search?q=sebagian{tag}"]
    assert [url for url in crawler.find(public_title)
            if not urlparse(url).path.startswith(("/api/", "/cari"))], "not on the portal"

    for canary in canaries:
        assert crawler.find(canary) == [], f"{canary} leaked"
    assert crawler.find(secret) == [], "the exempt document is listed"
    for path in (f"/api/v1/public/documents/{secret}",
                 f"/api/v1/public/documents/{secret}/content",
                 f"/api/v1/public/documents/{secret}/preview",
                 f"/api/v1/public/documents/{secret}/pages/1", f"/dokumen/{secret}"):
        assert (await crawler.get(path)).status_code == 404, path

    # Only the redacted copy of the partly exempt document is served, its passage blacked out.
    download = await crawler.get(f"/api/v1/public/documents/{partly_id}/content")
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    assert download.content != partly_original
    text = "".join(page.extract_text() or "" for page in
                   PdfReader(io.BytesIO(download.content)).pages)
    assert canaries[-1] not in text
    original_sha = hashlib.sha256(partly_original).hexdigest()
    assert all(original_sha != hashlib.sha256(body.encode("latin-1", "replace")).hexdigest()
               for body in crawler.bodies.values())
