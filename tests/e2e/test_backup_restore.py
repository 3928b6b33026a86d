"""A backup of the running stack restores into an empty database and bucket, whole and intact.

The restore target is a fresh PostgreSQL database and a fresh bucket on the same servers, so the
test never disturbs the stack it reads from.
"""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from minio import Minio

from dms_common.backup import BackupError, Target, create_backup, libpq_url, restore_backup
from tests.support.pdf import make_pdf
from tests.support.servers import ROOT, Endpoints, read_env_file
from tests.support.stack import create_user, gateway_client


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
