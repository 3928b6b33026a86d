"""The OpenSearch side of search: two indices behind aliases, and the adapter that writes them.

`{prefix}-internal` holds every document for staff; `{prefix}-public` only what
is published, with the redacted text where there is one. Aliases point at
versioned indices (`{prefix}-internal-v1`, `-v2`, ...): the reindex command
builds the next version beside the current one and moves the alias in one
atomic step, so a mapping change never interrupts searching.

Writes carry the projection's `revision` as an external version: OpenSearch
refuses (409) anything not newer than what it holds, so a replayed or retried
write is harmless and is taken as already applied.

Searches, the hot path, go through opensearch-py's asyncio client (aiohttp):
no thread hop per query. Writes, index administration and the reindex keep the
blocking client, each call in a worker thread; both clients are closed together.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from opensearchpy import AsyncOpenSearch, OpenSearch, helpers
from opensearchpy.exceptions import (
    ConflictError,
    NotFoundError,
    RequestError,
    SerializationError,
    TransportError,
)
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.serializer import JSONSerializer
from pydantic_core import from_json, to_json

from dms_search.models import SearchDocument
from dms_search.query import SEARCH_FILTER_PATH
from dms_search.settings import SearchSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

# Bumped with every change to MAPPINGS or the analysis: an index built with an
# older one is reported by /readyz until `dms-search-reindex` rebuilds it.
MAPPING_VERSION = 2
SYNONYMS_FILE = Path(__file__).parent / "analysis" / "election_synonyms.txt"


class SearchUnavailable(Exception):
    """OpenSearch did not answer a search (down, overloaded, or an index missing)."""


class IndexKind(StrEnum):
    INTERNAL = "internal"
    PUBLIC = "public"


@functools.cache
def election_synonyms() -> tuple[str, ...]:
    """The synonym rules of the shipped file (comments and blank lines dropped)."""
    lines = SYNONYMS_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def analysis() -> dict[str, Any]:
    """Analyzers: Indonesian stemming at index time, plus election synonyms at search time.

    The synonyms go inline into the index settings because the server's config
    directory is not ours; they apply only when a query is analysed, so the
    index itself never depends on the list.
    """
    return {
        "filter": {
            "id_stop": {"type": "stop", "stopwords": "_indonesian_"},
            "id_stem": {"type": "stemmer", "language": "indonesian"},
            "election_synonyms": {"type": "synonym_graph", "lenient": True,
                                  "synonyms": list(election_synonyms())},
        },
        "analyzer": {
            "id_text": {"type": "custom", "tokenizer": "standard",
                        "filter": ["lowercase", "id_stop", "id_stem"]},
            "id_query": {"type": "custom", "tokenizer": "standard",
                         "filter": ["lowercase", "election_synonyms", "id_stop", "id_stem"]},
            "exact_query": {"type": "custom", "tokenizer": "standard",
                            "filter": ["lowercase", "election_synonyms"]},
        },
    }


def _analysed_text() -> dict[str, Any]:
    # Indonesian stemming for recall ("memilih" finds "pemilihan"); the standard
    # analyser beside it for exact words and names the stemmer would mangle.
    return {"type": "text", "analyzer": "id_text", "search_analyzer": "id_query",
            "fields": {"std": {"type": "text", "analyzer": "standard",
                               "search_analyzer": "exact_query"}}}


MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"mapping_version": MAPPING_VERSION},
    "properties": {
        "document_id": {"type": "keyword"},
        "office_code": {"type": "keyword"},
        "version": {"type": "integer"},
        "title": _analysed_text(),
        # Title suggestions as you type (prefix of any word, in order).
        "title_suggest": {"type": "search_as_you_type", "analyzer": "standard"},
        "description": _analysed_text(),
        "text": _analysed_text(),
        "division_id": {"type": "keyword"},
        "document_date": {"type": "date", "format": "strict_date"},
        "year": {"type": "integer"},
        "document_type": {"type": "keyword"},
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
            "refresh_interval": settings.search_refresh_interval,
            "analysis": analysis()}


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
        "title_suggest": document.title,
        "description": document.description,
        "division_id": str(document.division_id) if document.division_id else None,
        "document_date": document.document_date.isoformat() if document.document_date else None,
        "year": document.document_date.year if document.document_date else None,
        "document_type": document.document_type,
        "tags": list(document.tags),
        "content_type": document.content_type,
        "status": document.status,
        "kip_category": document.kip_category,
    }


@dataclass(frozen=True)
class IndexWrite:
    """One whole document for a bulk write: the body, or None to delete it."""

    document_id: UUID
    body: dict[str, Any] | None
    revision: int


_VERSIONED = re.compile(r"-v(\d+)$")


class SearchIndex:
    """The two search indices of one prefix, over opensearch-py.

    `client` (blocking) writes and administers; `searcher` (asyncio) answers
    searches. Without a `searcher`, one is made for the same hosts and options.
    """

    def __init__(self, client: OpenSearch, *, prefix: str, settings: dict[str, Any],
                 searcher: AsyncOpenSearch | None = None) -> None:
        self._client = client
        self._searcher = searcher or _async_twin(client)
        self._prefix = prefix
        self._settings = settings

    @classmethod
    def from_settings(cls, settings: SearchSettings) -> SearchIndex:
        options: dict[str, Any] = {"hosts": [settings.opensearch_url],
                                   "timeout": settings.opensearch_timeout_seconds}
        # The searcher's pool bounds how many searches run at once (see the setting).
        searcher = AsyncOpenSearch(**options, pool_maxsize=settings.opensearch_search_connections,
                                   serializer=FastJson())
        return cls(OpenSearch(**options), prefix=settings.opensearch_index_prefix,
                   settings=index_settings(settings), searcher=searcher)

    def alias(self, kind: IndexKind) -> str:
        return f"{self._prefix}-{kind.value}"

    def versioned(self, kind: IndexKind, number: int) -> str:
        return f"{self.alias(kind)}-v{number}"

    async def _call(self, call: Callable[[], T]) -> T:
        return await asyncio.to_thread(call)

    async def ensure_indices(self) -> None:
        """Create each index with its alias if the alias is missing (idempotent, race-safe)."""
        for kind in IndexKind:
            await self._call(functools.partial(self._ensure, kind))

    def _ensure(self, kind: IndexKind) -> None:
        alias, concrete = self.alias(kind), self.versioned(kind, 1)
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

    async def concrete(self, kind: IndexKind) -> str:
        """The versioned index the alias points at now."""
        found: dict[str, Any] = await self._call(
            lambda: self._client.indices.get_alias(name=self.alias(kind)))
        return sorted(found)[-1]

    async def mapping_version(self, kind: IndexKind) -> int:
        """The MAPPING_VERSION the alias's index was built with (1 before it was recorded)."""
        concrete = await self.concrete(kind)
        found = await self._call(lambda: self._client.indices.get_mapping(index=concrete))
        meta = found[concrete]["mappings"].get("_meta", {})
        return int(meta.get("mapping_version", 1))

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
        """Run a search; raise SearchUnavailable when OpenSearch cannot answer.

        Only the parts of the answer that dms_search.query reads come back
        (SEARCH_FILTER_PATH): an empty list or object is left out altogether.
        """
        try:
            result: dict[str, Any] = await self._searcher.search(
                index=self.alias(kind), body=body, filter_path=SEARCH_FILTER_PATH)
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

    # The reindex command's steps (see dms_search.reindex).

    async def create_next(self, kind: IndexKind) -> str:
        """Create the next versioned index of `kind`, without the alias and without refreshes."""
        def create() -> str:
            existing = self._client.indices.get(index=f"{self.alias(kind)}-v*",
                                                allow_no_indices=True)
            numbers = [int(m.group(1)) for name in existing
                       if (m := _VERSIONED.search(name)) is not None]
            name = self.versioned(kind, max(numbers, default=0) + 1)
            # Refreshes off while it is being filled; finish_build turns them back on.
            settings = {**self._settings, "refresh_interval": "-1"}
            self._client.indices.create(index=name,
                                        body={"settings": settings, "mappings": MAPPINGS})
            return name
        return await self._call(create)

    async def write_many(self, index: str, writes: Sequence[IndexWrite]) -> int:
        """Bulk-write whole documents at their revisions; return how many were newer there."""
        def bulk() -> int:
            actions = [
                {"_op_type": "index" if w.body is not None else "delete", "_index": index,
                 "_id": str(w.document_id), "version": w.revision,
                 "version_type": "external", **({"_source": w.body} if w.body else {})}
                for w in writes]
            applied, errors = helpers.bulk(self._client, actions, raise_on_error=False,
                                           stats_only=False)
            # 409: the index holds this revision or a newer one; 404: nothing to delete.
            fatal = [e for e in errors if isinstance(e, dict)
                     and next(iter(e.values())).get("status") not in (409, 404)]
            if fatal:
                raise RuntimeError(f"bulk write to {index} failed: {fatal[:3]}")
            return int(applied)
        return await self._call(bulk)

    async def finish_build(self, index: str) -> None:
        """Turn refreshes back on and make the new index's documents searchable."""
        def finish() -> None:
            self._client.indices.put_settings(
                index=index,
                body={"index": {"refresh_interval": self._settings["refresh_interval"]}})
            self._client.indices.refresh(index=index)
        await self._call(finish)

    async def swap_alias(self, kind: IndexKind, new: str) -> list[str]:
        """Point the alias at `new` in one atomic step; return the indices it left."""
        def swap() -> list[str]:
            alias = self.alias(kind)
            old = sorted(self._client.indices.get_alias(name=alias)) if (
                self._client.indices.exists_alias(name=alias)) else []
            actions: list[dict[str, Any]] = [{"add": {"index": new, "alias": alias}}]
            actions += [{"remove": {"index": name, "alias": alias}} for name in old
                        if name != new]
            self._client.indices.update_aliases(body={"actions": actions})
            return [name for name in old if name != new]
        return await self._call(swap)

    async def delete_index(self, index: str) -> None:
        await self._call(lambda: self._client.indices.delete(index=index))

    async def check(self) -> str:
        """"ok" if the cluster answers and both aliases exist, else what is wrong."""
        def probe() -> str:
            self._client.cluster.health()
            missing = [self.alias(kind) for kind in IndexKind
                       if not self._client.indices.exists_alias(name=self.alias(kind))]
            return f"missing aliases: {', '.join(missing)}" if missing else "ok"
        try:
            status = await asyncio.wait_for(self._call(probe), timeout=3)
            if status == "ok":
                outdated = [kind.value for kind in IndexKind
                            if await self.mapping_version(kind) != MAPPING_VERSION]
                if outdated:
                    status = f"outdated mapping, run dms-search-reindex: {', '.join(outdated)}"
        except Exception as exc:  # readiness reports any failure
            return f"{type(exc).__name__}: {exc}"[:200]
        return status

    async def close(self) -> None:
        """Close both clients' connections."""
        try:
            await self._searcher.close()
        finally:
            self._client.close()


class FastJson(JSONSerializer):
    """opensearch-py's JSON codec on pydantic-core's (Rust): the same JSON, in less time.

    A search's body is encoded and its answer parsed on the event loop, once per
    query; the standard library's codec was a visible share of a search's CPU.
    """

    def loads(self, s: str) -> Any:
        try:
            return from_json(s)
        except ValueError as exc:
            raise SerializationError(s, exc) from exc

    def dumps(self, data: Any) -> Any:
        if isinstance(data, str | bytes):
            return data
        try:
            return to_json(data, fallback=self.default)
        except (ValueError, TypeError) as exc:
            raise SerializationError(data, exc) from exc


def _async_twin(client: OpenSearch) -> AsyncOpenSearch:
    """An asyncio client for the same hosts, with the same connection options."""
    transport = client.transport
    return AsyncOpenSearch(hosts=transport.hosts, max_retries=transport.max_retries,
                           serializer=FastJson(), **transport.kwargs)
