"""The backup's pure parts: URLs for the PostgreSQL tools and object paths that stay inside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dms_common.backup import BackupError, Target, _safe_object_path, libpq_url, restore_backup


def test_the_async_driver_url_becomes_a_libpq_url() -> None:
    assert libpq_url("postgresql+asyncpg://dms:s3cret@127.0.0.1:5432/dms") == \
        "postgresql://dms:s3cret@127.0.0.1:5432/dms"


@pytest.mark.parametrize("key", ["../etc/passwd", "6301/../../x", "/abs/key", "a//b", "./a"])
def test_object_keys_that_would_leave_the_folder_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(BackupError, match="tidak aman"):
        _safe_object_path(tmp_path, key)


def test_an_ordinary_key_maps_below_the_objects_folder(tmp_path: Path) -> None:
    path = _safe_object_path(tmp_path, "6301/0b7c/1/original")
    assert path == tmp_path / "6301" / "0b7c" / "1" / "original"


def test_a_folder_without_a_manifest_is_not_a_backup(tmp_path: Path) -> None:
    target = Target(database_url="postgresql://x@127.0.0.1/x", s3_endpoint="127.0.0.1:1",
                    s3_access_key="a", s3_secret_key="b", s3_bucket="c")
    with pytest.raises(BackupError, match="bukan folder cadangan"):
        restore_backup(target=target, folder=tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(BackupError, match="tidak dikenal"):
        restore_backup(target=target, folder=tmp_path)


def test_the_database_password_travels_in_the_environment_not_in_arguments() -> None:
    from dms_common.backup import _pg_connection

    target = Target(database_url="postgresql://dms:rah%40sia@127.0.0.1:5432/dms",
                    s3_endpoint="x", s3_access_key="a", s3_secret_key="b", s3_bucket="c")
    url, env = _pg_connection(target)
    assert url == "postgresql://dms@127.0.0.1:5432/dms"
    assert env["PGPASSWORD"] == "rah@sia"
