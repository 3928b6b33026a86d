"""Search latency and throughput: the search API against raw OpenSearch, in the same run.

    deploy/local/stack up && uv run python bench/search.py [--requests 1200] [--rounds 4]
        [--clients 1,8,32] [--staff-office 6302] [--documents 10]
        [--refresh-intervals 1s,200ms] [--api URL]

Part 1 sends the labelled relevance queries (dms_search/relevance) at 1, 8 and 32
concurrent clients (a) through the gateway to the search route, (b) straight
to the search API's port, and (c) straight to OpenSearch with the very request
the service sends for that query (the baseline: the same body, encoded once
up front, and the same `filter_path`), and prints p50/p99 latency and
throughput with the ratios the issue sets as targets: p99 <= 1.5x raw,
throughput >= 0.7x raw. It does so for the public search (GET /api/v1/search,
`dms-public`) and for staff search as an office admin (GET
/api/v1/search/internal with a bearer token, `dms-internal` within the office).
All three targets use the same asynchronous HTTP client with the same number
of connections. The requests of each level are split into rounds, and each
round runs the three targets in a rotated order, so that a slow moment of the
shared machine does not land on one target only.

Part 2 measures upload-to-searchable through the whole pipeline (ingest ->
classify -> search worker -> OpenSearch refresh): the clock runs from the
upload's 201 until staff search finds the document's unique word, polled every
50 ms. The indices' refresh_interval is set explicitly for each run (and put
back afterwards), since it bounds the latency from below.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from dms_search.query import (
    PUBLIC_FACETS,
    SEARCH_FILTER_PATH,
    Scope,
    SearchRequest,
    build_search,
)
from dms_search.relevance import load_judgments
from dms_search.service import INTERNAL_FACETS, PUBLIC_SCOPE
from tests.support.pdf import make_pdf
from tests.support.stack import create_user, login

GATEWAY = "http://127.0.0.1:8080"
SEARCH_API = "http://127.0.0.1:8004"
OPENSEARCH = "http://127.0.0.1:9200"
PREFIX = "dms"
DIP = {"summary": "Bench", "holder_unit": "Sekretariat", "responsible": "Ketua",
       "created_place_time": "Banjarbaru, 2025", "available_forms": ["softcopy"],
       "retention": "5 tahun"}

Call = Callable[[httpx.AsyncClient, str], Awaitable[None]]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True)
class SearchPath:
    """One search route of the API and the OpenSearch request it makes for a query."""

    title: str
    route: str
    index: str
    scope: Scope
    facets: tuple[str, ...]
    headers: dict[str, str]

    def api_caller(self) -> Call:
        async def api_call(client: httpx.AsyncClient, q: str) -> None:
            response = await client.get(self.route, params={"q": q}, headers=self.headers)
            response.raise_for_status()
        return api_call

    def raw_body(self, q: str) -> bytes:
        """The body the service sends OpenSearch for `q` (GET <route>?q=...)."""
        body = build_search(SearchRequest(q=q), self.scope, facets=self.facets)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    def raw_caller(self, queries: list[str]) -> Call:
        bodies = {q: self.raw_body(q) for q in queries}
        headers = {"content-type": "application/json"}
        params = {"filter_path": SEARCH_FILTER_PATH}

        async def raw_call(client: httpx.AsyncClient, q: str) -> None:
            response = await client.post(f"/{self.index}/_search", params=params,
                                         content=bodies[q], headers=headers)
            response.raise_for_status()
        return raw_call


PUBLIC = SearchPath(title="Public search", route="/api/v1/search", index=f"{PREFIX}-public",
                    scope=PUBLIC_SCOPE, facets=PUBLIC_FACETS, headers={})


async def staff_path(office: str) -> SearchPath:
    """Staff search as a fresh office admin of `office` (their office's scope)."""
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=30) as client:
        user = await create_user(client, role="office_admin", office=office)
    return SearchPath(title=f"Staff search (office admin of {office})",
                      route="/api/v1/search/internal", index=f"{PREFIX}-internal",
                      scope=Scope(offices=frozenset({office})), facets=INTERNAL_FACETS,
                      headers=user.headers)


async def load(base_url: str, call: Call, queries: list[str], *, clients: int,
               requests: int) -> tuple[list[float], float]:
    """Send `requests` queries from `clients` concurrent clients; latencies and wall time."""
    latencies: list[float] = []
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        await call(client, queries[0])  # connect and warm up

        async def worker() -> None:
            for i in counter:
                started = time.perf_counter()
                await call(client, queries[i % len(queries)])
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return latencies, time.perf_counter() - started


async def part_queries(path: SearchPath, levels: list[int], requests: int, rounds: int,
                       api: str) -> None:
    queries = [q for q, _ in load_judgments()]
    targets = [("raw", OPENSEARCH, path.raw_caller(queries)), ("api", api, path.api_caller()),
               ("gateway", GATEWAY, path.api_caller())]
    print(f"{path.title}: GET {path.route} against {path.index}/_search; "
          f"{len(queries)} labelled queries, {requests} requests per target and level "
          f"in {rounds} rounds\n")
    for _, base, call in targets:
        # Every query once to every target first: the levels measure warm caches
        # (OpenSearch's and a freshly started API's) alike.
        await load(base, call, queries, clients=1, requests=len(queries))
    header = (f"{'clients':>7} {'target':<10} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} "
              f"{'p99/raw':>8} {'rps/raw':>8}")
    print(header)
    print("-" * len(header))
    for clients in levels:
        latencies: dict[str, list[float]] = {name: [] for name, _, _ in targets}
        walls = dict.fromkeys(latencies, 0.0)
        for round_ in range(rounds):
            shift = round_ % len(targets)
            for name, base, call in targets[shift:] + targets[:shift]:
                took, wall = await load(base, call, queries, clients=clients,
                                        requests=requests // rounds)
                latencies[name] += took
                walls[name] += wall
        runs = {name: (pct(took, 0.5), pct(took, 0.99), len(took) / walls[name])
                for name, took in latencies.items()}
        raw = runs["raw"]
        for name, (p50, p99, rps) in runs.items():
            ratios = "" if name == "raw" else f"{p99 / raw[1]:>8.2f} {rps / raw[2]:>8.2f}"
            print(f"{clients:>7} {name:<10} {p50 * 1000:>8.1f} {p99 * 1000:>8.1f} {rps:>8.1f} "
                  f"{ratios}")
    print("\nTargets: p99/raw <= 1.5, rps/raw >= 0.7 (api = the search service's port; "
          "gateway = through nginx)\n")


async def until_found(client: httpx.AsyncClient, word: str, headers: dict[str, str],
                      limit_s: float = 120) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        response = await client.get("/api/v1/search/internal", params={"q": word},
                                    headers=headers)
        if response.status_code == 200 and response.json()["total"] > 0:
            return time.perf_counter() - started
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{word} not searchable after {limit_s:.0f}s")


async def set_refresh(client: httpx.AsyncClient, interval: str) -> None:
    response = await client.put(f"/{PREFIX}-internal,{PREFIX}-public/_settings",
                                json={"index": {"refresh_interval": interval}})
    response.raise_for_status()


async def part_pipeline(count: int, intervals: list[str]) -> None:
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=30) as client, \
            httpx.AsyncClient(base_url=OPENSEARCH, timeout=30) as opensearch:
        user = await create_user(client, role="office_admin", office="6372")
        original = (await opensearch.get(f"/{PREFIX}-internal/_settings/index.refresh_interval"
                                         )).json()
        before = next(iter(original.values()))["settings"]["index"]["refresh_interval"]
        print(f"\nUpload -> staff-searchable through the pipeline ({count} documents per "
              f"setting; the indices' refresh_interval was {before})")
        try:
            for interval in intervals:
                await set_refresh(opensearch, interval)
                admin = await login(client, user.username, user.password)  # fresh token
                took = []
                for i in range(count):
                    word = f"qs{uuid.uuid4().hex[:10]}"
                    pdf = make_pdf([f"Laporan bench {i}", f"kata {word}"])
                    uploaded = await client.post(
                        "/api/v1/documents", headers=admin,
                        files={"file": (f"b{i}.pdf", pdf, "application/pdf")},
                        data={"title": f"Bench {i}"})
                    uploaded.raise_for_status()
                    took.append(await until_found(client, word, admin))
                print(f"  refresh_interval {interval:<6} p50 {statistics.median(took):.2f}s  "
                      f"p95 {pct(took, 0.95):.2f}s  max {max(took):.2f}s  (n={len(took)})")
        finally:
            await set_refresh(opensearch, before)


async def main(args: argparse.Namespace) -> None:
    levels = [int(n) for n in args.clients.split(",")]
    paths = [PUBLIC] if args.staff_office == "" else [PUBLIC,
                                                       await staff_path(args.staff_office)]
    for path in paths:
        await part_queries(path, levels, args.requests, max(1, args.rounds), args.api)
    if args.documents:
        await part_pipeline(args.documents, args.refresh_intervals.split(","))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1200,
                        help="requests per target and concurrency level")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--staff-office", default="6302",
                        help="office whose admin runs the staff search part ('': skip it)")
    parser.add_argument("--api", default=SEARCH_API,
                        help="the search API to measure directly (default: the stack's)")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--documents", type=int, default=10,
                        help="documents per refresh_interval for part 2 (0: skip it)")
    parser.add_argument("--refresh-intervals", default="1s,200ms")
    asyncio.run(main(parser.parse_args()))
