"""The object store's pure logic: keys, metadata, the async-to-thread pipe, readers, the fake.

No network: the blocking consumer here imitates what the SDK does with a stream of unknown
length (read a part, "upload" it, abort on error). The real server is in
tests/integration/common/test_storage.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from dms_common.storage import (
    ChunkPipe,
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
    stream_to_thread,
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


class PartUploader:
    """Reads the pipe part by part as the SDK does, and records an abort on any error."""

    def __init__(self, part_size: int = PART, fail_after_parts: int | None = None) -> None:
        self.part_size = part_size
        self.fail_after_parts = fail_after_parts
        self.parts: list[bytes] = []
        self.aborted = False
        self.finished = threading.Event()

    def __call__(self, pipe: ChunkPipe) -> bytes:
        try:
            while part := pipe.read(self.part_size):
                self.parts.append(part)
                if self.fail_after_parts is not None and len(self.parts) >= self.fail_after_parts:
                    raise OSError("the server went away")
            return b"".join(self.parts)
        except Exception:
            self.aborted = True
            raise
        finally:
            self.finished.set()


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


# --- ChunkPipe ------------------------------------------------------------------------------


async def test_pipe_read_fills_the_request_across_chunks_and_splits_big_ones() -> None:
    pipe = ChunkPipe(asyncio.get_running_loop(), buffer_bytes=1 << 20)
    for chunk in (b"abc", b"defgh", b"ijklmnopqrst"):
        assert await pipe.send(chunk)
    pipe.finish()
    reads = await asyncio.to_thread(lambda: [pipe.read(4), pipe.read(4), pipe.read(100),
                                             pipe.read(4)])
    assert reads == [b"abcd", b"efgh", b"ijklmnopqrst", b""]
    assert pipe.size == 20
    assert pipe.sha256 == hashlib.sha256(b"abcdefghijklmnopqrst").hexdigest()
    assert pipe.reached_end


async def test_pipe_refuses_an_unbounded_read() -> None:
    pipe = ChunkPipe(asyncio.get_running_loop())
    with pytest.raises(ValueError, match="needs a size"):
        pipe.read()


async def test_pipe_send_waits_while_the_buffer_is_full() -> None:
    pipe = ChunkPipe(asyncio.get_running_loop(), buffer_bytes=10)
    assert await pipe.send(b"0123456789")
    blocked = asyncio.ensure_future(pipe.send(b"more"))
    await asyncio.sleep(0.05)
    assert not blocked.done()
    assert await asyncio.to_thread(pipe.read, 5) == b"01234"
    assert await asyncio.wait_for(blocked, 2)


async def test_pipe_fail_makes_a_waiting_reader_raise() -> None:
    pipe = ChunkPipe(asyncio.get_running_loop())
    reading = asyncio.ensure_future(asyncio.to_thread(pipe.read, 10))
    await asyncio.sleep(0.05)
    pipe.fail(ConnectionResetError("gone"))
    with pytest.raises(Exception, match="producer stopped"):
        await asyncio.wait_for(reading, 2)


async def test_pipe_close_reader_releases_a_waiting_writer() -> None:
    pipe = ChunkPipe(asyncio.get_running_loop(), buffer_bytes=4)
    assert await pipe.send(b"full")
    blocked = asyncio.ensure_future(pipe.send(b"more"))
    await asyncio.sleep(0.05)
    await asyncio.to_thread(pipe.close_reader)
    assert await asyncio.wait_for(blocked, 2) is False


# --- stream_to_thread -----------------------------------------------------------------------


async def test_stream_to_thread_hands_every_byte_over_and_hashes_them() -> None:
    data = bytes(range(256)) * 40  # 10 240 bytes: ten parts and a bit
    uploader = PartUploader()
    streamed = await stream_to_thread(chunks_of(data, 333), uploader, buffer_bytes=700)
    assert streamed.result == data
    assert [len(p) for p in uploader.parts] == [PART] * 10 + [240]
    assert streamed.size == len(data)
    assert streamed.sha256 == hashlib.sha256(data).hexdigest()


async def test_stream_to_thread_handles_an_empty_stream() -> None:
    streamed = await stream_to_thread(chunks_of(b"", 10), PartUploader())
    assert (streamed.result, streamed.size) == (b"", 0)
    assert streamed.sha256 == hashlib.sha256(b"").hexdigest()


async def test_stream_to_thread_stops_at_max_bytes_and_aborts() -> None:
    uploader = PartUploader()
    with pytest.raises(ObjectTooLarge) as caught:
        await stream_to_thread(chunks_of(b"x" * 5000, 100), uploader, max_bytes=2500)
    assert caught.value.limit == 2500
    assert uploader.aborted and uploader.finished.is_set()
    assert sum(map(len, uploader.parts)) <= 2500


async def test_stream_to_thread_accepts_exactly_max_bytes() -> None:
    streamed = await stream_to_thread(chunks_of(b"x" * 2500, 100), PartUploader(),
                                      max_bytes=2500)
    assert streamed.size == 2500


async def test_a_failing_producer_aborts_the_consumer_and_propagates_as_is() -> None:
    uploader = PartUploader()
    error = ConnectionResetError("client disconnected")
    with pytest.raises(ConnectionResetError) as caught:
        await stream_to_thread(then_fail([b"y" * 1500], error), uploader)
    assert caught.value is error
    assert uploader.aborted and uploader.finished.is_set()


async def test_a_failing_consumer_wakes_a_blocked_producer() -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"z" * 100

    uploader = PartUploader(fail_after_parts=2)
    with pytest.raises(OSError, match="server went away"):
        await asyncio.wait_for(stream_to_thread(endless(), uploader, buffer_bytes=300), 5)


async def test_cancelling_the_upload_aborts_the_consumer() -> None:
    stalled = asyncio.Event()

    async def stalls_after_some_bytes() -> AsyncIterator[bytes]:
        yield b"a" * 2500
        stalled.set()
        await asyncio.Event().wait()  # a client that stops sending
        yield b"never"

    uploader = PartUploader()
    task = asyncio.ensure_future(stream_to_thread(stalls_after_some_bytes(), uploader))
    await stalled.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert uploader.aborted and uploader.finished.is_set()


async def test_a_consumer_that_stops_reading_early_is_an_error() -> None:
    def reads_one_part(pipe: ChunkPipe) -> bytes:
        return pipe.read(10)

    with pytest.raises(RuntimeError, match="before reading the whole stream"):
        await stream_to_thread(chunks_of(b"q" * 100, 10), reads_one_part)


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
