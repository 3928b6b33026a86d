"""HTTP models of the search API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from dms_search.query import Page, Suggestion


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

    @classmethod
    def of(cls, page: Page) -> SearchResults:
        return cls(total=page.total, facets=page.facets, next_cursor=page.next_cursor,
                   hits=[SearchHit(id=h.id, title=h.title, office_code=h.office_code,
                                   kip_category=h.kip_category, document_date=h.document_date,
                                   division_id=h.division_id, document_type=h.document_type,
                                   highlights=h.highlights) for h in page.hits])


class InternalSearchResults(SearchResults):
    hits: list[InternalSearchHit]  # type: ignore[assignment]

    @classmethod
    def of(cls, page: Page) -> InternalSearchResults:
        return cls(total=page.total, facets=page.facets, next_cursor=page.next_cursor,
                   hits=[InternalSearchHit(id=h.id, title=h.title, office_code=h.office_code,
                                           kip_category=h.kip_category,
                                           document_date=h.document_date, status=h.status,
                                           division_id=h.division_id,
                                           document_type=h.document_type,
                                           highlights=h.highlights) for h in page.hits])


class SuggestedTitle(BaseModel):
    id: str
    title: str


class Suggestions(BaseModel):
    suggestions: list[SuggestedTitle]

    @classmethod
    def of(cls, found: list[Suggestion]) -> Suggestions:
        return cls(suggestions=[SuggestedTitle(id=s.id, title=s.title) for s in found])
