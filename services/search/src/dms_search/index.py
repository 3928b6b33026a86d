"""The OpenSearch side of search: two indices behind aliases, and the adapter that writes them.

`{prefix}-internal` holds every document for staff; `{prefix}-public` only what
is published, with the redacted text where there is one. Aliases point at
versioned indices (`{prefix}-internal-v1`), so a mapping change can be rolled
out by building `-v2` and moving the alias.

Writes carry the projection's `revision` as an external version: OpenSearch
refuses (409) anything not newer than what it holds, so a replayed or retried
write is harmless and is taken as already applied.

opensearch-py's client blocks; every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConflictError, NotFoundError, RequestError, TransportError
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError

from dms_search.models import SearchDocument
from dms_search.settings import SearchSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

INDEX_VERSION = "v1"


class SearchUnavailable(Exception):
    """OpenSearch did not answer a search (down, overloaded, or an index missing)."""


class IndexKind(StrEnum):
    INTERNAL = "internal"
    PUBLIC = "public"


def _analysed_text() -> dict[str, Any]:
    # Indonesian stemming for recall ("memilih" finds "pemilihan"); the standard
    # analyser beside it for exact words and names the stemmer would mangle.
    return {"type": "text", "analyzer": "indonesian",
            "fields": {"std": {"type": "text", "analyzer": "standard"}}}


MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "document_id": {"type": "keyword"},
        "office_code": {"type": "keyword"},
        "version": {"type": "integer"},
        "title": _analysed_text(),
        "description": _analysed_text(),
        "text": _analysed_text(),
        "division_id": {"type": "keyword"},
        "document_date": {"type": "date", "format": "strict_date"},
        "tags": {"type": "keyword"},
        "filename": {"type": "keyword"},
        "content_type": {"type": "keyword"},
        "status": {"type": "keyword"},
        "kip_category": {"type": "keyword"},
        "received_at": {"type": "date"},
    },
}


def index_settings(settings: SearchSettings) -> dict[str, Any]:
    return {"number_of_shards": settings.opensearch_shards,
            "number_of_replicas": settings.opensearch_replicas,
            # Explicit, so that how soon a write is searchable is a decision, not a default.
            "refresh_interval": "1s"}


def internal_body(document: SearchDocument, text: str) -> dict[str, Any]:
    """The document as staff search it: every status, the full text."""
    return {
        **_common_fields(document),
        "filename": document.filename,
        "received_at": document.received_at.isoformat() if document.received_at else None,
        "text": text,
    }


def public_body(document: SearchDocument, text: str) -> dict[str, Any]:
    """The document as the public searches it: published fields and the public text only."""
    return {**_common_fields(document), "text": text}


def _common_fields(document: SearchDocument) -> dict[str, Any]:
    return {
        "document_id": str(document.document_id),
        "office_code": document.office_code,
        "version": document.version,
        "title": document.title,
        "description": document.description,
        "division_id": str(document.division_id) if document.division_id else None,
        "document_date": document.document_date.isoformat() if document.document_date else None,
        "tags": list(document.tags),
        "content_type": document.content_type,
        "status": document.status,
        "kip_category": document.kip_category,
    }


class SearchIndex:
    """The two search indices of one prefix, over opensearch-py."""

    def __init__(self, client: OpenSearch, *, prefix: str, settings: dict[str, Any]) -> None:
        self._client = client
        self._prefix = prefix
        self._settings = settings

    @classmethod
    def from_settings(cls, settings: SearchSettings) -> SearchIndex:
        client = OpenSearch(hosts=[settings.opensearch_url],
                            timeout=settings.opensearch_timeout_seconds)
        return cls(client, prefix=settings.opensearch_index_prefix,
                   settings=index_settings(settings))

    def alias(self, kind: IndexKind) -> str:
        return f"{self._prefix}-{kind.value}"

    def concrete(self, kind: IndexKind) -> str:
        return f"{self._prefix}-{kind.value}-{INDEX_VERSION}"

    async def _call(self, call: Callable[[], T]) -> T:
        return await asyncio.to_thread(call)

    async def ensure_indices(self) -> None:
        """Create each index with its alias if the alias is missing (idempotent, race-safe)."""
        for kind in IndexKind:
            await self._call(functools.partial(self._ensure, kind))

    def _ensure(self, kind: IndexKind) -> None:
        alias, concrete = self.alias(kind), self.concrete(kind)
        if self._client.indices.exists_alias(name=alias):
            return
        body = {"settings": self._settings, "mappings": MAPPINGS, "aliases": {alias: {}}}
        try:
            self._client.indices.create(index=concrete, body=body)
        except RequestError as exc:
            # The API and the worker start together: the other one created it first.
            if exc.error != "resource_already_exists_exception":
                raise
        self._client.indices.put_alias(index=concrete, name=alias)

    async def put(self, kind: IndexKind, document_id: UUID, body: dict[str, Any],
                  revision: int) -> bool:
        """Write the whole document at `revision`; False if the index already holds it or newer."""
        def write() -> bool:
            try:
                self._client.index(index=self.alias(kind), id=str(document_id), body=body,
                                   version=revision, version_type="external")
            except ConflictError:
                return False
            return True
        return await self._call(write)

    async def remove(self, kind: IndexKind, document_id: UUID, revision: int) -> bool:
        """Delete the document as of `revision`; False if it was absent or is newer there."""
        def delete() -> bool:
            try:
                self._client.delete(index=self.alias(kind), id=str(document_id),
                                    version=revision, version_type="external")
            except (ConflictError, NotFoundError):
                return False
            return True
        return await self._call(delete)

    async def search(self, kind: IndexKind, body: dict[str, Any]) -> dict[str, Any]:
        """Run a search; raise SearchUnavailable when OpenSearch cannot answer."""
        try:
            result: dict[str, Any] = await self._call(
                lambda: self._client.search(index=self.alias(kind), body=body))
        except (OpenSearchConnectionError, NotFoundError) as exc:
            raise SearchUnavailable(str(exc)) from exc
        except TransportError as exc:
            if isinstance(exc.status_code, int) and exc.status_code >= 500:
                raise SearchUnavailable(str(exc)) from exc
            raise
        return result

    async def refresh(self) -> None:
        """Make every write so far searchable (tests; production relies on refresh_interval)."""
        await self._call(lambda: self._client.indices.refresh(
            index=",".join(self.alias(kind) for kind in IndexKind)))

    async def check(self) -> str:
        """"ok" if the cluster answers and both aliases exist, else what is wrong."""
        def probe() -> str:
            self._client.cluster.health()
            missing = [self.alias(kind) for kind in IndexKind
                       if not self._client.indices.exists_alias(name=self.alias(kind))]
            return f"missing aliases: {', '.join(missing)}" if missing else "ok"
        try:
            return await asyncio.wait_for(self._call(probe), timeout=3)
        except Exception as exc:  # readiness reports any failure
            return f"{type(exc).__name__}: {exc}"[:200]

    def close(self) -> None:
        self._client.close()
