"""The orphan sweeper against the real servers: a process SIGKILLed between the put and the
commit leaves an object with no row; the sweeper removes it once it is old enough, and leaves
committed documents alone."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from dms_ingest.sweeper import sweep_orphans
from tests.integration.ingest.documents_env import DocsEnv, documents_env
from tests.support.servers import ROOT, Endpoints


@pytest.fixture
async def docs(servers: Endpoints) -> AsyncIterator[DocsEnv]:
    # The sweeper lists a whole bucket: documents_env gives each test one of its own.
    async with documents_env(servers) as env:
        yield env


def _env(docs: DocsEnv, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMS_")}
    for name, value in docs.settings.model_dump().items():
        if value is None:
            continue
        raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        env[f"DMS_{name.upper()}"] = str(raw).lower() if isinstance(raw, bool) else str(raw)
    env["DMS_TEST_TOKEN"] = token
    env["PYTHONPATH"] = str(ROOT)
    return env


async def test_sigkill_between_put_and_commit_leaves_an_orphan_the_sweeper_removes(
        docs: DocsEnv) -> None:
    kept = await docs.upload("staff", b"Dokumen yang tercatat dengan benar")
    assert kept.status_code == 201
    kept_key = f"6302/{kept.json()['id']}/1/original"
    token = docs.headers["staff"]["Authorization"].removeprefix("Bearer ")
    assert docs.user_ids["staff"]  # registered in the schema the child opens
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.ingest.killed_upload", cwd=ROOT,
        env=_env(docs, token), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
        assert line.startswith(b"STORED "), line
        orphan = line.split()[1].decode()
        assert await docs.app.core.store.stat(orphan) is not None
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    listed = await docs.client.get("/api/v1/documents", headers=docs.headers["staff"])
    assert [d["id"] for d in listed.json()["items"]] == [kept.json()["id"]]

    core = docs.app.core
    young = await sweep_orphans(store=core.store, sessions=core.sessions,
                                older_than=timedelta(hours=1))
    assert young.removed == [] and await core.store.stat(orphan) is not None

    swept = await sweep_orphans(store=core.store, sessions=core.sessions,
                                older_than=timedelta(seconds=0),
                                now=datetime.now(UTC) + timedelta(seconds=2))
    assert swept.removed == [orphan]
    assert await core.store.stat(orphan) is None
    assert await core.store.stat(kept_key) is not None


async def test_sweeper_ignores_keys_that_are_not_originals(docs: DocsEnv) -> None:
    core = docs.app.core

    async def one(data: bytes) -> AsyncIterator[bytes]:
        yield data

    derived = "6302/00000000-0000-4000-8000-000000000001/1/derived/text.txt"
    stray = "laporan/tanpa-dokumen.txt"
    for key in (derived, stray):
        await core.store.put_stream(key, one(b"x"), content_type="text/plain")
    swept = await sweep_orphans(store=core.store, sessions=core.sessions,
                                older_than=timedelta(seconds=0),
                                now=datetime.now(UTC) + timedelta(seconds=2))
    assert swept.removed == []
    assert await core.store.stat(derived) is not None and await core.store.stat(stray) is not None


