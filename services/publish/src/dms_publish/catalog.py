"""The harvestable catalogue: DCAT-style JSON-LD and a CKAN-compatible subset.

CKAN clients take a base URL and append `/api/3/action/<name>`: with the base
`/api/v1/public/ckan` they find `package_search`, `package_show`, `package_list` and
`organization_list` here. Only published documents ever appear.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, or_, select

from dms_common.errors import ApiError
from dms_publish import service
from dms_publish.deps import Container, base_url
from dms_publish.models import Publication
from dms_publish.projection import PublicationState
from dms_publish.schemas import CATEGORY_LABELS, content_url

router = APIRouter(prefix="/api/v1/public", tags=["catalogue"])
CKAN = "/ckan/api/3/action"
LICENSE = "UU 14/2008 tentang Keterbukaan Informasi Publik"


def dataset(row: Publication, offices: dict[str, str], base: str) -> dict[str, Any]:
    """One publication as a DCAT dataset."""
    dip = row.dip or {}
    return {
        "@type": "dcat:Dataset",
        "@id": f"{base}/dokumen/{row.document_id}",
        "dct:identifier": str(row.document_id),
        "dct:title": row.title,
        "dct:description": dip.get("summary") or row.title,
        "dct:issued": row.published_at.isoformat() if row.published_at else None,
        "dct:modified": row.updated_at.isoformat() if row.updated_at else None,
        "dct:publisher": {"@type": "foaf:Organization",
                          "foaf:name": offices.get(row.office_code, row.office_code),
                          "dct:identifier": row.office_code},
        "dcat:theme": row.kip_category,
        "dcat:keyword": [CATEGORY_LABELS.get(row.kip_category or "", ""),
                         *([row.document_type] if row.document_type else [])],
        "dcat:landingPage": f"{base}/dokumen/{row.document_id}",
        "dct:accessRights": "public",
        "dcat:distribution": [{
            "@type": "dcat:Distribution",
            "dcat:downloadURL": base + content_url(row.document_id),
            "dcat:mediaType": row.content_type,
            "dct:title": row.filename or "dokumen",
            **({"dcat:byteSize": row.size} if row.size is not None else {}),
        }],
    }


@router.get("/catalog", summary="DCAT-style catalogue of published documents (JSON-LD)")
async def dcat_catalog(request: Request, container: Container,
                       limit: Annotated[int, Query(ge=1, le=100)] = 100,
                       cursor: Annotated[str | None, Query(max_length=300)] = None,
                       ) -> JSONResponse:
    base = base_url(request, container)
    async with container.core.uow() as uow:
        page = await service.list_publications(uow=uow, limit=limit, cursor=cursor)
        offices = await service.name_offices(uow=uow)
    body: dict[str, Any] = {
        "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
                     "foaf": "http://xmlns.com/foaf/0.1/"},
        "@type": "dcat:Catalog",
        "@id": f"{base}/api/v1/public/catalog",
        "dct:title": "Katalog Informasi Publik Bawaslu Provinsi Kalimantan Selatan",
        "dct:publisher": {"@type": "foaf:Organization",
                          "foaf:name": "Bawaslu Provinsi Kalimantan Selatan"},
        "dct:license": LICENSE,
        "dcat:dataset": [dataset(row, offices, base) for row in page.items],
    }
    if page.next_cursor:
        body["next"] = f"{base}/api/v1/public/catalog?limit={limit}&cursor={page.next_cursor}"
    return JSONResponse(body, media_type="application/ld+json")


def package(row: Publication, offices: dict[str, str], base: str) -> dict[str, Any]:
    """One publication as a CKAN package."""
    dip = row.dip or {}
    office = offices.get(row.office_code, row.office_code)
    return {
        "id": str(row.document_id), "name": str(row.document_id), "title": row.title,
        "notes": dip.get("summary") or "", "type": "dataset", "private": False,
        "state": "active", "license_title": LICENSE,
        "metadata_created": row.published_at.isoformat() if row.published_at else None,
        "metadata_modified": row.updated_at.isoformat() if row.updated_at else None,
        "url": f"{base}/dokumen/{row.document_id}",
        "organization": {"name": row.office_code, "title": office},
        "groups": [{"name": row.kip_category,
                    "title": CATEGORY_LABELS.get(row.kip_category or "", "")}],
        "tags": [{"name": t} for t in [row.kip_category, row.document_type] if t],
        "extras": [{"key": k, "value": str(v)} for k, v in dip.items() if v],
        "resources": [{
            "id": str(row.publication_id), "package_id": str(row.document_id),
            "name": row.filename or "dokumen", "url": base + content_url(row.document_id),
            "mimetype": row.content_type, "format": (row.filename or "").rsplit(".", 1)[-1]
            .upper() if row.filename and "." in row.filename else "",
            "size": row.size}],
    }


def _ckan(help_name: str, result: Any) -> dict[str, Any]:
    return {"help": f"/api/v1/public{CKAN}/{help_name}", "success": True, "result": result}


def _ckan_error(status: int, kind: str, message: str, help_name: str) -> JSONResponse:
    return JSONResponse({"help": f"/api/v1/public{CKAN}/{help_name}", "success": False,
                         "error": {"__type": kind, "message": message}}, status_code=status)


@router.get(CKAN + "/package_search", summary="CKAN package_search over published documents")
async def package_search(request: Request, container: Container,
                         q: Annotated[str, Query(max_length=200)] = "",
                         fq: Annotated[str, Query(max_length=200)] = "",
                         rows: Annotated[int, Query(ge=0, le=1000)] = 10,
                         start: Annotated[int, Query(ge=0, le=100_000)] = 0,
                         ) -> dict[str, Any]:
    base = base_url(request, container)
    stmt = select(Publication).where(Publication.state == PublicationState.PUBLISHED.value)
    for term in q.split():
        if term in ("*:*", "*"):
            continue
        like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Publication.title.ilike(like, escape="\\"),
                              Publication.dip["summary"].astext.ilike(like, escape="\\")))
    for clause in fq.split():
        field, _, value = clause.partition(":")
        value = value.strip('"')
        if field == "organization":
            stmt = stmt.where(Publication.office_code == value)
        elif field in ("groups", "tags"):
            stmt = stmt.where(or_(Publication.kip_category == value,
                                  Publication.document_type == value))
    async with container.core.uow() as uow:
        count = (await uow.session.execute(
            select(func.count()).select_from(stmt.subquery()))).scalar_one()
        found = (await uow.session.execute(
            stmt.order_by(Publication.published_at.desc(), Publication.document_id.desc())
            .offset(start).limit(rows))).scalars().all()
        offices = await service.name_offices(uow=uow)
    return _ckan("package_search", {"count": int(count), "sort": "metadata_created desc",
                                    "results": [package(r, offices, base) for r in found]})


@router.get(CKAN + "/package_show", summary="CKAN package_show of one published document",
            response_model=None)
async def package_show(request: Request, container: Container,
                       id: Annotated[str, Query(max_length=64)]) -> dict[str, Any] | JSONResponse:
    try:
        document_id = UUID(id)
    except ValueError:
        return _ckan_error(404, "Not Found Error", "Tidak ditemukan", "package_show")
    async with container.core.uow() as uow:
        try:
            row = await service.get_publication(uow=uow, document_id=document_id)
        except ApiError:
            return _ckan_error(404, "Not Found Error", "Tidak ditemukan", "package_show")
        offices = await service.name_offices(uow=uow)
    return _ckan("package_show", package(row, offices, base_url(request, container)))


@router.get(CKAN + "/package_list", summary="CKAN package_list (ids of published documents)")
async def package_list(container: Container,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
                       offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> dict[str, Any]:
    async with container.core.uow() as uow:
        ids = (await uow.session.execute(
            select(Publication.document_id)
            .where(Publication.state == PublicationState.PUBLISHED.value)
            .order_by(Publication.published_at.desc(), Publication.document_id.desc())
            .offset(offset).limit(limit))).scalars().all()
    return _ckan("package_list", [str(i) for i in ids])


@router.get(CKAN + "/organization_list", summary="CKAN organization_list (the offices)")
async def organization_list(container: Container) -> dict[str, Any]:
    async with container.core.uow() as uow:
        offices = await service.known_offices(uow=uow)
    return _ckan("organization_list", list(offices))
