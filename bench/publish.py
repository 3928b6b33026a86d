"""Public document list and document page latency, against the raw query behind each.

    deploy/local/stack up && uv run python bench/publish.py [--requests 200]

At 1, 8 and 32 concurrent clients, measures p50/p99 of
- GET /api/v1/public/documents (first page of 20) and GET /dokumen/{id} through the gateway,
- the raw PostgreSQL query behind each (asyncpg, same database, same run),
and prints the ratio service/raw. Needs at least one published document.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # type: ignore[import-untyped]
import httpx

from tests.support.servers import ROOT, read_env_file

GATEWAY = "http://127.0.0.1:8080"
LIST_SQL = ("SELECT * FROM publish.publications WHERE state = 'published' "
            "ORDER BY published_at DESC, document_id DESC LIMIT 21")
DOC_SQL = "SELECT * FROM publish.publications WHERE document_id = $1 AND state = 'published'"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(call: Callable[[], Awaitable[None]], *, clients: int,
                  requests: int) -> list[float]:
    timings: list[float] = []
    per_client = max(1, requests // clients)

    async def client() -> None:
        for _ in range(per_client):
            started = time.perf_counter()
            await call()
            timings.append(time.perf_counter() - started)

    await asyncio.gather(*(client() for _ in range(clients)))
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    dsn = read_env_file(ROOT / "deploy" / "local" / "dev.env")["DMS_DATABASE_URL"].replace(
        "postgresql+asyncpg://", "postgresql://")
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=32)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=30, limits=limits) as http:
        listing = (await http.get("/api/v1/public/documents")).json()["items"]
        if not listing:
            raise SystemExit("no published document: publish one first")
        doc = listing[0]["id"]

        async def api_list() -> None:
            assert (await http.get("/api/v1/public/documents")).status_code == 200

        async def page() -> None:
            assert (await http.get(f"/dokumen/{doc}")).status_code == 200

        async def raw_list() -> None:
            async with pool.acquire() as conn:
                await conn.fetch(LIST_SQL)

        async def raw_doc() -> None:
            async with pool.acquire() as conn:
                await conn.fetch(DOC_SQL, uuid.UUID(doc))

        for call in (api_list, page, raw_list, raw_doc):  # warm up
            await measure(call, clients=4, requests=20)
        print(f"{'what':<22}{'clients':>8}{'p50 ms':>10}{'p99 ms':>10}{'raw p50':>10}"
              f"{'raw p99':>10}{'x p50':>8}{'x p99':>8}")
        for clients in (1, 8, 32):
            for name, service, raw in (("document list", api_list, raw_list),
                                       ("document page", page, raw_doc)):
                got = await measure(service, clients=clients, requests=args.requests)
                base = await measure(raw, clients=clients, requests=args.requests)
                p50, p99 = percentile(got, .5) * 1e3, percentile(got, .99) * 1e3
                r50, r99 = percentile(base, .5) * 1e3, percentile(base, .99) * 1e3
                print(f"{name:<22}{clients:>8}{p50:>10.1f}{p99:>10.1f}{r50:>10.2f}{r99:>10.2f}"
                      f"{p50 / r50:>8.1f}{p99 / r99:>8.1f}")
        print(f"(mean of all service timings {statistics.mean(got) * 1e3:.1f} ms)")
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
