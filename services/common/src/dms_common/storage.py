"""The object store: the port every service uses for files, and its adapter over the `minio` SDK.

Keys follow DESIGN.md §5 — `{office}/{document_id}/{version}/original`, derived files (text,
previews, redacted copies) beside it under `derived/`; build them with :func:`original_key` and
:func:`derived_key`, never by hand.

Writing streams: :meth:`ObjectStore.put_stream` takes an async iterable of chunks of unknown total
length and never holds the whole file (a stream that ends within its first MiB is put from memory
in one request); it enforces ``max_bytes`` while the bytes flow and records size and sha256 on the
way. A failed or cancelled upload leaves no object behind.

Reading is two steps, so that a missing object is known before any byte (or header) is sent::

    reader = await store.open(key)          # ObjectNotFound here: still time to answer 404
    return StreamingResponse(
        reader.iterate(),                   # closes the reader once exhausted
        media_type=reader.info.content_type,
        headers={"Content-Length": str(reader.info.size)},
        background=BackgroundTask(reader.aclose),  # covers a client that leaves early
    )

or, when the bytes are consumed in place, ``async with await store.open(key) as reader: ...``.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import itertools
import logging
import re
import threading
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, BinaryIO, Generic, Protocol, TypeVar, cast
from uuid import UUID

import urllib3
import urllib3.exceptions
from minio import Minio
from minio.datatypes import Object
from minio.error import MinioException, S3Error
from minio.helpers import ObjectWriteResult
from urllib3.response import BaseHTTPResponse

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_PART_SIZE",
    "ChunkPipe",
    "MinioStore",
    "ObjectBody",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectReader",
    "ObjectStore",
    "ObjectTooLarge",
    "StorageBackendError",
    "StorageError",
    "StoredObject",
    "Streamed",
    "derived_key",
    "metadata_headers",
    "original_key",
    "stream_to_thread",
]

log = logging.getLogger(__name__)

MiB = 1024 * 1024
DEFAULT_CHUNK_SIZE = 256 * 1024
DEFAULT_PART_SIZE = 8 * MiB
MIN_PART_SIZE = 5 * MiB  # S3 refuses smaller multipart parts (all but the last)
DEFAULT_PIPE_BYTES = MiB
# A stream that ends within this many bytes is put from memory in one request, without the pipe
# and its thread hand-offs; a longer one streams. The same bound as the pipe's, so no upload
# holds more than before.
SMALL_OBJECT_BYTES = MiB
_LIST_BATCH = 1000  # one S3 listing page: one thread hop per page, not per key

T = TypeVar("T")


# --- errors ---------------------------------------------------------------------------------


class StorageError(Exception):
    """Base of everything the object store raises, so callers need not know the SDK."""


class ObjectNotFound(StorageError):
    """No object under this key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no object at {key!r}")
        self.key = key


class ObjectTooLarge(StorageError):
    """The stream passed ``max_bytes``; nothing was stored."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"object larger than {limit} bytes")
        self.limit = limit


class StorageBackendError(StorageError):
    """The S3 server failed, refused or could not be reached (a 503 for the caller, not a 4xx)."""


class _StreamAborted(Exception):
    """Raised into the reader thread when the writer gave up; the SDK then aborts the upload.

    An ``Exception`` (not ``BaseException``) on purpose: the SDK only cleans up on ``Exception``.
    """


# --- keys -----------------------------------------------------------------------------------

_OFFICE_CODE = re.compile(r"[A-Za-z0-9_-]+")
_NAME_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


def original_key(office_code: str, document_id: UUID, version: int) -> str:
    """Key of a document version's uploaded file."""
    return f"{_version_prefix(office_code, document_id, version)}/original"


def derived_key(office_code: str, document_id: UUID, version: int, name: str) -> str:
    """Key of a file derived from a version (``name`` may have folders: ``previews/p1.png``)."""
    segments = name.split("/")
    # Names come from code, but a stray ".." or "//" would silently escape or alias a key.
    if not all(_NAME_SEGMENT.fullmatch(s) and s not in {".", ".."} for s in segments):
        raise ValueError(f"invalid derived object name: {name!r}")
    return f"{_version_prefix(office_code, document_id, version)}/derived/{name}"


def _version_prefix(office_code: str, document_id: UUID, version: int) -> str:
    if not _OFFICE_CODE.fullmatch(office_code):
        raise ValueError(f"invalid office code: {office_code!r}")
    if isinstance(version, bool) or version < 1:
        raise ValueError(f"document versions count from 1, got {version!r}")
    # Round-trip through UUID so a str passed by mistake is validated and canonical (lowercase).
    return f"{office_code}/{UUID(str(document_id))}/{version}"


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredObject:
    """What a finished upload wrote: its size and sha256 as computed while streaming."""

    key: str
    size: int
    sha256: str
    etag: str


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """An object's description; ``content_type`` and ``metadata`` are unknown in listings."""

    key: str
    size: int
    etag: str
    last_modified: datetime
    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


_METADATA_KEY = re.compile(r"[a-z0-9][a-z0-9-]*")
_METADATA_VALUE = re.compile(r"[\x20-\x7e]*")


def metadata_headers(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Turn user metadata into ``x-amz-meta-*`` headers, refusing what S3 would mangle.

    Headers are ASCII: a filename in metadata must be encoded by the caller (or, better, kept in
    the database). Keys are lowercase because S3 lowercases them anyway.
    """
    headers: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if not _METADATA_KEY.fullmatch(key):
            raise ValueError(f"metadata keys are lowercase letters, digits and '-': {key!r}")
        if not _METADATA_VALUE.fullmatch(value):
            raise ValueError(f"metadata value for {key!r} must be printable ASCII")
        # Prefixing ourselves keeps a key like "content-type" from being sent as a real header.
        headers[f"x-amz-meta-{key}"] = value
    return headers


def _user_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    prefix = "x-amz-meta-"
    return {k.lower()[len(prefix):]: v for k, v in headers.items()
            if k.lower().startswith(prefix)}


# --- reading --------------------------------------------------------------------------------


class ObjectBody(Protocol):
    """The byte source behind an :class:`ObjectReader` (one per adapter)."""

    async def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end."""
        ...

    async def close(self) -> None:
        """Release the connection; called once."""
        ...


class ObjectReader:
    """An opened object: its :class:`ObjectInfo` now, its bytes on demand.

    Iterate once with :meth:`iterate` (which closes the reader at the end); call :meth:`aclose`
    (idempotent) or use ``async with`` when the bytes may not all be read.
    """

    def __init__(
        self, info: ObjectInfo, body: ObjectBody, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        self.info = info
        self._body = body
        self._chunk_size = chunk_size
        self._iterated = False
        self._closed = False

    @property
    def size(self) -> int:
        return self.info.size

    @property
    def content_type(self) -> str | None:
        return self.info.content_type

    async def iterate(self) -> AsyncIterator[bytes]:
        """Yield the object's bytes in chunks of at most ``chunk_size``."""
        if self._iterated or self._closed:
            raise RuntimeError("an ObjectReader is read once; open the object again")
        self._iterated = True
        try:
            while chunk := await self._body.read(self._chunk_size):
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._body.close()

    async def __aenter__(self) -> ObjectReader:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


# --- the port -------------------------------------------------------------------------------


class ObjectStore(Protocol):
    """Where document files live. Every method may raise :class:`StorageBackendError`."""

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str,
        max_bytes: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject:
        """Store the chunks under ``key``, replacing any object there.

        Raises :class:`ObjectTooLarge` as soon as more than ``max_bytes`` arrived; any error of
        ``chunks`` (a client that went away) propagates as is. In both cases, and on
        cancellation, no object and no pending multipart upload is left behind.
        """
        ...

    async def open(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ObjectReader:
        """Open ``key`` for streaming; raises :class:`ObjectNotFound` before any byte is read."""
        ...

    async def stat(self, key: str) -> ObjectInfo | None:
        """Describe ``key``, or None when there is no such object."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing object is not an error."""
        ...

    def list_objects(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        """Every object whose key starts with ``prefix`` (recursively), in key order."""
        ...

    async def presigned_get(self, key: str, expires: timedelta) -> str:
        """A URL that GETs ``key`` without credentials until ``expires`` has passed."""
        ...

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (at start; idempotent)."""
        ...

    async def ping(self) -> None:
        """Raise :class:`StorageBackendError` unless the server answers and the bucket exists."""
        ...


# --- streaming an async producer into a blocking consumer -----------------------------------


class ChunkPipe:
    """A bounded byte pipe from an async writer (on the event loop) to a blocking, file-like
    reader (on a worker thread).

    The bound keeps memory flat whatever the two speeds are: :meth:`send` waits — without
    blocking the loop — while ``buffer_bytes`` are queued. Either side can stop the other:
    :meth:`fail` makes the reader's next :meth:`read` raise; :meth:`close_reader` wakes a waiting
    writer and makes :meth:`send` return False. The reader counts and hashes what it hands over,
    so the sha256 costs the worker thread, not the loop.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, *, buffer_bytes: int = DEFAULT_PIPE_BYTES
    ) -> None:
        if buffer_bytes < 1:
            raise ValueError("buffer_bytes must be positive")
        self._loop = loop
        self._limit = buffer_bytes
        self._cond = threading.Condition()
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._finished = False
        self._error: BaseException | None = None
        self._reader_closed = False
        self._space = asyncio.Event()
        self._hash = hashlib.sha256()
        self.size = 0
        self.reached_end = False

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    # writer side: the event loop

    async def send(self, chunk: bytes) -> bool:
        """Queue ``chunk``, waiting while the buffer is full; False once the reader has stopped."""
        while True:
            with self._cond:
                if self._reader_closed:
                    return False
                if self._error is not None or self._finished:
                    raise RuntimeError("send() after fail() or finish()")
                if self._buffered < self._limit:
                    if chunk:
                        self._chunks.append(chunk)
                        self._buffered += len(chunk)
                        self._cond.notify()
                    return True
                # Cleared under the lock: a read that frees room after this point sets it again.
                self._space.clear()
            await self._space.wait()

    def finish(self) -> None:
        """End the stream: the reader sees its end once the buffer is drained."""
        with self._cond:
            self._finished = True
            self._cond.notify_all()

    def fail(self, error: BaseException) -> None:
        """Abort the stream: the reader's next read raises, whatever is still buffered."""
        with self._cond:
            self._error = error
            self._chunks.clear()
            self._buffered = 0
            self._cond.notify_all()

    # reader side: a worker thread

    def read(self, size: int = -1) -> bytes:
        """Block until ``size`` bytes or the end of the stream are there, and return them.

        Filling the request (rather than returning what is at hand) lets the SDK assemble a part
        from one join instead of re-concatenating it chunk by chunk. Reading to the end is
        refused: it would buffer the whole stream.
        """
        if size < 0:
            raise ValueError("ChunkPipe.read needs a size; reading to the end buffers everything")
        pieces: list[bytes] = []
        wanted = size
        while wanted > 0 and (piece := self._take(wanted)):
            self._hash.update(piece)
            pieces.append(piece)
            wanted -= len(piece)
        data = b"".join(pieces)
        self.size += len(data)
        return data

    def close_reader(self) -> None:
        """Called when the reader stops, finished or failed, so a waiting writer wakes up."""
        with self._cond:
            self._reader_closed = True
            self._chunks.clear()
            self._buffered = 0
        self._wake_writer()

    def _take(self, limit: int) -> bytes:
        with self._cond:
            while not self._chunks and not self._finished and self._error is None:
                self._cond.wait()
            if self._error is not None:
                raise _StreamAborted(f"the producer stopped: {self._error!r}")
            if not self._chunks:
                self.reached_end = True
                return b""
            chunk = self._chunks.popleft()
            if len(chunk) > limit:
                self._chunks.appendleft(chunk[limit:])
                chunk = chunk[:limit]
            self._buffered -= len(chunk)
        self._wake_writer()
        return chunk

    def _wake_writer(self) -> None:
        self._loop.call_soon_threadsafe(self._space.set)


@dataclass(frozen=True, slots=True)
class Streamed(Generic[T]):
    """What :func:`stream_to_thread` returns: the consumer's result and what it was fed."""

    result: T
    size: int
    sha256: str


async def stream_to_thread(
    chunks: AsyncIterable[bytes],
    consume: Callable[[ChunkPipe], T],
    *,
    executor: Executor | None = None,
    max_bytes: int | None = None,
    buffer_bytes: int = DEFAULT_PIPE_BYTES,
) -> Streamed[T]:
    """Run the blocking ``consume(pipe)`` on a worker thread while ``chunks`` flow into the pipe.

    If ``chunks`` raises, passes ``max_bytes`` (:class:`ObjectTooLarge`) or the caller is
    cancelled, the pipe fails so that ``consume``'s next read raises and it can clean up; we wait
    for it and re-raise the original error. If ``consume`` fails first, its error propagates.
    """
    loop = asyncio.get_running_loop()
    pipe = ChunkPipe(loop, buffer_bytes=buffer_bytes)
    worker = loop.run_in_executor(executor, _run_consumer, consume, pipe)
    try:
        await _feed(pipe, chunks, max_bytes)
    except BaseException as exc:
        pipe.fail(exc)
        # Its outcome is secondary now; fetched in a callback so that a second cancellation
        # of this wait does not leave an "exception never retrieved" behind.
        worker.add_done_callback(_log_secondary_failure)
        await asyncio.wait([worker])
        raise
    result = await worker
    if not pipe.reached_end:
        raise RuntimeError("the consumer returned before reading the whole stream")
    return Streamed(result=result, size=pipe.size, sha256=pipe.sha256)


async def _feed(pipe: ChunkPipe, chunks: AsyncIterable[bytes], max_bytes: int | None) -> None:
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise ObjectTooLarge(max_bytes)
        if not await pipe.send(chunk):
            break  # the consumer died; awaiting it tells why
    pipe.finish()


async def _read_ahead(source: AsyncIterator[bytes], limit: int,
                      max_bytes: int | None) -> tuple[list[bytes], bool]:
    """The stream's first chunks, up to just past `limit` bytes, and whether it ended there."""
    head: list[bytes] = []
    size = 0
    while size <= limit:
        try:
            chunk = await anext(source)
        except StopAsyncIteration:
            return head, True
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise ObjectTooLarge(max_bytes)
        head.append(chunk)
    return head, False


async def _chain(head: list[bytes], rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in head:
        yield chunk
    async for chunk in rest:
        yield chunk


def _run_consumer(consume: Callable[[ChunkPipe], T], pipe: ChunkPipe) -> T:
    try:
        return consume(pipe)
    finally:
        pipe.close_reader()


def _log_secondary_failure(worker: asyncio.Future[Any]) -> None:
    if worker.cancelled():
        return
    error = worker.exception()
    if error is not None and not isinstance(error, _StreamAborted):
        log.warning("cleaning up an aborted upload failed: %r", error)


# --- the adapter ----------------------------------------------------------------------------

# What the SDK and its HTTP client raise; all become StorageError for callers.
_BACKEND_ERRORS = (MinioException, urllib3.exceptions.HTTPError)
_MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "NoSuchObject"})


def _translate(error: BaseException, key: str) -> StorageError:
    if isinstance(error, S3Error) and error.code in _MISSING_OBJECT_CODES:
        return ObjectNotFound(key)
    return StorageBackendError(f"object store failed on {key!r}: {error}")


def _unquote(etag: str | None) -> str:
    return (etag or "").strip('"')


class _ResponseBody:
    """A streamed GET response, read on the store's threads."""

    def __init__(self, response: BaseHTTPResponse, store: MinioStore, key: str) -> None:
        self._response = response
        self._store = store
        self._key = key

    async def read(self, size: int) -> bytes:
        return await self._store._run(functools.partial(self._response.read, size), self._key)

    async def close(self) -> None:
        # Neither call blocks (a socket close, a non-blocking pool put), so no thread hop:
        # this must work even while the store shuts its threads down.
        _release(self._response)


def _release(response: BaseHTTPResponse) -> None:
    response.close()
    response.release_conn()


class MinioStore:
    """:class:`ObjectStore` over the `minio` SDK (versitygw here, MinIO or any S3 elsewhere).

    The SDK blocks, so every call runs on the store's own threads, never on the event loop; a
    dedicated pool keeps long uploads (a thread each, waiting on a slow client) from starving
    other ``asyncio.to_thread`` users. Build it in a lifespan and :meth:`close` it on exit.

    The HTTP client is ours rather than the SDK's default, whose 5-minute connect timeout and
    five retries would hold a readiness probe (and a request) hostage to a dead server.
    Uploads go one part at a time: the SDK's parallel mode keeps several parts in memory and, when
    an upload is aborted, leaves its worker threads waiting forever.
    """

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        part_size: int = DEFAULT_PART_SIZE,
        *,
        region: str | None = None,
        max_threads: int = 32,
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
        ping_timeout: float = 5.0,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (an S3 limit)")
        self._http = urllib3.PoolManager(
            # One pooled connection per thread, so busy threads never open throwaway ones.
            maxsize=max_threads,
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            retries=urllib3.Retry(
                total=3, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)
            ),
        )
        self._client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure,
            region=region, http_client=self._http,
        )
        self._bucket = bucket
        self._part_size = part_size
        self._ping_timeout = ping_timeout
        self._executor = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="dms-s3")

    @property
    def bucket(self) -> str:
        return self._bucket

    def close(self) -> None:
        """Stop the store's threads and drop idle connections; calls still queued fail."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._http.clear()

    async def _run(self, call: Callable[[], T], key: str) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, call)
        except _BACKEND_ERRORS as exc:
            raise _translate(exc, key) from exc

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str,
        max_bytes: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject:
        headers: dict[str, str | list[str] | tuple[str]] = dict(metadata_headers(metadata))
        source = aiter(chunks)
        head, ended = await _read_ahead(source, SMALL_OBJECT_BYTES, max_bytes)
        if ended:
            return await self._put_small(key, b"".join(head), content_type, headers)

        def upload(pipe: ChunkPipe) -> ObjectWriteResult:
            # length=-1: size unknown, the SDK reads part_size+1 bytes at a time and switches to
            # a multipart upload past one part; on a read error it aborts that upload. It only
            # ever calls read(n), which is all the pipe offers of a binary file.
            try:
                return self._client.put_object(
                    self._bucket, key, cast(BinaryIO, pipe), length=-1,
                    content_type=content_type, metadata=headers, part_size=self._part_size,
                    num_parallel_uploads=1,
                )
            except _BACKEND_ERRORS as exc:
                # Translated here, not around the await: the producer's own errors pass as is.
                raise _translate(exc, key) from exc

        streamed = await stream_to_thread(
            _chain(head, source), upload, executor=self._executor, max_bytes=max_bytes
        )
        return StoredObject(
            key=key, size=streamed.size, sha256=streamed.sha256,
            etag=_unquote(streamed.result.etag),
        )

    async def _put_small(self, key: str, data: bytes, content_type: str,
                         headers: dict[str, str | list[str] | tuple[str]]) -> StoredObject:
        def upload() -> tuple[str, ObjectWriteResult]:
            digest = hashlib.sha256(data).hexdigest()  # here, not on the event loop
            return digest, self._client.put_object(
                self._bucket, key, io.BytesIO(data), length=len(data),
                content_type=content_type, metadata=headers)

        put = asyncio.get_running_loop().run_in_executor(self._executor, upload)
        try:
            digest, result = await asyncio.shield(put)
        except asyncio.CancelledError:
            # The request cannot be called back: let it end, then take away what it stored,
            # so that a cancelled put leaves nothing, as a cancelled stream does.
            await asyncio.wait([put])
            if not put.cancelled() and put.exception() is None:
                await self.delete(key)
            raise
        except _BACKEND_ERRORS as exc:
            raise _translate(exc, key) from exc
        return StoredObject(key=key, size=len(data), sha256=digest, etag=_unquote(result.etag))

    async def open(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ObjectReader:
        loop = asyncio.get_running_loop()
        fetch = loop.run_in_executor(
            self._executor, lambda: self._client.get_object(self._bucket, key)
        )
        try:
            # Shielded so that, if our caller is cancelled mid-request, the response still
            # arrives somewhere and its connection goes back to the pool.
            response = await asyncio.shield(fetch)
        except asyncio.CancelledError:
            fetch.add_done_callback(_release_orphan)
            raise
        except _BACKEND_ERRORS as exc:
            raise _translate(exc, key) from exc
        try:
            info = _info_from_headers(key, response.headers)
        except (KeyError, ValueError, TypeError) as exc:
            _release(response)
            raise StorageBackendError(f"unusable response headers for {key!r}: {exc}") from exc
        return ObjectReader(info, _ResponseBody(response, self, key), chunk_size=chunk_size)

    async def stat(self, key: str) -> ObjectInfo | None:
        try:
            found = await self._run(lambda: self._client.stat_object(self._bucket, key), key)
        except ObjectNotFound:
            return None
        return _info_from_object(found, content_type=found.content_type,
                                 metadata=_user_metadata(found.metadata or {}))

    async def delete(self, key: str) -> None:
        await self._run(lambda: self._client.remove_object(self._bucket, key), key)

    async def list_objects(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        # The SDK's listing is a lazy generator that fetches pages as it is advanced: advance
        # it on a worker thread, a page at a time.
        listing = self._client.list_objects(self._bucket, prefix=prefix, recursive=True)
        take_page = functools.partial(_take, listing, _LIST_BATCH)
        while page := await self._run(take_page, prefix):
            for item in page:
                yield _info_from_object(item)

    async def presigned_get(self, key: str, expires: timedelta) -> str:
        # Off the loop: the first presign may ask the server for the bucket's region.
        url: str = await self._run(
            lambda: self._client.presigned_get_object(self._bucket, key, expires=expires), key
        )
        return url

    async def ensure_bucket(self) -> None:
        await self._run(self._create_bucket_if_missing, self._bucket)

    async def ping(self) -> None:
        try:
            exists = await asyncio.wait_for(
                self._run(lambda: self._client.bucket_exists(self._bucket), self._bucket),
                self._ping_timeout,
            )
        except TimeoutError as exc:
            raise StorageBackendError(
                f"object store did not answer within {self._ping_timeout}s"
            ) from exc
        if not exists:
            raise StorageBackendError(f"bucket {self._bucket!r} does not exist")

    def _create_bucket_if_missing(self) -> None:
        if self._client.bucket_exists(self._bucket):
            return
        try:
            self._client.make_bucket(self._bucket)
        except S3Error as exc:
            # Another replica starting at the same moment created it first.
            if exc.code != "BucketAlreadyOwnedByYou":
                raise


def _release_orphan(fetch: asyncio.Future[Any]) -> None:
    if not fetch.cancelled() and fetch.exception() is None:
        _release(fetch.result())


def _take(items: Iterator[Object], count: int) -> list[Object]:
    return list(itertools.islice(items, count))


def _info_from_object(
    item: Object, *, content_type: str | None = None, metadata: Mapping[str, str] | None = None
) -> ObjectInfo:
    if item.object_name is None or item.size is None or item.last_modified is None:
        raise StorageBackendError(f"incomplete object description from the server: {item!r}")
    return ObjectInfo(
        key=item.object_name,
        size=item.size,
        etag=_unquote(item.etag),
        last_modified=item.last_modified,
        content_type=content_type,
        metadata=dict(metadata or {}),
    )


def _info_from_headers(key: str, headers: Mapping[str, str]) -> ObjectInfo:
    return ObjectInfo(
        key=key,
        size=int(headers["Content-Length"]),
        etag=_unquote(headers.get("ETag")),
        last_modified=parsedate_to_datetime(headers["Last-Modified"]),
        content_type=headers.get("Content-Type"),
        metadata=_user_metadata(headers),
    )
