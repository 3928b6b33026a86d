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
import re
from dataclasses import dataclass
from typing import Any

# Indonesian-stemmed fields (with the synonyms at query time), then the same
# fields with only the standard analyser: an exact word scores on both.
STEMMED_FIELDS = ["title^3", "description^1.5", "text"]
EXACT_FIELDS = ["title.std^3", "description.std^1.5", "text.std"]
# Typo tolerance, weighted low so that a correctly spelt match always ranks higher.
FUZZY_BOOST = 0.3
RETURNED_FIELDS = ["document_id", "title", "office_code", "kip_category", "document_date",
                   "division_id", "document_type", "status"]
FACET_SIZE = 50
# OpenSearch's `filter_path` for every search: only what read_page and
# read_suggestions read comes back (no _index, _score, shard counts, ...).
# OpenSearch leaves an empty list or object out, so the readers use defaults.
SEARCH_FILTER_PATH = ",".join([
    "hits.total.value", "hits.hits._id", "hits.hits._source", "hits.hits.highlight",
    "hits.hits.sort", "aggregations.*.values.buckets.key",
    "aggregations.*.values.buckets.doc_count"])
SUGGEST_FIELDS = ["title_suggest", "title_suggest._2gram", "title_suggest._3gram"]

# The facets a caller may filter by: field in the index → SearchRequest attribute.
PUBLIC_FACETS = ("office_code", "kip_category", "division_id", "year", "document_type")
_CHOICE_OF = {"office_code": "office", "kip_category": "category", "division_id": "division",
              "year": "year", "document_type": "type", "status": "status"}
SORTS = ("relevance", "newest", "oldest")
_PHRASE = re.compile(r'"([^"]*)"')


class InvalidCursor(ValueError):
    """The cursor was not made by this service for this kind of search."""


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    office: str | None = None
    category: str | None = None
    division: str | None = None
    year: int | None = None
    type: str | None = None
    status: str | None = None
    sort: str = "relevance"
    limit: int = 20
    cursor: str | None = None

    @property
    def has_words(self) -> bool:
        return bool(self.q.strip(' "'))

    @property
    def mode(self) -> str:
        """How hits are ordered: "match" by relevance, "recent" newest first, "oldest"."""
        if self.sort == "oldest":
            return "oldest"
        if self.sort == "newest" or not self.has_words:
            return "recent"
        return "match"

    def choices(self) -> dict[str, Any]:
        """The filters the caller chose, by index field."""
        return {field: value for field, attr in _CHOICE_OF.items()
                if (value := getattr(self, attr)) is not None}


@dataclass(frozen=True)
class Scope:
    """What a caller may see: None for a field means no restriction on it."""

    offices: frozenset[str] | None = None
    statuses: frozenset[str] | None = None

    def filters(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        if self.offices is not None:
            found.append({"terms": {"office_code": sorted(self.offices)}})
        if self.statuses is not None:
            found.append({"terms": {"status": sorted(self.statuses)}})
        return found


def split_query(q: str) -> tuple[list[str], str]:
    """Split the query into its quoted phrases and the remaining free words."""
    phrases = [p.strip() for p in _PHRASE.findall(q) if p.strip()]
    words = " ".join(_PHRASE.sub(" ", q).replace('"', " ").split())
    return phrases, words


def text_query(q: str) -> dict[str, Any]:
    """The scored part of a search: every quoted phrase required, the free words ranked.

    Free words match the stemmed fields (with election synonyms), the exact
    fields, and, with a low weight, the exact fields with typos allowed. Any
    one word suffices to match; documents with more of them rank higher.
    """
    phrases, words = split_query(q)
    must: list[dict[str, Any]] = [
        {"multi_match": {"query": phrase, "type": "phrase", "fields": EXACT_FIELDS}}
        for phrase in phrases]
    should: list[dict[str, Any]] = []
    if words:
        should = [
            {"multi_match": {"query": words, "fields": STEMMED_FIELDS, "tie_breaker": 0.3}},
            {"multi_match": {"query": words, "fields": EXACT_FIELDS, "tie_breaker": 0.3}},
            # The plain standard analyser: fuzzy terms and synonym graphs do not mix.
            {"multi_match": {"query": words, "fields": EXACT_FIELDS, "fuzziness": "AUTO",
                             "prefix_length": 1, "analyzer": "standard",
                             "boost": FUZZY_BOOST}},
        ]
    query: dict[str, Any] = {"bool": {"must": must, "should": should}}
    if should and not must:
        query["bool"]["minimum_should_match"] = 1
    return query


def _sort(mode: str) -> list[Any]:
    # document_id last: a unique tie-breaker, so that search_after pages neither skip nor repeat.
    if mode == "match":
        return [{"_score": "desc"}, {"document_id": "asc"}]
    order = "asc" if mode == "oldest" else "desc"
    return [{"document_date": {"order": order, "missing": "_last"}}, {"document_id": "asc"}]


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


def _choice_filter(field: str, value: Any) -> dict[str, Any]:
    return {"term": {field: value}}


def build_search(request: SearchRequest, scope: Scope, *,
                 facets: tuple[str, ...] = PUBLIC_FACETS) -> dict[str, Any]:
    """The OpenSearch request body for one page of results.

    Each facet counts the hits under every chosen filter except its own, so
    choosing an office still shows how many hits the other offices have.
    """
    chosen = {field: _choice_filter(field, value) for field, value in request.choices().items()}
    scored = text_query(request.q) if request.has_words else {"match_all": {}}
    body: dict[str, Any] = {
        "size": request.limit,
        "track_total_hits": True,
        "_source": RETURNED_FIELDS,
        "query": {"bool": {"must": [scored], "filter": scope.filters()}},
        "sort": _sort(request.mode),
        "aggs": {name: {"filter": {"bool": {"filter": [
                     clause for field, clause in chosen.items() if field != name]}},
                        "aggs": {"values": {"terms": {"field": name, "size": FACET_SIZE}}}}
                 for name in facets},
    }
    if chosen:
        body["post_filter"] = {"bool": {"filter": list(chosen.values())}}
    if request.has_words:
        # html encoder: the fragments are escaped text with <mark> around the matches.
        body["highlight"] = {
            "encoder": "html", "pre_tags": ["<mark>"], "post_tags": ["</mark>"],
            "fields": {"title": {"number_of_fragments": 0},
                       "title.std": {"number_of_fragments": 0},
                       "text": {"fragment_size": 160, "number_of_fragments": 3},
                       "text.std": {"fragment_size": 160, "number_of_fragments": 3}},
        }
    if request.cursor:
        body["search_after"] = decode_cursor(request.cursor, request.mode)
    return body


def build_suggest(prefix: str, scope: Scope, *, limit: int = 8) -> dict[str, Any]:
    """Titles that start like what has been typed so far (any word, in order)."""
    return {
        "size": limit,
        "_source": ["title"],
        "query": {"bool": {
            "must": [{"multi_match": {"query": prefix, "type": "bool_prefix",
                                      "fields": SUGGEST_FIELDS, "operator": "and"}}],
            "filter": scope.filters()}},
    }


@dataclass(frozen=True)
class Suggestion:
    id: str
    title: str


def read_suggestions(response: dict[str, Any]) -> list[Suggestion]:
    """The suggested titles, each once, best first."""
    seen: set[str] = set()
    found: list[Suggestion] = []
    for raw in response.get("hits", {}).get("hits", []):
        title = raw.get("_source", {}).get("title") or ""
        if title and title.casefold() not in seen:
            seen.add(title.casefold())
            found.append(Suggestion(id=raw["_id"], title=title))
    return found


@dataclass(frozen=True)
class Hit:
    id: str
    title: str
    office_code: str
    kip_category: str | None
    document_date: str | None
    status: str
    highlights: list[str]
    division_id: str | None = None
    document_type: str | None = None


@dataclass(frozen=True)
class Page:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    next_cursor: str | None


def _highlights(highlight: dict[str, list[str]]) -> list[str]:
    # The stemmed field's fragments where it matched, else the exact field's
    # (a typo or an exact-only word): the same text, never both.
    title = highlight.get("title") or highlight.get("title.std") or []
    text = highlight.get("text") or highlight.get("text.std") or []
    return [*title, *text]


def read_page(response: dict[str, Any], request: SearchRequest, *,
              facets: tuple[str, ...] = ()) -> Page:
    """Turn OpenSearch's answer into a page of hits, facets and the next cursor.

    Every facet named in `facets` is in the page, with no values if it has none.
    """
    found = response.get("hits", {})
    raw_hits = found.get("hits", [])
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
            division_id=source.get("division_id"), document_type=source.get("document_type"),
            highlights=_highlights(highlight)))
    counts: dict[str, dict[str, int]] = {name: {} for name in facets}
    for name, agg in response.get("aggregations", {}).items():
        counts[name] = {str(b["key"]): int(b["doc_count"])
                        for b in agg.get("values", agg).get("buckets", [])}
    next_cursor = None
    if raw_hits and len(raw_hits) == request.limit:
        next_cursor = encode_cursor(request.mode, raw_hits[-1]["sort"])
    return Page(total=int(found.get("total", {}).get("value", 0)), hits=hits, facets=counts,
                next_cursor=next_cursor)
