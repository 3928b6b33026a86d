"""The object store: the port every service uses for files, and its adapter over the `minio` SDK.

Keys follow DESIGN.md §5 — `{office}/{document_id}/{version}/original`, derived files (text,
previews, redacted copies) beside it under `derived/`; build them with :func:`original_key` and
:func:`derived_key`, never by hand.

Writing streams: :meth:`ObjectStore.put_stream` takes an async iterable of chunks of unknown total
length and never holds the whole file: a stream that ends within one part (8 MiB) is one plain
PUT, a longer one a multipart upload with two parts in flight while the next arrives. It
enforces ``max_bytes`` while the bytes flow and records size and sha256 on the way. A failed or
cancelled upload leaves no object and no pending upload behind.

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
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Protocol, TypeVar
from uuid import UUID

import urllib3
import urllib3.exceptions
from minio import Minio
from minio.datatypes import Object, Part
from minio.error import MinioException, S3Error
from minio.helpers import ObjectWriteResult
from urllib3.response import BaseHTTPResponse

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_PART_SIZE",
    "MinioStore",
    "ObjectBody",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectReader",
    "ObjectStore",
    "ObjectTooLarge",
    "PartSink",
    "StorageBackendError",
    "StorageError",
    "StoredObject",
    "Uploaded",
    "derived_key",
    "metadata_headers",
    "original_key",
    "upload_in_parts",
]

log = logging.getLogger(__name__)

MiB = 1024 * 1024
DEFAULT_CHUNK_SIZE = 256 * 1024
DEFAULT_PART_SIZE = 8 * MiB
MIN_PART_SIZE = 5 * MiB  # S3 refuses smaller multipart parts (all but the last)
# Parts of one upload sent at once while the next arrives: two, as the SDK's own parallel mode
# gains little past two here, and each holds a part in memory.
PARTS_IN_FLIGHT = 2
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


# --- streaming a producer into a multipart upload -----------------------------------------


class PartSink(Protocol):
    """One object's S3 multipart upload, as blocking calls (run on worker threads)."""

    def create(self) -> str:
        """Start the upload; return its id."""
        ...

    def upload_part(self, upload_id: str, number: int, data: bytes) -> str:
        """Store part ``number`` (from 1); return its ETag."""
        ...

    def complete(self, upload_id: str, etags: list[tuple[int, str]]) -> str:
        """Join the parts, given as (number, ETag) in order; return the object's ETag."""
        ...

    def abort(self, upload_id: str) -> None:
        """Drop the upload and every part stored for it."""
        ...


@dataclass(frozen=True, slots=True)
class Uploaded:
    """What :func:`upload_in_parts` stored: the object's ETag, and the size and sha256 of the
    bytes it was given."""

    etag: str
    size: int
    sha256: str


async def upload_in_parts(
    chunks: AsyncIterable[bytes],
    sink: PartSink,
    *,
    part_size: int,
    max_bytes: int | None = None,
    parts_in_flight: int = 2,
    executor: Executor | None = None,
) -> Uploaded:
    """Cut the stream into parts on the event loop and upload them on worker threads, up to
    ``parts_in_flight`` at once while the next part arrives.

    Memory stays bounded by the parts in flight plus the one being gathered, whatever the
    stream's length. The sha256 of the whole stream is computed off the loop, part by part, in
    order. If the stream raises (its error propagates as is), passes ``max_bytes``
    (:class:`ObjectTooLarge`), a part fails, or the caller is cancelled, the parts already sent
    are let finish (a thread cannot be interrupted) and the upload is aborted: nothing is left.
    """
    loop = asyncio.get_running_loop()
    hasher = hashlib.sha256()
    size = 0
    upload_id: str | None = None
    in_flight: deque[tuple[int, asyncio.Future[str]]] = deque()
    etags: list[tuple[int, str]] = []
    hashing: asyncio.Future[None] | None = None
    try:
        upload_id = await loop.run_in_executor(executor, sink.create)
        number = 0
        async for part in _parts(chunks, part_size, max_bytes):
            number += 1
            size += len(part)
            if hashing is not None:
                await hashing  # in order: part n is hashed after part n-1
            hashing = loop.run_in_executor(executor, hasher.update, part)
            if len(in_flight) >= parts_in_flight:
                done_number, oldest = in_flight[0]
                etags.append((done_number, await oldest))
                in_flight.popleft()
            in_flight.append((number, loop.run_in_executor(
                executor, sink.upload_part, upload_id, number, part)))
        if number == 0:  # an empty stream is still one (empty) part
            number = 1
            in_flight.append((1, loop.run_in_executor(executor, sink.upload_part, upload_id, 1,
                                                      b"")))
        while in_flight:
            done_number, oldest = in_flight[0]
            etags.append((done_number, await oldest))
            in_flight.popleft()
        if hashing is not None:
            await hashing
        etag = await loop.run_in_executor(executor, sink.complete, upload_id, etags)
    except BaseException as failure:
        pending: list[asyncio.Future[Any]] = [future for _, future in in_flight]
        if hashing is not None:
            pending.append(hashing)
        if pending:
            await asyncio.wait(pending)
        if upload_id is not None:
            pending.append(loop.run_in_executor(executor, sink.abort, upload_id))
            await asyncio.wait(pending[-1:])
        for future in pending:
            error = None if future.cancelled() else future.exception()
            if error is not None and error is not failure:
                log.warning("cleaning up an aborted upload: %r", error)
        raise
    return Uploaded(etag=etag, size=size, sha256=hasher.hexdigest())


async def _parts(chunks: AsyncIterable[bytes], part_size: int,
                 max_bytes: int | None) -> AsyncIterator[bytes]:
    """The stream in parts of exactly ``part_size`` bytes (the last one shorter), each copied
    once; raises :class:`ObjectTooLarge` past ``max_bytes``."""
    gathered: list[bytes] = []
    held = total = 0
    async for chunk in chunks:
        total += len(chunk)
        if max_bytes is not None and total > max_bytes:
            raise ObjectTooLarge(max_bytes)
        while held + len(chunk) >= part_size:
            cut = part_size - held
            gathered.append(chunk[:cut])
            yield b"".join(gathered)
            gathered, held, chunk = [], 0, chunk[cut:]
        if chunk:
            gathered.append(chunk)
            held += len(chunk)
    if held:
        yield b"".join(gathered)


async def _read_ahead(source: AsyncIterator[bytes], limit: int,
                      max_bytes: int | None) -> tuple[list[bytes], bool]:
    """The stream's first chunks, up to just past ``limit`` bytes, and whether it ended there."""
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
    head.reverse()
    while head:  # popped, so that a chunk passed on is not held here any longer
        yield head.pop()
    async for chunk in rest:
        yield chunk


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


class _MinioParts:
    """:class:`PartSink` over the SDK's own S3 calls for one object.

    The SDK's ``put_object`` either sends parts one at a time (the next part waits for the
    previous one's answer) or, in its parallel mode, leaves its pool threads blocked for good
    when the stream fails, a leak per refused upload. Its four multipart calls, each one S3
    request, let :func:`upload_in_parts` do both right.
    """

    def __init__(self, client: Minio, bucket: str, key: str,
                 headers: dict[str, str | list[str] | tuple[str]]) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._headers = headers

    def create(self) -> str:
        return self._call(lambda: self._client._create_multipart_upload(
            self._bucket, self._key, dict(self._headers)))

    def upload_part(self, upload_id: str, number: int, data: bytes) -> str:
        return self._call(lambda: self._client._upload_part(
            self._bucket, self._key, data, None, upload_id, number))

    def complete(self, upload_id: str, etags: list[tuple[int, str]]) -> str:
        result = self._call(lambda: self._client._complete_multipart_upload(
            self._bucket, self._key, upload_id, [Part(n, etag) for n, etag in etags]))
        return result.etag or ""

    def abort(self, upload_id: str) -> None:
        self._call(lambda: self._client._abort_multipart_upload(
            self._bucket, self._key, upload_id))

    def _call(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except _BACKEND_ERRORS as exc:
            raise _translate(exc, self._key) from exc


class MinioStore:
    """:class:`ObjectStore` over the `minio` SDK (versitygw here, MinIO or any S3 elsewhere).

    The SDK blocks, so every call runs on the store's own threads, never on the event loop; a
    dedicated pool keeps long uploads (a thread each, waiting on a slow client) from starving
    other ``asyncio.to_thread`` users. Build it in a lifespan and :meth:`close` it on exit.

    The HTTP client is ours rather than the SDK's default, whose 5-minute connect timeout and
    five retries would hold a readiness probe (and a request) hostage to a dead server.
    Long uploads go through :func:`upload_in_parts` (see :class:`_MinioParts` for why).
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
        # Up to one part is gathered anyway: a stream that ends within it is one plain PUT.
        head, ended = await _read_ahead(source, self._part_size, max_bytes)
        if ended:
            return await self._put_small(key, b"".join(head), content_type, headers)
        uploaded = await upload_in_parts(
            _chain(head, source),
            _MinioParts(self._client, self._bucket, key, {**headers, "Content-Type": content_type}),
            part_size=self._part_size, max_bytes=max_bytes, parts_in_flight=PARTS_IN_FLIGHT,
            executor=self._executor)
        return StoredObject(key=key, size=uploaded.size, sha256=uploaded.sha256,
                            etag=_unquote(uploaded.etag))

    async def _put_small(self, key: str, data: bytes, content_type: str,
                         headers: dict[str, str | list[str] | tuple[str]]) -> StoredObject:
        def upload() -> tuple[str, ObjectWriteResult]:
            digest = hashlib.sha256(data).hexdigest()  # here, not on the event loop
            return digest, self._client.put_object(
                self._bucket, key, io.BytesIO(data), length=len(data),
                content_type=content_type, metadata=headers, part_size=self._part_size)

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
