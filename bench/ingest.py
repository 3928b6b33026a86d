"""Upload throughput of the ingest API against raw S3 puts, and its memory during a 1 GB upload.

    uv run python bench/ingest.py [--small 240] [--large 24] [--rounds 4] [--gigabytes 1]

Starts its own ingest API (uvicorn, one worker) on the native servers with an isolated schema
and topic prefix and a 2 GB upload limit, so the running stack is not disturbed. It first
streams one 1 GB upload (generated on the fly) while sampling the API process's resident
memory. Then, for 1, 4 and 16 concurrent clients, it uploads ~200 KB and 20 MB files through the
API and puts the same files with the `minio` SDK straight into the same bucket, under keys of
the same shape, at the same concurrency, alternating the two in rounds so that a noisy moment
on the shared machine falls on both sides, and prints docs/s and MB/s for both and their ratio.
Targets: small >= 0.5x raw docs/s, large >= 0.7x raw MB/s, < 50 MB RSS growth.

Both sides write into the isolated bucket: the object store's cost per put depends on the bucket
(with versitygw's posix backend a young bucket took 3.5 ms per 200 KB put where the long-lived
development bucket took 2.0 ms), so a baseline in another bucket measures something else.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import httpx
from minio import Minio

from dms_common.storage import original_key
from tests.support.isolation import isolated
from tests.support.servers import Endpoints, server_endpoints

PORT = 8091
MB = 1_000_000
MiB = 1024 * 1024
CONCURRENCY = (1, 4, 16)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def payload(size: int) -> bytes:
    return b"%PDF-1.4\n" + os.urandom(size - 9)


def upload_form(data: bytes) -> tuple[bytes, str]:
    """The multipart body of one upload and its content type, built once per file.

    The raw side hands the SDK the same bytes object every time; encoding the form anew per
    request would bill the benchmark's client (on the same two cores) to the API.
    """
    boundary = uuid.uuid4().hex
    head = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                   f"{value}\r\n" for name, value in (("title", "Bench"), ("keep_both", "true")))
    head += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
             f"filename=\"bench.pdf\"\r\nContent-Type: application/pdf\r\n\r\n")
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


async def through_api(client: aiohttp.ClientSession, headers: dict[str, str], data: bytes,
                      count: int, concurrency: int) -> float:
    queue = list(range(count))
    body, content_type = upload_form(data)
    form_headers = {**headers, "Content-Type": content_type}

    async def worker() -> None:
        while queue:
            queue.pop()
            async with client.post("/api/v1/documents", headers=form_headers,
                                   data=body) as response:
                response.raise_for_status()
                await response.read()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def raw_puts(minio: Minio, bucket: str, data: bytes, count: int, concurrency: int) -> float:
    # Keys shaped like the API's (DESIGN.md §5): with versitygw's posix backend each level is a
    # directory, and the extra one costs ~0.5 ms per put, which is the layout's, not the API's.
    names = [original_key("6302", uuid.uuid4(), 1) for _ in range(count)]

    def put(name: str) -> None:
        minio.put_object(bucket, name, io.BytesIO(data), length=len(data),
                         content_type="application/octet-stream", part_size=8 * MiB)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(put, names))
    return time.perf_counter() - started


async def big_upload(client: httpx.AsyncClient, headers: dict[str, str], size: int,
                     pid: int) -> tuple[int, int, float]:
    boundary = uuid.uuid4().hex
    block = os.urandom(MiB)

    async def body() -> AsyncIterator[bytes]:
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nBesar"
               f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"besar.pdf\"\r\n\r\n%PDF-1.4\n").encode()
        sent = 9
        while sent < size:
            piece = block[: min(MiB, size - sent)]
            sent += len(piece)
            yield piece
        yield f"\r\n--{boundary}--\r\n".encode()

    baseline = peak = rss_bytes(pid)
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_bytes(pid))
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    response = await client.post(
        "/api/v1/documents", content=body(),
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    elapsed = time.perf_counter() - started
    done.set()
    await sampler
    response.raise_for_status()
    return baseline, peak, elapsed


async def run(servers: Endpoints, small: int, large: int, rounds: int,
              gigabytes: float) -> None:
    async with isolated(servers) as iso:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DMS_")}
        for key, value in iso.settings_kwargs().items():
            env[f"DMS_{key.upper()}"] = str(value)
        env.update({"DMS_JWT_PRIVATE_KEY": iso.private_key, "DMS_ADMIN_USERNAME": "benchroot",
                    "DMS_ADMIN_PASSWORD": "Bench-root-12345", "DMS_LOG_LEVEL": "WARNING",
                    "DMS_MAX_UPLOAD_BYTES": str(2 * 1024 * MiB)})
        api = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
            [sys.executable, "-m", "uvicorn", "dms_ingest.main:create_app", "--factory",
             "--port", str(PORT), "--log-level", "warning", "--no-access-log"], env=env)
        minio = Minio(servers.s3_endpoint, access_key=servers.s3_access_key,
                      secret_key=servers.s3_secret_key, secure=False)
        try:
            # Uploads go through aiohttp: httpx cost ~1.7 ms of CPU per request here, on the
            # same two cores as the API; aiohttp ~0.2 ms. Set-up and the 1 GB upload use httpx.
            # Both drop idle connections before uvicorn does (5 s): a raw phase can last that
            # long, and reusing a connection the server is closing fails the next request.
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", timeout=600,
                                         limits=httpx.Limits(keepalive_expiry=2)) as client, \
                    aiohttp.ClientSession(f"http://127.0.0.1:{PORT}",
                                          connector=aiohttp.TCPConnector(
                                              limit=32, keepalive_timeout=2)) as uploads:
                for _ in range(200):
                    try:
                        if (await client.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
                headers = await _staff(client)
                await through_api(uploads, headers, payload(200_000), 4, 2)  # warm-up
                # Memory first, while the heap holds nothing of the concurrent phases: after
                # them the allocator reuses their freed parts and growth would read as zero.
                size = int(gigabytes * 1024 * MiB)
                base, peak, elapsed = await big_upload(client, headers, size, api.pid)
                print(f"1 upload of {size / MiB:.0f} MiB in {elapsed:.1f}s "
                      f"({size / MB / elapsed:.0f} MB/s): ingest RSS {base / MiB:.0f} -> "
                      f"{peak / MiB:.0f} MiB, growth {(peak - base) / MiB:.1f} MiB "
                      f"(target < 50)")
                print(f"{'files':<8}{'clients':>8}{'api':>14}{'raw S3':>14}{'ratio':>8}")
                for label, size, per_client, unit in (("200 KB", 200_000, small, "docs/s"),
                                                      ("20 MB", 20 * MB, large, "MB/s")):
                    data = payload(size)
                    for concurrency in CONCURRENCY:
                        count = max(concurrency, per_client // rounds)
                        api_s = raw_s = 0.0
                        for _ in range(rounds):
                            api_s += await through_api(uploads, headers, data, count,
                                                       concurrency)
                            raw_s += await asyncio.to_thread(raw_puts, minio, iso.bucket, data,
                                                             count, concurrency)
                        count *= rounds
                        scale = 1 if unit == "docs/s" else size / MB
                        api_rate, raw_rate = count * scale / api_s, count * scale / raw_s
                        print(f"{label:<8}{concurrency:>8}{api_rate:>10.1f} {unit:<4}"
                              f"{raw_rate:>9.1f} {unit:<4}{api_rate / raw_rate:>7.2f}x")
        finally:
            # The isolated bucket goes with everything in it when `isolated` ends.
            api.terminate()
            api.wait(30)


async def _staff(client: httpx.AsyncClient) -> dict[str, str]:
    token = (await client.post("/api/v1/auth/token", data={
        "username": "benchroot", "password": "Bench-root-12345"})).json()["access_token"]
    root = {"Authorization": f"Bearer {token}"}
    name, password = f"bench{uuid.uuid4().hex[:6]}", f"Bench-{uuid.uuid4().hex}"
    created = await client.post("/api/v1/users", headers=root, json={
        "username": name, "password": password, "role": "staff", "office_code": "6302"})
    created.raise_for_status()
    login = await client.post("/api/v1/auth/token", data={"username": name,
                                                         "password": password})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=240, help="200 KB uploads per level")
    parser.add_argument("--large", type=int, default=24, help="20 MB uploads per level")
    parser.add_argument("--rounds", type=int, default=4,
                        help="alternations of API and raw per level")
    parser.add_argument("--gigabytes", type=float, default=1.0)
    args = parser.parse_args()
    servers = next(server_endpoints())
    asyncio.run(run(servers, args.small, args.large, args.rounds, args.gigabytes))


if __name__ == "__main__":
    main()
