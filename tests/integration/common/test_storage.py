"""MinioStore against the real S3 server (versitygw natively, or its container)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import psutil  # type: ignore[import-untyped]  # no stubs in dev deps
import pytest
from minio import Minio

from dms_common.storage import (
    MinioStore,
    ObjectNotFound,
    ObjectTooLarge,
    StorageBackendError,
    derived_key,
    original_key,
)
from tests.support.servers import Endpoints

MiB = 1024 * 1024
TEST_OFFICE = "it-storage"  # a prefix of its own, so leftovers are easy to spot and sweep


def make_store(servers: Endpoints, bucket: str | None = None, **options: Any) -> MinioStore:
    return MinioStore(servers.s3_endpoint, servers.s3_access_key, servers.s3_secret_key,
                      bucket or servers.s3_bucket, **options)


@pytest.fixture
async def store(servers: Endpoints) -> AsyncIterator[MinioStore]:
    store = make_store(servers)
    await store.ensure_bucket()
    yield store
    store.close()


@pytest.fixture
def sdk(servers: Endpoints) -> Minio:
    """A bare SDK client, to look at what the adapter left on the server."""
    return Minio(servers.s3_endpoint, access_key=servers.s3_access_key,
                 secret_key=servers.s3_secret_key, secure=False)


@pytest.fixture
async def new_key(store: MinioStore) -> AsyncIterator[str]:
    key = original_key(TEST_OFFICE, uuid4(), 1)
    yield key
    await store.delete(key)


def pending_uploads(sdk: Minio, bucket: str, key: str) -> list[str]:
    # The SDK has no public call to list multipart uploads; this private one is the S3 API's.
    result = sdk._list_multipart_uploads(bucket, prefix=key)
    return [upload.object_name for upload in result.uploads]


class Source:
    """Generates a stream chunk by chunk (never held whole) and hashes what it gave."""

    def __init__(self, total: int, chunk: int = MiB) -> None:
        self.total = total
        self.chunk = chunk
        self.hash = hashlib.sha256()
        self.block = os.urandom(chunk)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        index = 0
        while sent < self.total:
            size = min(self.chunk, self.total - sent)
            # A fresh object per chunk (as from a socket), and no two chunks alike.
            piece = index.to_bytes(8, "big") + self.block[8:size] if size > 8 else self.block[:size]
            self.hash.update(piece)
            sent += len(piece)
            index += 1
            yield piece


async def read_all(store: MinioStore, key: str) -> tuple[bytes, str | None]:
    async with await store.open(key) as reader:
        return b"".join([c async for c in reader.iterate()]), reader.content_type


async def test_put_then_open_round_trip(store: MinioStore, new_key: str) -> None:
    source = Source(3 * MiB + 17)
    stored = await store.put_stream(new_key, source, content_type="application/pdf",
                                    metadata={"uploader": "u-42"})
    assert stored.key == new_key
    assert stored.size == 3 * MiB + 17
    assert stored.sha256 == source.hash.hexdigest()
    assert stored.etag

    info = await store.stat(new_key)
    assert info is not None
    assert (info.size, info.content_type) == (stored.size, "application/pdf")
    assert info.metadata == {"uploader": "u-42"}
    assert info.last_modified.tzinfo is not None
    assert abs(datetime.now(UTC) - info.last_modified) < timedelta(minutes=5)

    body, content_type = await read_all(store, new_key)
    assert content_type == "application/pdf"
    assert hashlib.sha256(body).hexdigest() == stored.sha256


async def test_small_object_is_a_single_put(store: MinioStore, new_key: str) -> None:
    async def one() -> AsyncIterator[bytes]:
        yield b"%PDF-1.7\n"

    stored = await store.put_stream(new_key, one(), content_type="application/pdf")
    assert stored.size == 9
    assert stored.sha256 == hashlib.sha256(b"%PDF-1.7\n").hexdigest()
    assert (await read_all(store, new_key))[0] == b"%PDF-1.7\n"


async def test_unknown_length_goes_multipart(store: MinioStore, new_key: str) -> None:
    source = Source(20 * MiB + 123, chunk=64 * 1024)
    stored = await store.put_stream(new_key, source, content_type="application/octet-stream")
    assert stored.size == 20 * MiB + 123
    assert stored.sha256 == source.hash.hexdigest()
    assert stored.etag.endswith("-3")  # three 8 MiB parts: S3's multipart ETag says so

    hasher = hashlib.sha256()
    async with await store.open(new_key, chunk_size=100_000) as reader:
        assert reader.size == stored.size
        async for chunk in reader.iterate():
            assert len(chunk) <= 100_000
            hasher.update(chunk)
    assert hasher.hexdigest() == stored.sha256


@pytest.mark.parametrize("total,limit", [(20 * MiB, 10 * MiB), (5000, 4096)])
async def test_too_large_leaves_nothing_behind(
    store: MinioStore, sdk: Minio, new_key: str, total: int, limit: int
) -> None:
    with pytest.raises(ObjectTooLarge):
        await store.put_stream(new_key, Source(total, chunk=1024), content_type="text/plain",
                               max_bytes=limit)
    assert await store.stat(new_key) is None
    assert pending_uploads(sdk, store.bucket, new_key) == []


@pytest.mark.parametrize("sent_before_failing", [0, 100, 12 * MiB])
async def test_a_failing_producer_propagates_and_leaves_nothing(
    store: MinioStore, sdk: Minio, new_key: str, sent_before_failing: int
) -> None:
    error = ConnectionResetError("client went away")

    async def dies_midway() -> AsyncIterator[bytes]:
        async for chunk in Source(sent_before_failing):
            yield chunk
        raise error

    with pytest.raises(ConnectionResetError) as caught:
        await store.put_stream(new_key, dies_midway(), content_type="application/pdf")
    assert caught.value is error
    assert await store.stat(new_key) is None
    assert pending_uploads(sdk, store.bucket, new_key) == []


async def test_cancelled_upload_is_aborted(store: MinioStore, sdk: Minio, new_key: str) -> None:
    stalled = asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        async for chunk in Source(10 * MiB):  # past one part: a multipart upload is open
            yield chunk
        stalled.set()
        await asyncio.Event().wait()
        yield b""

    upload = asyncio.ensure_future(store.put_stream(new_key, stalls(), content_type="x/y"))
    await asyncio.wait_for(stalled.wait(), 30)
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload
    assert await store.stat(new_key) is None
    assert pending_uploads(sdk, store.bucket, new_key) == []


async def test_cancelled_small_put_leaves_nothing(servers: Endpoints, new_key: str) -> None:
    store = make_store(servers, max_threads=1)
    release = threading.Event()
    # The store's one thread is busy, so the small put waits in line while it is cancelled;
    # it still runs afterwards, and what it stored must be taken away again.
    busy = store._executor.submit(release.wait, 30)
    try:
        async def small() -> AsyncIterator[bytes]:
            yield b"%PDF-1.7\n"

        upload = asyncio.ensure_future(store.put_stream(new_key, small(), content_type="x/y"))
        await asyncio.sleep(0.1)
        upload.cancel()
        await asyncio.sleep(0.1)
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await upload
        assert busy.result() is True
        assert await store.stat(new_key) is None
    finally:
        release.set()
        store.close()


async def test_missing_object(store: MinioStore) -> None:
    key = original_key(TEST_OFFICE, uuid4(), 1)
    with pytest.raises(ObjectNotFound) as caught:
        await store.open(key)
    assert caught.value.key == key
    assert await store.stat(key) is None
    await store.delete(key)  # deleting what is not there is fine


async def test_delete_and_list(store: MinioStore) -> None:
    document = uuid4()
    keys = [original_key(TEST_OFFICE, document, 1),
            derived_key(TEST_OFFICE, document, 1, "text.txt"),
            derived_key(TEST_OFFICE, document, 1, "previews/p-1.png")]
    for key in keys:
        await store.put_stream(key, Source(10), content_type="application/octet-stream")
    prefix = f"{TEST_OFFICE}/{document}/"
    listed = [info async for info in store.list_objects(prefix)]
    assert sorted(info.key for info in listed) == sorted(keys)
    assert all(info.size == 10 and info.last_modified.tzinfo is not None for info in listed)
    for key in keys:
        await store.delete(key)
    assert [info async for info in store.list_objects(prefix)] == []


async def test_presigned_get_downloads_without_credentials(
    store: MinioStore, new_key: str
) -> None:
    source = Source(1000)
    await store.put_stream(new_key, source, content_type="text/plain")
    url = await store.presigned_get(new_key, timedelta(minutes=5))

    def download() -> bytes:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our signed URL
            body: bytes = response.read()
            return body

    assert hashlib.sha256(await asyncio.to_thread(download)).hexdigest() == source.hash.hexdigest()


async def test_server_refusal_surfaces_without_hanging(servers: Endpoints) -> None:
    store = make_store(servers, bucket=f"dms-missing-{uuid4().hex[:12]}")
    try:
        with pytest.raises(StorageBackendError):
            await store.ping()
        # The upload thread fails on the first part while the producer still has plenty.
        with pytest.raises(StorageBackendError):
            await asyncio.wait_for(
                store.put_stream("k", Source(50 * MiB), content_type="x/y"), 60)
    finally:
        store.close()


async def test_ping(store: MinioStore) -> None:
    await store.ping()


class RssSampler:
    """Peak resident memory of this process, sampled on a thread while a transfer runs."""

    def __init__(self, interval: float = 0.005) -> None:
        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.baseline = self._rss()
        self.peak = self.baseline

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self._interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    def _rss(self) -> int:
        rss: int = self._process.memory_info().rss
        return rss

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


async def test_200_mb_streams_in_and_out_in_flat_memory(store: MinioStore, new_key: str) -> None:
    total = 200 * MiB
    source = Source(total, chunk=256 * 1024)
    hasher = hashlib.sha256()
    with RssSampler() as rss:
        started = time.monotonic()
        stored = await store.put_stream(new_key, source, content_type="application/pdf")
        uploaded, upload_growth = time.monotonic(), rss.growth
        async with await store.open(new_key) as reader:
            async for chunk in reader.iterate():
                hasher.update(chunk)
        downloaded = time.monotonic()

    print(f"\n200 MiB: put {uploaded - started:.1f}s (RSS +{upload_growth / MiB:.1f} MiB), "
          f"get {downloaded - uploaded:.1f}s; RSS peak +{rss.growth / MiB:.1f} MiB overall")
    assert stored.size == total
    assert stored.sha256 == source.hash.hexdigest() == hasher.hexdigest()
    assert rss.growth < 50 * MiB
