"""Backup and restore of what DMS cannot rebuild: the service schemas and the objects.

    dms-backup create DIR [--registers-url URL]
    dms-backup restore DIR [--force]

A backup folder holds one `pg_dump` (custom format) per service schema under `db/`,
every object of the bucket under `objects/` (with its content type, metadata and sha256
in `manifest.json`), and, when a portal address is given, the public DIP and DIK registers
as CSV under `registers/` — a readable copy of what the public saw that day.

The search indices are not in it: they are a projection, rebuilt after a restore from the
search service's own table with `dms-search-reindex`. Kafka is not in it either: every
event's effect is already in the schemas, and the outboxes hold what was not yet sent.

`restore` refuses a target that already holds DMS data (unless `--force`), loads each
schema, then puts each object back and checks its sha256 against the manifest. Grants to
the runtime roles are left to the services, which set them at start (`dms_common.db.migrate`).
Configuration comes from the usual `DMS_` variables (database, S3).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import urlopen

from minio import Minio

from dms_common.settings import ServiceSettings, load_settings

SERVICE_SCHEMAS = ("ingest", "classify", "publish", "search")
MANIFEST = "manifest.json"
SCHEMA_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
FORMAT_VERSION = 1
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


@dataclass(frozen=True)
class Target:
    """Where DMS keeps its state: the database and the bucket."""

    database_url: str  # a libpq URL (postgresql://...)
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_bucket: str
    s3_secure: bool = False
    schema_suffix: str = ""

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Target:
        return cls(database_url=libpq_url(settings.database_url.get_secret_value()),
                   s3_endpoint=settings.s3_endpoint,
                   s3_access_key=settings.s3_access_key.get_secret_value(),
                   s3_secret_key=settings.s3_secret_key.get_secret_value(),
                   s3_bucket=settings.s3_bucket, s3_secure=settings.s3_secure,
                   schema_suffix=settings.db_schema_suffix)

    def minio(self) -> Minio:
        return Minio(self.s3_endpoint, access_key=self.s3_access_key,
                     secret_key=self.s3_secret_key, secure=self.s3_secure)

    @property
    def schemas(self) -> list[str]:
        return [schema + self.schema_suffix for schema in SERVICE_SCHEMAS]


def libpq_url(url: str) -> str:
    """`postgresql+asyncpg://...` as the PostgreSQL tools read it."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def _pg_connection(target: Target) -> tuple[str, dict[str, str]]:
    """The URL without its password, and an environment carrying it (never in `ps` output)."""
    parts = urlsplit(target.database_url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
        host = parts.hostname or ""
        netloc = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts), env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} tidak ditemukan: pasang klien PostgreSQL (postgresql-client)")
    return found


def _psql_value(target: Target, sql: str) -> str:
    url, env = _pg_connection(target)
    result = subprocess.run([_pg_tool("psql"), "-XAtq", "-d", url, "-c", sql],
                            capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise BackupError(f"psql gagal: {result.stderr.strip()}")
    return result.stdout.strip()


def _existing_schemas(target: Target) -> list[str]:
    if not all(SCHEMA_NAME.fullmatch(schema) for schema in target.schemas):
        raise BackupError(f"nama skema tidak sah: {target.schemas}")
    names = ",".join(f"'{schema}'" for schema in target.schemas)
    query = f"SELECT nspname FROM pg_namespace WHERE nspname IN ({names})"  # noqa: S608
    listed = _psql_value(target, query)
    return [line for line in listed.splitlines() if line]


def _safe_object_path(root: Path, key: str) -> Path:
    # Keys are ours ({office}/{document}/{version}/...), but a restore reads a folder that may
    # have been edited: never let a key leave the objects folder.
    parts = key.split("/")
    if any(part in {"", ".", ".."} for part in parts) or "\\" in key or "\x00" in key:
        raise BackupError(f"kunci objek tidak aman di cadangan: {key!r}")
    return root.joinpath(*parts)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def create_backup(*, target: Target, folder: Path,
                  registers_url: str | None = None) -> dict[str, Any]:
    """Write a backup of the schemas and the objects into `folder` (created, must be empty)."""
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"folder cadangan tidak kosong: {folder}")
    (folder / "db").mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": FORMAT_VERSION,
                                "created_at": datetime.now(UTC).isoformat(),
                                "schema_suffix": target.schema_suffix,
                                "schemas": [], "objects": [], "registers": []}
    for schema in _existing_schemas(target):
        dump = folder / "db" / f"{schema.removesuffix(target.schema_suffix)}.dump"
        url, env = _pg_connection(target)
        result = subprocess.run([_pg_tool("pg_dump"), "--format=custom", f"--schema={schema}",
                                 f"--file={dump}", "-d", url],
                                capture_output=True, text=True, check=False, env=env)
        if result.returncode != 0:
            raise BackupError(f"pg_dump skema {schema} gagal: {result.stderr.strip()}")
        manifest["schemas"].append({"schema": schema.removesuffix(target.schema_suffix),
                                    "file": f"db/{dump.name}", "sha256": _sha256_file(dump)})
        _say(f"skema {schema}: {dump.stat().st_size} byte")

    client = target.minio()
    objects_root = folder / "objects"
    total = 0
    for item in client.list_objects(target.s3_bucket, recursive=True):
        key = str(item.object_name)
        path = _safe_object_path(objects_root, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        response = client.get_object(target.s3_bucket, key)
        digest = hashlib.sha256()
        try:
            with path.open("wb") as handle:
                for chunk in response.stream(CHUNK):
                    digest.update(chunk)
                    handle.write(chunk)
            headers = response.headers
        finally:
            response.close()
            response.release_conn()
        metadata = {name[len("x-amz-meta-"):]: value for name, value in headers.items()
                    if name.lower().startswith("x-amz-meta-")}
        manifest["objects"].append({"key": key, "size": path.stat().st_size,
                                    "sha256": digest.hexdigest(),
                                    "content_type": headers.get("content-type"),
                                    "metadata": metadata})
        total += path.stat().st_size
        if len(manifest["objects"]) % 500 == 0:
            _say(f"objek: {len(manifest['objects'])} ({total} byte)")
    _say(f"objek: {len(manifest['objects'])} ({total} byte)")

    if registers_url:
        (folder / "registers").mkdir()
        for register in ("dip", "dik"):
            url = f"{registers_url.rstrip('/')}/api/v1/public/{register}?format=csv"
            path = folder / "registers" / f"{register}.csv"
            try:
                with urlopen(url, timeout=60) as response, path.open("wb") as handle:  # noqa: S310
                    shutil.copyfileobj(response, handle)
            except OSError as error:
                # The registers are regenerated from publish's schema (in the dump); this copy
                # is for people to read, so a portal that does not answer only costs the copy.
                path.unlink(missing_ok=True)
                _say(f"peringatan: register {register} tidak tersimpan ({error})")
                manifest["registers"].append({"register": register, "error": str(error)})
                continue
            manifest["registers"].append({"register": register, "file": f"registers/{path.name}",
                                          "sha256": _sha256_file(path)})
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def restore_backup(*, target: Target, folder: Path, force: bool = False) -> dict[str, Any]:
    """Load a backup's schemas and objects into `target`, checking every file against its hash."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"bukan folder cadangan DMS (tidak ada {MANIFEST}): {folder}")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"format cadangan {manifest.get('format')!r} tidak dikenal")
    if target.schema_suffix != manifest.get("schema_suffix", ""):
        raise BackupError("cadangan dibuat dengan akhiran skema lain "
                          f"({manifest.get('schema_suffix')!r}); pulihkan dengan akhiran yang sama")
    present = _existing_schemas(target)
    if present and not force:
        raise BackupError("tujuan pemulihan sudah berisi skema DMS "
                          f"({', '.join(present)}); gunakan --force untuk menimpanya")
    for entry in manifest["schemas"]:
        dump = folder / entry["file"]
        if _sha256_file(dump) != entry["sha256"]:
            raise BackupError(f"berkas {entry['file']} rusak: sha256 tidak cocok")
    client = target.minio()
    if not client.bucket_exists(target.s3_bucket):
        client.make_bucket(target.s3_bucket)
    for entry in manifest["schemas"]:
        schema = entry["schema"] + target.schema_suffix
        if schema in present:
            _psql_value(target, f'DROP SCHEMA "{schema}" CASCADE')
        url, env = _pg_connection(target)
        result = subprocess.run([_pg_tool("pg_restore"), "--exit-on-error", "--no-owner",
                                 "--no-privileges", "-d", url, str(folder / entry["file"])],
                                capture_output=True, text=True, check=False, env=env)
        if result.returncode != 0:
            raise BackupError(f"pg_restore skema {schema} gagal: {result.stderr.strip()}")
        _say(f"skema {schema}: dipulihkan")

    objects_root = folder / "objects"
    for count, entry in enumerate(manifest["objects"], start=1):
        path = _safe_object_path(objects_root, entry["key"])
        if _sha256_file(path) != entry["sha256"]:
            raise BackupError(f"objek {entry['key']} rusak: sha256 tidak cocok")
        client.fput_object(target.s3_bucket, entry["key"], str(path),
                           content_type=entry.get("content_type") or "application/octet-stream",
                           metadata=entry.get("metadata") or None)
        if count % 500 == 0:
            _say(f"objek: {count}/{len(manifest['objects'])}")
    _say(f"objek: {len(manifest['objects'])} dipulihkan")
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dms-backup", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="buat cadangan ke folder baru")
    create.add_argument("folder", type=Path)
    create.add_argument("--registers-url", help="alamat portal, untuk menyimpan DIP dan DIK (CSV)")
    restore = commands.add_parser("restore", help="pulihkan cadangan ke basis data dan bucket")
    restore.add_argument("folder", type=Path)
    restore.add_argument("--force", action="store_true",
                         help="timpa skema DMS yang sudah ada di tujuan")
    args = parser.parse_args(argv)
    target = Target.from_settings(load_settings(ServiceSettings))
    try:
        if args.command == "create":
            manifest = create_backup(target=target, folder=args.folder,
                                     registers_url=args.registers_url)
            print(f"cadangan selesai: {len(manifest['schemas'])} skema, "
                  f"{len(manifest['objects'])} objek -> {args.folder}")
        else:
            manifest = restore_backup(target=target, folder=args.folder, force=args.force)
            print(f"pemulihan selesai: {len(manifest['schemas'])} skema, "
                  f"{len(manifest['objects'])} objek; jalankan layanan lalu "
                  "`dms-search-reindex` untuk membangun ulang indeks pencarian")
    except BackupError as error:
        print(f"dms-backup: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
