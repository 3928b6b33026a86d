"""The bulk importer against the real servers: a few hundred files, resumed, failures listed."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dms_ingest.importer import Importer, collect, write_failures
from tests.integration.ingest.documents_env import DocsEnv, documents_env
from tests.support.servers import Endpoints

FILES = 300


@pytest.fixture
async def docs(servers: Endpoints) -> AsyncIterator[DocsEnv]:
    async with documents_env(servers) as env:
        yield env


def _tree(root: Path) -> None:
    run = uuid.uuid4().hex
    for i in range(FILES):
        folder = root / f"tahun-{2020 + i % 3}" / ("pleno" if i % 2 else "surat")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"dokumen_{i:04d}.txt").write_text(f"Dokumen {i} dari impor {run}\n")
    (root / "program.pdf").write_bytes(b"MZ\x90\x00" + os.urandom(4000))
    (root / ".tersembunyi").write_text("tidak diimpor")


async def test_import_uploads_resumes_and_lists_failures(docs: DocsEnv, tmp_path: Path) -> None:
    root = tmp_path / "arsip"
    _tree(root)
    token = docs.headers["staff"]["Authorization"].removeprefix("Bearer ")

    async def token_source(renew: bool) -> str:
        return token

    paths = collect(root)
    assert len(paths) == FILES + 1
    importer = Importer(docs.client, token_source, root=root, division_id=None, concurrency=8)
    # An interrupted first run: only part of the tree.
    first = await importer.run(paths[:120])
    assert (first.uploaded, first.skipped) == (119, 0) and first.failed == 1
    progress = io.StringIO()
    second = await importer.run(paths, progress_out=progress)
    assert (second.uploaded, second.skipped, second.failed) == (FILES - 119, 119, 1)
    assert f"{FILES + 1}/{FILES + 1}" in progress.getvalue()
    assert second.failures[0][0] == "program.pdf"
    assert "415 unsupported_type" in second.failures[0][1]
    failures = tmp_path / "gagal.tsv"
    write_failures(failures, second.failures)
    assert failures.read_text().splitlines()[1].startswith("program.pdf\t415")

    third = await importer.run(paths)
    assert (third.uploaded, third.skipped, third.failed) == (0, FILES, 1)
    listing = await docs.client.get("/api/v1/documents", headers=docs.headers["admin"],
                                    params={"q": "dokumen 0007"})
    item = listing.json()["items"][0]
    assert item["tags"] == ["tahun-2021", "pleno"]
