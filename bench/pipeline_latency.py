"""Upload-to-searchable and decision-to-public-searchable latency through the running stack.

    deploy/local/stack up && uv run python bench/pipeline_latency.py [--documents 20]

Each document is a fresh PDF with a unique word; the clock runs from the
upload's 201 to the first staff-search hit, and from the decision's 201 to the
first public-search hit (polled every 50 ms through the gateway). The indices'
refresh_interval is 1 s, which bounds both from below.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from tests.support.pdf import make_pdf
from tests.support.servers import ROOT, read_env_file

GATEWAY = "http://127.0.0.1:8080"


DIP = {"summary": "Laporan berkala pengawasan", "holder_unit": "Sekretariat",
       "responsible": "Kepala Sekretariat", "created_place_time": "Banjarmasin, 2026",
       "available_forms": ["softcopy"], "retention": "5 tahun"}


async def until_found(client: httpx.AsyncClient, path: str, word: str,
                      headers: dict[str, str] | None = None, limit_s: float = 60) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        response = await client.get(path, params={"q": word}, headers=headers or {})
        if response.status_code == 200 and response.json()["total"] > 0:
            return time.perf_counter() - started
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{word} not found at {path}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(count: int) -> None:
    dev = read_env_file(ROOT / "deploy" / "local" / "dev.env")
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=30) as client:
        token = (await client.post("/api/v1/auth/token", data={
            "username": dev["DMS_ADMIN_USERNAME"], "password": dev["DMS_ADMIN_PASSWORD"]})).json()
        root = {"Authorization": f"Bearer {token['access_token']}"}
        name, password = f"bench{uuid.uuid4().hex[:6]}", f"Bench-{uuid.uuid4().hex}"
        await client.post("/api/v1/users", headers=root, json={
            "username": name, "password": password, "role": "office_admin",
            "office_code": "6303"})
        login = (await client.post("/api/v1/auth/token",
                                   data={"username": name, "password": password})).json()
        admin = {"Authorization": f"Bearer {login['access_token']}"}
        internal, public = [], []
        for i in range(count):
            word = f"qx{uuid.uuid4().hex[:10]}"
            pdf = make_pdf([f"Laporan pengawasan nomor {i}", f"kata {word}"])
            uploaded = await client.post("/api/v1/documents", headers=admin,
                                         files={"file": (f"l{i}.pdf", pdf, "application/pdf")},
                                         data={"title": f"Laporan {i}"})
            uploaded.raise_for_status()
            internal.append(await until_found(client, "/api/v1/search/internal", word, admin))
            doc_id = uploaded.json()["id"]
            decided = await client.post(f"/api/v1/review/documents/{doc_id}/decisions",
                                        headers=admin, json={"kip_category": "berkala", "dip": DIP})
            decided.raise_for_status()
            public.append(await until_found(client, "/api/v1/search", word))
    for label, values in (("upload → staff-searchable", internal),
                          ("decision → public-searchable", public)):
        print(f"{label:<30} p50 {statistics.median(values):.2f}s  p95 {pct(values, 0.95):.2f}s"
              f"  max {max(values):.2f}s  (n={len(values)})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=20)
    asyncio.run(main(parser.parse_args().documents))
