"""HTTP models of the search API.

The models describe the answers (OpenAPI, clients, tests). The search routes
build the same shape as plain data (`results_payload`, `suggestions_payload`)
and encode it once: a page of hits is not validated again on its way out.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from dms_search.query import Hit, Page, Suggestion


class SearchHit(BaseModel):
    id: str
    title: str
    office_code: str
    kip_category: str | None
    document_date: str | None
    division_id: str | None = None
    document_type: str | None = None
    highlights: list[str] = Field(
        description="Escaped text fragments; matches are wrapped in <mark>…</mark>")


class InternalSearchHit(SearchHit):
    status: str


class SearchResults(BaseModel):
    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = Field(
        description="For each facet field, the number of hits per value")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class InternalSearchResults(SearchResults):
    hits: list[InternalSearchHit]  # type: ignore[assignment]


class SuggestedTitle(BaseModel):
    id: str
    title: str


class Suggestions(BaseModel):
    suggestions: list[SuggestedTitle]


def _hit(hit: Hit, *, internal: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": hit.id, "title": hit.title, "office_code": hit.office_code,
        "kip_category": hit.kip_category, "document_date": hit.document_date,
        "division_id": hit.division_id, "document_type": hit.document_type,
        "highlights": hit.highlights}
    if internal:
        fields["status"] = hit.status
    return fields


def results_payload(page: Page, *, internal: bool = False) -> dict[str, Any]:
    """A page as SearchResults (or InternalSearchResults, with each hit's status)."""
    return {"total": page.total,
            "hits": [_hit(hit, internal=internal) for hit in page.hits],
            "facets": page.facets, "next_cursor": page.next_cursor}


def suggestions_payload(found: list[Suggestion]) -> dict[str, Any]:
    """Suggested titles as Suggestions."""
    return {"suggestions": [{"id": s.id, "title": s.title} for s in found]}
