"""The object store's pure logic: keys, metadata, the multipart driver, readers, the fake.

No network: the part sink here stands in for the SDK's multipart calls (create, upload a part,
complete, abort). The real server is in tests/integration/common/test_storage.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from dms_common.storage import (
    MinioStore,
    ObjectInfo,
    ObjectNotFound,
    ObjectReader,
    ObjectStore,
    ObjectTooLarge,
    StorageBackendError,
    derived_key,
    metadata_headers,
    original_key,
    upload_in_parts,
)
from dms_common.testing.fake_store import FakeStore

DOC = UUID("0b6f3f4e-7a55-4c55-9d0c-2a4b8f1e9a10")
PART = 1000


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def then_fail(head: Iterable[bytes], error: BaseException) -> AsyncIterator[bytes]:
    for chunk in head:
        yield chunk
    raise error


class FakeParts:
    """A multipart upload in memory: records the parts, the end, and how many were in flight."""

    def __init__(self, *, fail_part: int | None = None, delay: float = 0.0) -> None:
        self.fail_part = fail_part
        self.delay = delay
        self.parts: dict[int, bytes] = {}
        self.completed: list[tuple[int, str]] | None = None
        self.aborted = False
        self.active = self.most_active = 0
        self.active_at_abort: int | None = None
        self._lock = threading.Lock()

    def create(self) -> str:
        return "upload-1"

    def upload_part(self, upload_id: str, number: int, data: bytes) -> str:
        assert upload_id == "upload-1"
        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            time.sleep(self.delay)
            if number == self.fail_part:
                raise OSError("the server went away")
            self.parts[number] = data
            return f"etag-{number}"
        finally:
            with self._lock:
                self.active -= 1

    def complete(self, upload_id: str, etags: list[tuple[int, str]]) -> str:
        self.completed = etags
        return "etag-all"

    def abort(self, upload_id: str) -> None:
        self.active_at_abort = self.active
        self.aborted = True


# --- keys -----------------------------------------------------------------------------------


def test_original_key_follows_the_design_layout() -> None:
    assert original_key("6301", DOC, 2) == f"6301/{DOC}/2/original"


def test_derived_key_sits_beside_the_original() -> None:
    assert derived_key("63", DOC, 1, "text.txt") == f"63/{DOC}/1/derived/text.txt"
    assert derived_key("63", DOC, 1, "previews/p-1.png") == f"63/{DOC}/1/derived/previews/p-1.png"


def test_keys_canonicalise_a_document_id_given_as_text() -> None:
    shouty = str(DOC).upper()
    assert original_key("63", shouty, 1) == f"63/{DOC}/1/original"  # type: ignore[arg-type]


@pytest.mark.parametrize("office", ["", "63/01", "../63", "63 01"])
def test_keys_refuse_odd_office_codes(office: str) -> None:
    with pytest.raises(ValueError, match="office code"):
        original_key(office, DOC, 1)


@pytest.mark.parametrize("version", [0, -1, True])
def test_keys_refuse_versions_below_one(version: int) -> None:
    with pytest.raises(ValueError, match="versions"):
        original_key("63", DOC, version)


def test_keys_refuse_a_malformed_document_id() -> None:
    with pytest.raises(ValueError):
        original_key("63", "not-a-uuid", 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "../original", "a//b", "/abs", "a/./b", "dir/", "sp ace"])
def test_derived_names_cannot_escape_or_alias(name: str) -> None:
    with pytest.raises(ValueError, match="derived object name"):
        derived_key("63", DOC, 1, name)


# --- metadata -------------------------------------------------------------------------------


def test_metadata_becomes_prefixed_headers() -> None:
    assert metadata_headers({"uploader": "u-1", "content-type": "x"}) == {
        "x-amz-meta-uploader": "u-1",
        "x-amz-meta-content-type": "x",  # stays metadata, never a real header
    }
    assert metadata_headers(None) == {}


@pytest.mark.parametrize("metadata", [{"Upper": "v"}, {"sp ace": "v"}, {"k": "Surat é"},
                                      {"k": "line\nbreak"}])
def test_metadata_refuses_what_s3_would_mangle(metadata: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        metadata_headers(metadata)


# --- upload_in_parts ------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [333, PART, 2500, 20_000])  # smaller, equal, larger, all
async def test_parts_are_cut_exactly_hashed_and_completed_in_order(chunk: int) -> None:
    data = bytes(range(256)) * 40  # 10 240 bytes: ten parts and a bit
    sink = FakeParts()
    uploaded = await upload_in_parts(chunks_of(data, chunk), sink, part_size=PART)
    assert [len(sink.parts[n]) for n in sorted(sink.parts)] == [PART] * 10 + [240]
    assert b"".join(sink.parts[n] for n in sorted(sink.parts)) == data
    assert sink.completed == [(n, f"etag-{n}") for n in range(1, 12)]
    assert (uploaded.etag, uploaded.size) == ("etag-all", len(data))
    assert uploaded.sha256 == hashlib.sha256(data).hexdigest()
    assert not sink.aborted


async def test_parts_go_up_in_parallel_but_no_more_than_asked() -> None:
    data = bytes(range(250)) * 32  # 8000 bytes, no two parts alike
    sink = FakeParts(delay=0.02)
    await upload_in_parts(chunks_of(data, 500), sink, part_size=PART, parts_in_flight=2)
    assert sink.most_active == 2
    assert b"".join(sink.parts[n] for n in sorted(sink.parts)) == data


async def test_an_empty_stream_is_one_empty_part() -> None:
    sink = FakeParts()
    uploaded = await upload_in_parts(chunks_of(b"", 10), sink, part_size=PART)
    assert sink.parts == {1: b""} and sink.completed == [(1, "etag-1")]
    assert uploaded.sha256 == hashlib.sha256(b"").hexdigest()


async def test_parts_stop_at_max_bytes_and_the_upload_is_aborted() -> None:
    sink = FakeParts()
    with pytest.raises(ObjectTooLarge) as caught:
        await upload_in_parts(chunks_of(b"x" * 5000, 100), sink, part_size=PART, max_bytes=2500)
    assert caught.value.limit == 2500
    assert sink.aborted and sink.completed is None
    assert sum(map(len, sink.parts.values())) <= 2500


async def test_exactly_max_bytes_is_accepted() -> None:
    uploaded = await upload_in_parts(chunks_of(b"x" * 2500, 100), FakeParts(), part_size=PART,
                                     max_bytes=2500)
    assert uploaded.size == 2500


async def test_a_failing_producer_aborts_and_propagates_as_is() -> None:
    sink = FakeParts()
    error = ConnectionResetError("client disconnected")
    with pytest.raises(ConnectionResetError) as caught:
        await upload_in_parts(then_fail([b"y" * 1500], error), sink, part_size=PART)
    assert caught.value is error
    assert sink.aborted and sink.completed is None


async def test_a_failing_part_aborts_after_the_others_end() -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"z" * 100

    sink = FakeParts(fail_part=3, delay=0.01)
    with pytest.raises(OSError, match="server went away"):
        await asyncio.wait_for(upload_in_parts(endless(), sink, part_size=PART), 5)
    assert sink.aborted and sink.active_at_abort == 0 and sink.completed is None


async def test_cancelling_aborts_once_the_parts_in_flight_end() -> None:
    stalled = asyncio.Event()

    async def stalls_after_some_parts() -> AsyncIterator[bytes]:
        yield b"a" * 2500
        stalled.set()
        await asyncio.Event().wait()  # a client that stops sending
        yield b"never"

    sink = FakeParts(delay=0.05)
    task = asyncio.ensure_future(upload_in_parts(stalls_after_some_parts(), sink, part_size=PART))
    await stalled.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sink.aborted and sink.active_at_abort == 0 and sink.completed is None


# --- ObjectReader ---------------------------------------------------------------------------


class RecordingBody:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0
        self.closes = 0

    async def read(self, size: int) -> bytes:
        chunk = self.data[self.offset:self.offset + size]
        self.offset += len(chunk)
        return chunk

    async def close(self) -> None:
        self.closes += 1


def info(size: int) -> ObjectInfo:
    return ObjectInfo(key="k", size=size, etag="e", last_modified=datetime.now(UTC),
                      content_type="application/pdf")


async def test_reader_iterates_in_chunks_and_closes_at_the_end() -> None:
    body = RecordingBody(b"0123456789")
    reader = ObjectReader(info(10), body, chunk_size=4)
    assert (reader.size, reader.content_type) == (10, "application/pdf")
    assert [c async for c in reader.iterate()] == [b"0123", b"4567", b"89"]
    assert body.closes == 1
    await reader.aclose()
    assert body.closes == 1


async def test_reader_is_read_once() -> None:
    reader = ObjectReader(info(3), RecordingBody(b"abc"))
    assert [c async for c in reader.iterate()] == [b"abc"]
    with pytest.raises(RuntimeError, match="read once"):
        async for _ in reader.iterate():
            pass


async def test_reader_closes_when_left_early() -> None:
    body = RecordingBody(b"0123456789")
    async with ObjectReader(info(10), body, chunk_size=2) as reader:
        async for _ in reader.iterate():
            break
    assert body.closes == 1


# --- FakeStore ------------------------------------------------------------------------------


def test_both_stores_satisfy_the_port() -> None:
    minio = MinioStore("127.0.0.1:1", "a", "b", "bucket")  # builds without connecting
    stores: list[ObjectStore] = [FakeStore(), minio]  # mypy checks the structural match
    assert len(stores) == 2
    minio.close()


async def test_fake_round_trip_and_stat() -> None:
    store = FakeStore()
    key = original_key("63", uuid4(), 1)
    stored = await store.put_stream(key, chunks_of(b"%PDF-1.7 hello", 4),
                                    content_type="application/pdf", metadata={"by": "u1"})
    assert stored.sha256 == hashlib.sha256(b"%PDF-1.7 hello").hexdigest()
    assert stored.size == 14
    found = await store.stat(key)
    assert found is not None
    assert (found.content_type, found.metadata) == ("application/pdf", {"by": "u1"})
    reader = await store.open(key, chunk_size=5)
    assert b"".join([c async for c in reader.iterate()]) == b"%PDF-1.7 hello"


async def test_fake_keeps_the_contract_on_failures() -> None:
    store = FakeStore()
    with pytest.raises(ObjectTooLarge):
        await store.put_stream("a", chunks_of(b"x" * 11, 3), content_type="t", max_bytes=10)
    with pytest.raises(ConnectionResetError):
        await store.put_stream("b", then_fail([b"x"], ConnectionResetError()), content_type="t")
    assert store.keys == []
    with pytest.raises(ObjectNotFound):
        await store.open("a")
    assert await store.stat("a") is None
    await store.delete("a")


async def test_fake_lists_by_prefix_with_the_clock_it_was_given() -> None:
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    store = FakeStore(now=lambda: moment)
    store.seed("63/x/1/original", b"1")
    store.seed("63/x/1/derived/text.txt", b"2", last_modified=moment - timedelta(hours=1))
    store.seed("6301/y/1/original", b"3")
    listed = [(o.key, o.last_modified) async for o in store.list_objects("63/")]
    assert listed == [("63/x/1/derived/text.txt", moment - timedelta(hours=1)),
                      ("63/x/1/original", moment)]


async def test_fake_can_be_unavailable() -> None:
    store = FakeStore()
    await store.ping()
    store.available = False
    with pytest.raises(StorageBackendError):
        await store.ping()
    with pytest.raises(StorageBackendError):
        await store.stat("k")
    store.available, store.bucket_exists = True, False
    with pytest.raises(StorageBackendError, match="does not exist"):
        await store.ping()
    await store.ensure_bucket()
    await store.ping()
