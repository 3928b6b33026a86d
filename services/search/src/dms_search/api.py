"""The search API: public search over published documents, staff search within their scope."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, BeforeValidator, Field, StringConstraints
from pydantic_core import to_json

from dms_common.errors import ApiError
from dms_common.events import KipCategory
from dms_common.identity.deps import require_role
from dms_common.identity.tokens import Principal, Role
from dms_common.web import container_dependency
from dms_search import service
from dms_search.bootstrap import SearchApp
from dms_search.index import SearchUnavailable
from dms_search.query import InvalidCursor, Page, SearchRequest, decode_cursor
from dms_search.schemas import (
    InternalSearchResults,
    SearchResults,
    Suggestions,
    results_payload,
    suggestions_payload,
)

router = APIRouter(prefix="/api/v1/search", tags=["search"])


get_container = container_dependency(SearchApp)


def _blank_is_none(value: Any) -> Any:
    # An HTML form sends an unselected choice as an empty value: the same as absent.
    return None if value == "" else value


BlankIsNone = BeforeValidator(_blank_is_none)
OfficeCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
DocumentType = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Sort = Literal["relevance", "newest", "oldest"]


class SearchQuery(BaseModel):
    """The query string every search route reads (one model: validated in one step)."""

    q: str = Field("", max_length=200, description="Kata yang dicari; kosong: terbaru")
    office: Annotated[OfficeCode | None, BlankIsNone] = Field(None, description="Kode kantor")
    category: Annotated[KipCategory | None, BlankIsNone] = Field(
        None, description="Kategori informasi")
    division: Annotated[UUID | None, BlankIsNone] = Field(None, description="ID divisi")
    year: Annotated[int | None, BlankIsNone] = Field(None, ge=1900, le=2999,
                                                     description="Tahun dokumen")
    document_type: Annotated[DocumentType | None, BlankIsNone] = Field(
        None, alias="type", description="Jenis dokumen")
    sort: Annotated[Sort | None, BlankIsNone] = Field(
        "relevance", description="relevance (default), newest, oldest")
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=512)


async def search_request(query: Annotated[SearchQuery, Query()]) -> SearchRequest:
    """Read and check the search parameters shared by every search route.

    Words in double quotes must appear as that exact phrase.
    """
    request = SearchRequest(
        q=query.q, office=query.office,
        category=query.category.value if query.category else None,
        division=str(query.division) if query.division else None, year=query.year,
        type=query.document_type, sort=query.sort or "relevance", limit=query.limit,
        cursor=query.cursor or None)
    if request.cursor:
        try:
            decode_cursor(request.cursor, request.mode)
        except InvalidCursor:
            raise ApiError(422, "invalid_cursor", "Penanda halaman tidak valid.") from None
    return request


Container = Annotated[SearchApp, Depends(get_container)]
SearchParams = Annotated[SearchRequest, Depends(search_request)]
Staff = Annotated[Principal, Depends(require_role(Role.STAFF, Role.OFFICE_ADMIN, Role.PPID))]

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "The search engine does not answer"}}


def json_answer(payload: Any) -> Response:
    """Encode an answer built as plain data (see dms_search.schemas) once, in one step."""
    return Response(to_json(payload), media_type="application/json")


def unavailable() -> ApiError:
    return ApiError(503, "search_unavailable",
                    "Layanan pencarian sedang tidak tersedia. Silakan coba lagi nanti.")


async def find_published(container: SearchApp, params: SearchRequest) -> Page:
    """Search the public index, answering 503 when OpenSearch cannot."""
    try:
        return await service.search_public(index=container.index, request=params)
    except SearchUnavailable:
        raise unavailable() from None


@router.get("", response_model=SearchResults, summary="Search the published documents",
            responses=UNAVAILABLE)
async def search_published(container: Container, params: SearchParams) -> Response:
    return json_answer(results_payload(await find_published(container, params)))


@router.get("/internal", response_model=InternalSearchResults,
            summary="Search every document of the offices the user may read",
            responses={401: {"description": "Not signed in"},
                       403: {"description": "The role reads no documents"}, **UNAVAILABLE})
async def search_internal(user: Staff, container: Container,
                          params: SearchParams) -> Response:
    try:
        page = await service.search_internal(index=container.index, request=params, actor=user)
    except service.NotAllowed:
        raise ApiError.forbidden() from None
    except SearchUnavailable:
        raise unavailable() from None
    return json_answer(results_payload(page, internal=True))


SuggestPrefix = Annotated[str, Query(min_length=1, max_length=100,
                                     description="Awal judul yang sedang diketik")]
SuggestLimit = Annotated[int, Query(ge=1, le=20)]


@router.get("/suggest", response_model=Suggestions,
            summary="Suggest published titles as the user types", responses=UNAVAILABLE)
async def suggest_published(container: Container, q: SuggestPrefix,
                            limit: SuggestLimit = 8) -> Response:
    try:
        found = await service.suggest_public(index=container.index, prefix=q, limit=limit)
    except SearchUnavailable:
        raise unavailable() from None
    return json_answer(suggestions_payload(found))


@router.get("/internal/suggest", response_model=Suggestions,
            summary="Suggest titles of the documents the user may read",
            responses={401: {"description": "Not signed in"},
                       403: {"description": "The role reads no documents"}, **UNAVAILABLE})
async def suggest_internal(user: Staff, container: Container, q: SuggestPrefix,
                           limit: SuggestLimit = 8) -> Response:
    try:
        found = await service.suggest_internal(index=container.index, prefix=q, limit=limit,
                                               actor=user)
    except service.NotAllowed:
        raise ApiError.forbidden() from None
    except SearchUnavailable:
        raise unavailable() from None
    return json_answer(suggestions_payload(found))
