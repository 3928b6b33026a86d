"""An in-memory :class:`~dms_common.storage.ObjectStore` for unit tests.

It keeps the port's contract — ``max_bytes`` enforced while streaming, nothing stored when the
producer fails, :class:`ObjectNotFound` from ``open`` — so a service tested against it behaves the
same against :class:`~dms_common.storage.MinioStore`. Integration tests use the real server.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from dms_common.storage import (
    DEFAULT_CHUNK_SIZE,
    ObjectInfo,
    ObjectNotFound,
    ObjectReader,
    ObjectTooLarge,
    StorageBackendError,
    StoredObject,
    metadata_headers,
)

__all__ = ["FakeStore"]


@dataclass(frozen=True, slots=True)
class _Entry:
    data: bytes
    info: ObjectInfo


class _BytesBody:
    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._offset = 0
        self.closed = False

    async def read(self, size: int) -> bytes:
        chunk = bytes(self._view[self._offset:self._offset + size])
        self._offset += len(chunk)
        return chunk

    async def close(self) -> None:
        self.closed = True


class FakeStore:
    """Objects in a dict. ``now`` drives ``last_modified`` (sweeper tests move it);
    ``available = False`` makes every call fail as an unreachable server would, and
    ``bucket_exists = False`` makes ``ping`` fail until ``ensure_bucket``."""

    def __init__(
        self,
        bucket: str = "dms-documents",
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.bucket = bucket
        self.now = now
        self.available = True
        self.bucket_exists = True
        self._objects: dict[str, _Entry] = {}
        self.opened: list[ObjectReader] = []

    # helpers for tests

    def seed(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        last_modified: datetime | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Put an object directly (test setup)."""
        self._store(key, data, content_type, metadata, last_modified or self.now())

    def data(self, key: str) -> bytes:
        """The stored bytes (KeyError when absent)."""
        return self._objects[key].data

    @property
    def keys(self) -> list[str]:
        return sorted(self._objects)

    # the port

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str,
        max_bytes: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject:
        self._check_available()
        metadata_headers(metadata)  # the same validation as the real adapter
        received = bytearray()
        async for chunk in chunks:
            received += chunk
            if max_bytes is not None and len(received) > max_bytes:
                raise ObjectTooLarge(max_bytes)
        entry = self._store(key, bytes(received), content_type, metadata, self.now())
        return StoredObject(
            key=key, size=entry.info.size, sha256=hashlib.sha256(entry.data).hexdigest(),
            etag=entry.info.etag,
        )

    async def open(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ObjectReader:
        self._check_available()
        entry = self._objects.get(key)
        if entry is None:
            raise ObjectNotFound(key)
        reader = ObjectReader(entry.info, _BytesBody(entry.data), chunk_size=chunk_size)
        self.opened.append(reader)
        return reader

    async def stat(self, key: str) -> ObjectInfo | None:
        self._check_available()
        entry = self._objects.get(key)
        return None if entry is None else entry.info

    async def delete(self, key: str) -> None:
        self._check_available()
        self._objects.pop(key, None)

    async def list_objects(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        self._check_available()
        for key in sorted(self._objects):
            if key.startswith(prefix):
                # As from S3: listings carry no content type or metadata.
                yield replace(self._objects[key].info, content_type=None, metadata={})

    async def presigned_get(self, key: str, expires: timedelta) -> str:
        self._check_available()
        until = int((self.now() + expires).timestamp())
        return f"http://fake-store.invalid/{self.bucket}/{quote(key)}?expires={until}"

    async def ensure_bucket(self) -> None:
        self._check_available()
        self.bucket_exists = True

    async def ping(self) -> None:
        self._check_available()
        if not self.bucket_exists:
            raise StorageBackendError(f"fake store: bucket {self.bucket!r} does not exist")

    # internals

    def _check_available(self) -> None:
        if not self.available:
            raise StorageBackendError("fake store: unavailable")

    def _store(
        self,
        key: str,
        data: bytes,
        content_type: str,
        metadata: Mapping[str, str] | None,
        last_modified: datetime,
    ) -> _Entry:
        info = ObjectInfo(
            key=key,
            size=len(data),
            etag=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            last_modified=last_modified,
            content_type=content_type,
            metadata=dict(metadata or {}),
        )
        entry = _Entry(data=data, info=info)
        self._objects[key] = entry
        return entry
