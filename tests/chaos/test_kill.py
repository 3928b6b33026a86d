"""Kill test: uploads keep coming while consumers die and servers restart; nothing is lost.

While documents are uploaded at a steady rate through the gateway, each worker process (the
classify, publish and search consumers, and ingest's worker with its outbox relay) is killed with
SIGKILL at random moments and brought back as a supervisor would, and Kafka, OpenSearch and
PostgreSQL are each restarted once. Then, within `DMS_CHAOS_SETTLE_SECONDS` (60) of the last
disruption, the whole system must agree again:

- `dms-internal` holds as many documents as ingest (beyond any gap other tests left before);
- every upload that got a 2xx has its row, and its object whose sha256 matches;
- each indexed status equals the document's state in ingest's read model and in classify;
- no event had its effect twice (one `extracted` per document version in classify's outbox);
- every outbox is drained and no event was parked on a DLQ;
- no original object lacks its row.

Sizes: `DMS_CHAOS_DOCS` (500 by default, as in CI) at `DMS_CHAOS_RATE` uploads per second.
Run it alone with `make chaos` (or `DMS_CHAOS_DOCS=10000 make chaos` for the full run). It
needs the whole native stack and restarts its servers, so it runs on its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from minio import Minio
from opensearchpy import OpenSearch

from dms_common.bus.dlq import count_pending
from dms_common.events import Topic
from tests.support.pdf import make_pdf
from tests.support.servers import ROOT, STACK, Endpoints
from tests.support.stack import StackUser, create_user, gateway_client, login

DOCS = int(os.environ.get("DMS_CHAOS_DOCS", "500"))
RATE = float(os.environ.get("DMS_CHAOS_RATE", "12"))
SETTLE_SECONDS = float(os.environ.get("DMS_CHAOS_SETTLE_SECONDS", "60"))
CONCURRENCY = 8
WORKERS = ("ingest-worker", "classify-worker", "publish-worker", "search-worker")
KILLS_PER_WORKER = 2
RESTARTED_SERVERS = ("kafka", "opensearch", "postgres")
SCHEMAS = ("ingest", "classify", "publish", "search")
ORIGINAL = re.compile(r"\d{2,4}/[0-9a-f-]{36}/\d+/original")
SEED = int(os.environ.get("DMS_CHAOS_SEED", str(random.SystemRandom().randrange(1 << 30))))

pytestmark = pytest.mark.chaos


@dataclass
class Uploads:
    accepted: dict[str, str] = field(default_factory=dict)  # document id -> sha256
    refused: Counter[str] = field(default_factory=Counter)
    last_at: float = 0.0


@dataclass
class Disruptions:
    log: list[str] = field(default_factory=list)
    last_at: float = 0.0


def _stack(*args: str) -> None:
    subprocess.run([str(STACK), *args], check=True, capture_output=True, text=True)


def _pid(name: str) -> int:
    return int((ROOT / "var" / "run" / f"{name}.pid").read_text().strip())


def _kill_and_revive(name: str, rng: random.Random) -> None:
    os.kill(_pid(name), signal.SIGKILL)
    time.sleep(rng.uniform(0.5, 3.0))
    _stack("up", name)


def _restart(name: str) -> None:
    _stack("down", name)
    _stack("up", name)


async def _upload_steadily(client: httpx.AsyncClient, user: StackUser, uploads: Uploads,
                           rng: random.Random) -> None:
    headers = dict(user.headers)
    gate = asyncio.Semaphore(CONCURRENCY)
    started = time.monotonic()

    async def one(index: int) -> None:
        nonlocal headers
        await asyncio.sleep(max(0.0, started + index / RATE - time.monotonic()))
        marker = uuid.uuid4().hex
        if index % 5 == 0:
            body = make_pdf([f"Laporan pengawasan tahapan nomor {index}", marker])
            name, kind = f"laporan-{index}.pdf", "application/pdf"
        else:
            body = f"Catatan pengawasan nomor {index}.\nPenanda {marker}.\n".encode()
            name, kind = f"catatan-{index}.txt", "text/plain"
        async with gate:
            for _ in range(2):
                try:
                    response = await client.post(
                        "/api/v1/documents", headers=headers,
                        data={"title": f"Dokumen uji ketahanan {index}",
                              "document_date": "2026-11-20"},
                        files={"file": (name, body, kind)})
                except httpx.HTTPError as error:
                    uploads.refused[type(error).__name__] += 1
                    return
                if response.status_code == 401:  # the access token outlived its 10 minutes
                    headers = await login(client, user.username, user.password)
                    continue
                break
        uploads.last_at = time.monotonic()
        if response.status_code == 201:
            uploads.accepted[str(response.json()["id"])] = hashlib.sha256(body).hexdigest()
        else:
            uploads.refused[str(response.status_code)] += 1

    await asyncio.gather(*(one(index) for index in range(DOCS)))


async def _disrupt(window: float, disruptions: Disruptions, rng: random.Random) -> None:
    actions: list[tuple[str, str]] = [("kill", w) for w in WORKERS for _ in range(KILLS_PER_WORKER)]
    actions += [("restart", server) for server in RESTARTED_SERVERS]
    rng.shuffle(actions)
    started = time.monotonic()
    step = window * 0.8 / len(actions)
    for number, (kind, name) in enumerate(actions):
        moment = started + window * 0.05 + number * step + rng.uniform(0, step / 2)
        await asyncio.sleep(max(0.0, moment - time.monotonic()))
        began = time.monotonic()
        if kind == "kill":
            await asyncio.to_thread(_kill_and_revive, name, rng)
        else:
            await asyncio.to_thread(_restart, name)
        disruptions.last_at = time.monotonic()
        disruptions.log.append(f"{began - started:6.1f}s {kind} {name} "
                               f"({disruptions.last_at - began:.1f}s)")


class State:
    """What the stores say, read straight from PostgreSQL, OpenSearch and the bucket."""

    def __init__(self, servers: Endpoints) -> None:
        self.servers = servers
        self.search = OpenSearch(servers.opensearch_url, timeout=30)
        self.minio = Minio(servers.s3_endpoint, access_key=servers.s3_access_key,
                           secret_key=servers.s3_secret_key, secure=False)

    async def db(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.servers.database_url.replace("+asyncpg", ""))

    async def dlq_pending(self) -> dict[str, int]:
        return {topic.value: await count_pending(self.servers.kafka_bootstrap, topic.value)
                for topic in Topic if topic is not Topic.IDENTITY_CHANGED}

    async def index_gap(self) -> int:
        """How many more documents `dms-internal` holds than ingest (0 on a clean stack).

        Other end-to-end tests put events for made-up documents straight onto the topics;
        those are indexed without an ingest row, so the kill test compares against the gap it
        found before it began.
        """
        conn = await self.db()
        try:
            documents = await conn.fetchval("SELECT count(*) FROM ingest.documents")
        finally:
            await conn.close()
        indexed = (await asyncio.to_thread(self.search.count, index="dms-internal"))["count"]
        return int(indexed) - int(documents)

    async def problems(self, uploads: Uploads, dlq_before: dict[str, int],
                       gap_before: int) -> list[str]:
        """Everything that still disagrees; empty once the system has converged."""
        found: list[str] = []
        conn = await self.db()
        try:
            documents = await conn.fetchval("SELECT count(*) FROM ingest.documents")
            for schema in SCHEMAS:
                unsent = await conn.fetchval(
                    f"SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL")
                if unsent:
                    found.append(f"{schema}.outbox holds {unsent} unsent events")
            rows = await conn.fetch(
                "SELECT d.id::text AS id, d.status AS ingest_status, c.status AS classify_status "
                "FROM ingest.documents d LEFT JOIN classify.documents c "
                "ON c.document_id = d.id AND c.version = d.current_version "
                "WHERE d.id = ANY($1::uuid[])", list(uploads.accepted))
            duplicates = await conn.fetchval(
                "SELECT count(*) FROM (SELECT key, convert_from(value, 'UTF8')::jsonb->>'version' "
                "FROM classify.outbox WHERE topic LIKE '%dms.document.extracted' "
                "GROUP BY 1, 2 HAVING count(*) > 1) AS twice")
        finally:
            await conn.close()
        if duplicates:
            found.append(f"{duplicates} document versions were extracted more than once")
        indexed = (await asyncio.to_thread(self.search.count, index="dms-internal"))["count"]
        if indexed - documents != gap_before:
            found.append(f"dms-internal holds {indexed} documents, ingest {documents} "
                         f"(a gap of {gap_before} before the run)")
        if len(rows) != len(uploads.accepted):
            found.append(f"{len(uploads.accepted) - len(rows)} accepted uploads have no row")
        statuses = await asyncio.to_thread(self._indexed_statuses, list(uploads.accepted))
        settled = {"extracted", "extraction_failed"}
        for row in rows:
            in_index = statuses.get(row["id"])
            if row["classify_status"] not in settled:
                found.append(f"{row['id']}: classify status {row['classify_status']}")
            elif row["ingest_status"] != row["classify_status"]:
                found.append(f"{row['id']}: ingest shows {row['ingest_status']}, "
                             f"classify {row['classify_status']}")
            elif in_index != row["ingest_status"]:
                found.append(f"{row['id']}: indexed as {in_index}, is {row['ingest_status']}")
        dlq = await self.dlq_pending()
        for topic, pending in dlq.items():
            if pending > dlq_before.get(topic, 0):
                found.append(f"{pending - dlq_before.get(topic, 0)} events parked on {topic}.dlq")
        return found

    def _indexed_statuses(self, ids: list[str]) -> dict[str, str]:
        statuses: dict[str, str] = {}
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            found = self.search.mget(index="dms-internal", body={"ids": chunk},
                                     params={"_source_includes": "status"})
            for doc in found["docs"]:
                if doc.get("found"):
                    statuses[doc["_id"]] = doc["_source"]["status"]
        return statuses

    async def stored_objects(self, uploads: Uploads, since: datetime) -> list[str]:
        """Objects that do not match their upload, and originals stored since `since` that
        have no row (older ones are other tests' business, and the sweeper's)."""
        found: list[str] = []
        conn = await self.db()
        try:
            versions = {(str(r["document_id"]), r["version"]): (r["object_key"], r["sha256"])
                        for r in await conn.fetch(
                            "SELECT document_id, version, object_key, sha256 "
                            "FROM ingest.document_versions")}
        finally:
            await conn.close()
        by_document = {doc: key_sha for (doc, version), key_sha in versions.items()
                       if version == 1}
        bucket = self.servers.s3_bucket

        def check() -> None:
            for document_id, sha in uploads.accepted.items():
                if document_id not in by_document:
                    found.append(f"{document_id}: no version row")
                    continue
                key, recorded = by_document[document_id]
                response = self.minio.get_object(bucket, key)
                try:
                    actual = hashlib.sha256(response.read()).hexdigest()
                finally:
                    response.close()
                    response.release_conn()
                if not (actual == recorded == sha):
                    found.append(f"{document_id}: object {actual[:12]}, row {recorded[:12]}, "
                                 f"uploaded {sha[:12]}")
            keys = {key for key, _ in versions.values()}
            for item in self.minio.list_objects(bucket, recursive=True):
                name = str(item.object_name)
                recent = item.last_modified is not None and item.last_modified >= since
                if recent and ORIGINAL.fullmatch(name) and name not in keys:
                    found.append(f"object without its row: {name}")

        await asyncio.to_thread(check)
        return found


async def test_nothing_is_lost_while_consumers_are_killed_and_servers_restart(
        servers: Endpoints) -> None:
    rng = random.Random(SEED)
    state = State(servers)
    started_at = datetime.now(UTC) - timedelta(seconds=2)
    dlq_before = await state.dlq_pending()
    gap_before = await state.index_gap()
    uploads, disruptions = Uploads(), Disruptions()
    async with gateway_client(timeout=60) as client:
        user = await create_user(client, role="staff", office="6371")
        window = DOCS / RATE
        began = time.monotonic()
        await asyncio.gather(_upload_steadily(client, user, uploads, rng),
                             _disrupt(window, disruptions, rng))
        upload_seconds = time.monotonic() - began

    calm_since = max(disruptions.last_at, uploads.last_at)
    deadline = calm_since + SETTLE_SECONDS
    problems: list[str] = ["not checked yet"]
    while time.monotonic() < deadline:
        problems = await state.problems(uploads, dlq_before, gap_before)
        if not problems:
            break
        await asyncio.sleep(1.0)
    converged_after = time.monotonic() - calm_since
    report = {
        "seed": SEED, "documents": DOCS, "rate_per_second": RATE,
        "accepted": len(uploads.accepted), "refused": dict(uploads.refused),
        "index_gap_before": gap_before,
        "upload_seconds": round(upload_seconds, 1),
        "converged_seconds_after_last_disruption": round(converged_after, 1),
        "disruptions": disruptions.log,
    }
    print("chaos:", json.dumps(report, indent=2))
    assert not problems, (f"not converged {SETTLE_SECONDS:.0f}s after the last disruption "
                          f"({len(problems)} problems, seed {SEED}):\n" + "\n".join(problems[:30]))
    assert len(uploads.accepted) >= DOCS * 0.8, f"too few uploads accepted: {report}"
    assert len(disruptions.log) == len(WORKERS) * KILLS_PER_WORKER + len(RESTARTED_SERVERS)
    stored = await state.stored_objects(uploads, started_at)
    assert not stored, "\n".join(stored[:30])


def _all_running() -> dict[str, Any]:
    result = subprocess.run([str(STACK), "status"], capture_output=True, text=True, check=False)
    return {"code": result.returncode, "out": result.stdout}


@pytest.fixture(autouse=True)
def leave_the_stack_running() -> Any:
    yield
    # Whatever happened, the next tests find every server and service up.
    if _all_running()["code"] != 0:
        _stack("up")
