"""Search requests and answers as OpenSearch sees them: the query body, the hits, the cursor.

Pure functions, no I/O. The scope a caller may see (the public index's
published documents, or a staff member's own office) is a filter of the query
itself, so hits, totals and facets all stay inside it; the filters the caller
chooses (office, category) are a post-filter, so the facets still show the
other choices within the scope.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

TEXT_FIELDS = ["title^3", "title.std^3", "description", "description.std", "text", "text.std"]
RETURNED_FIELDS = ["document_id", "title", "office_code", "kip_category", "document_date",
                   "status"]
FACET_SIZE = 50


class InvalidCursor(ValueError):
    """The cursor was not made by this service for this kind of search."""


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    office: str | None = None
    category: str | None = None
    limit: int = 20
    cursor: str | None = None

    @property
    def mode(self) -> str:
        """"match" ranks by relevance; "recent" (no query words) lists the newest first."""
        return "match" if self.q.strip() else "recent"


@dataclass(frozen=True)
class Scope:
    """What a caller may see: None for a field means no restriction on it."""

    offices: frozenset[str] | None = None
    statuses: frozenset[str] | None = None


def _sort(mode: str) -> list[Any]:
    # document_id last: a unique tie-breaker, so that search_after pages neither skip nor repeat.
    if mode == "match":
        return [{"_score": "desc"}, {"document_id": "asc"}]
    return [{"document_date": {"order": "desc", "missing": "_last"}}, {"document_id": "asc"}]


def encode_cursor(mode: str, after: list[Any]) -> str:
    raw = json.dumps({"m": mode, "a": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, mode: str) -> list[Any]:
    """Return the sort values to search after, or raise InvalidCursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor(str(exc)) from exc
    if not isinstance(data, dict) or data.get("m") != mode:
        raise InvalidCursor("cursor of another search")
    after = data.get("a")
    # The values OpenSearch gave as the last hit's sort key: a score (or a date as
    # epoch milliseconds) and the document id. Anything else would make the next
    # query fail inside OpenSearch instead of here.
    first_types: tuple[type, ...] = (int, float) if mode == "match" else (int,)
    if (not isinstance(after, list) or len(after) != 2
            or isinstance(after[0], bool) or not isinstance(after[0], first_types)
            or not isinstance(after[1], str)):
        raise InvalidCursor("malformed cursor")
    return after


def build_search(request: SearchRequest, scope: Scope, *,
                 facets: tuple[str, ...] = ("office_code", "kip_category")) -> dict[str, Any]:
    """The OpenSearch request body for one page of results."""
    scope_filters: list[dict[str, Any]] = []
    if scope.offices is not None:
        scope_filters.append({"terms": {"office_code": sorted(scope.offices)}})
    if scope.statuses is not None:
        scope_filters.append({"terms": {"status": sorted(scope.statuses)}})
    chosen: list[dict[str, Any]] = []
    if request.office:
        chosen.append({"term": {"office_code": request.office}})
    if request.category:
        chosen.append({"term": {"kip_category": request.category}})
    if request.mode == "match":
        must: dict[str, Any] = {"multi_match": {"query": request.q.strip(),
                                                "fields": TEXT_FIELDS}}
    else:
        must = {"match_all": {}}
    body: dict[str, Any] = {
        "size": request.limit,
        "track_total_hits": True,
        "_source": RETURNED_FIELDS,
        "query": {"bool": {"must": [must], "filter": scope_filters}},
        "sort": _sort(request.mode),
        "aggs": {name: {"terms": {"field": name, "size": FACET_SIZE}} for name in facets},
    }
    if chosen:
        body["post_filter"] = {"bool": {"filter": chosen}}
    if request.mode == "match":
        # html encoder: the fragments are escaped text with <mark> around the matches.
        body["highlight"] = {
            "encoder": "html", "pre_tags": ["<mark>"], "post_tags": ["</mark>"],
            "fields": {"title": {"number_of_fragments": 0},
                       "text": {"fragment_size": 160, "number_of_fragments": 3}},
        }
    if request.cursor:
        body["search_after"] = decode_cursor(request.cursor, request.mode)
    return body


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    office_code: str
    kip_category: str | None
    document_date: str | None
    status: str
    highlights: list[str]


@dataclass(frozen=True)
class Page:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    next_cursor: str | None


def read_page(response: dict[str, Any], request: SearchRequest) -> Page:
    """Turn OpenSearch's answer into a page of hits, facets and the next cursor."""
    raw_hits = response["hits"]["hits"]
    hits = []
    for raw in raw_hits:
        source = raw.get("_source", {})
        highlight = raw.get("highlight", {})
        hits.append(Hit(
            id=raw["_id"], title=source.get("title") or "",
            office_code=source.get("office_code") or "",
            kip_category=source.get("kip_category"),
            document_date=source.get("document_date"),
            status=source.get("status") or "",
            highlights=[*highlight.get("title", []), *highlight.get("text", [])]))
    facets = {name: {str(b["key"]): int(b["doc_count"]) for b in agg.get("buckets", [])}
              for name, agg in response.get("aggregations", {}).items()}
    next_cursor = None
    if raw_hits and len(raw_hits) == request.limit:
        next_cursor = encode_cursor(request.mode, raw_hits[-1]["sort"])
    return Page(total=int(response["hits"]["total"]["value"]), hits=hits, facets=facets,
                next_cursor=next_cursor)
