"""A backup of the running stack restores into an empty database and bucket, whole and intact.

The restore target is a fresh PostgreSQL database and a fresh bucket on the same servers, so the
test never disturbs the stack it reads from.
"""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from minio import Minio

from dms_common.backup import BackupError, Target, create_backup, libpq_url, restore_backup
from dms_common.identity.tokens import Principal, Role
from dms_search.bootstrap import bootstrap
from dms_search.index import IndexKind
from dms_search.query import SearchRequest
from dms_search.reindex import reindex
from dms_search.service import search_internal, search_public
from dms_search.settings import SearchSettings
from tests.support.isolation import isolated
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


async def _decided(client: httpx.AsyncClient, admin: dict[str, str], title: str,
                   decision: dict[str, object]) -> str:
    document_id = await _upload_titled(client, admin, title)

    async def settled() -> bool:
        got = await client.get(f"/api/v1/documents/{document_id}", headers=admin)
        return got.json()["status"] in ("extracted", "extraction_failed")

    await eventually(settled, what=f"{title} extracted", timeout=90)
    answer = await client.post(f"/api/v1/review/documents/{document_id}/decisions",
                               headers=admin, json=decision)
    assert answer.status_code == 201, answer.text
    return document_id


async def _upload_titled(client: httpx.AsyncClient, headers: dict[str, str], title: str) -> str:
    response = await client.post(
        "/api/v1/documents", headers=headers, data={"title": title, "document_date": "2026-11-02"},
        files={"file": ("isi.pdf", make_pdf([title, str(uuid.uuid4())]), "application/pdf")})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_restored_stack_finds_what_was_public_and_never_what_was_exempt(
        source: Target, empty_target: Target, tmp_path: Path, servers: Endpoints) -> None:
    tag = uuid.uuid4().hex[:8]
    public_title, secret_title = f"Rekap pulih{tag}", f"Laporan kanarirahasia{tag}"
    async with gateway_client() as client:
        admin = (await create_user(client, role="office_admin", office="6303")).headers
        public = await _decided(client, admin, public_title,
                                {"kip_category": "setiap_saat", "dip": DIP})
        secret = await _decided(client, admin, secret_title,
                                {"kip_category": "dikecualikan", "consequence_test": EXEMPTION})

        async def searchable() -> bool:
            found = (await client.get("/api/v1/search", params={"q": f"pulih{tag}"})).json()
            return any(hit["id"] == public for hit in found["hits"])

        await eventually(searchable, what="the public document in search", timeout=90)

    folder = tmp_path / "cadangan"
    create_backup(target=source, folder=folder)
    restore_backup(target=empty_target, folder=folder)

    # The search service on the restored database and bucket, with fresh, empty indices,
    # rebuilt the way `stack restore` does it.
    async with isolated(servers) as iso:
        settings = iso.settings(
            SearchSettings, db_schema_suffix="", s3_bucket=empty_target.s3_bucket,
            database_url=empty_target.database_url.replace("postgresql://",
                                                           "postgresql+asyncpg://", 1))
        app = await bootstrap(settings)
        try:
            for kind in (IndexKind.INTERNAL, IndexKind.PUBLIC):
                report = await reindex(app=app, kind=kind)
                assert report.copied > 0, f"nothing rebuilt into {kind}"
            public_hits = await search_public(index=app.index,
                                              request=SearchRequest(q=f"pulih{tag}"))
            assert [hit.id for hit in public_hits.hits] == [public]
            canary = await search_public(index=app.index,
                                         request=SearchRequest(q=f"kanarirahasia{tag}"))
            assert canary.total == 0, "the exempt title is in the restored public index"
            by_title = await search_public(index=app.index, request=SearchRequest(
                q=secret_title, limit=100))
            assert secret not in [hit.id for hit in by_title.hits]
            ppid = Principal(user_id=uuid.uuid4(), role=Role.PPID, office_code="63",
                             division_id=None, permissions=frozenset(), jti="uji",
                             expires_at=datetime.now(UTC) + timedelta(minutes=5))
            internal = await search_internal(index=app.index, actor=ppid,
                                             request=SearchRequest(q=f"kanarirahasia{tag}"))
            assert [hit.id for hit in internal.hits] == [secret]
        finally:
            await app.close()
