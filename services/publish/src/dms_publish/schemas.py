"""HTTP models of the public API."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel

from dms_common.events import DipFields, KipCategory
from dms_publish.downloads import safe_filename
from dms_publish.models import Publication


class PublicCategory(StrEnum):
    """The KIP categories the public can see (never `dikecualikan`)."""

    BERKALA = KipCategory.BERKALA.value
    SERTA_MERTA = KipCategory.SERTA_MERTA.value
    SETIAP_SAAT = KipCategory.SETIAP_SAAT.value


class PublicDocumentSummary(BaseModel):
    id: UUID
    office_code: str
    office_name: str | None = None
    title: str
    kip_category: PublicCategory
    document_date: date | None
    published_at: datetime
    version: int

    @classmethod
    def from_row(cls, row: Publication, offices: dict[str, str]) -> PublicDocumentSummary:
        return cls.model_validate(_summary_fields(row, offices))


class PublicDocument(PublicDocumentSummary):
    division_id: UUID | None
    publication_id: UUID
    dip: DipFields | None
    filename: str | None
    content_url: str

    @classmethod
    def from_row(cls, row: Publication, offices: dict[str, str]) -> PublicDocument:
        return cls.model_validate({
            **_summary_fields(row, offices), "division_id": row.division_id,
            "publication_id": row.publication_id,
            "dip": DipFields.model_validate(row.dip) if row.dip is not None else None,
            "filename": safe_filename(row.filename) if row.filename else None,
            "content_url": content_url(row.document_id)})


class PublicDocumentList(BaseModel):
    items: list[PublicDocumentSummary]
    next_cursor: str | None


def content_url(document_id: UUID) -> str:
    return f"/api/v1/public/documents/{document_id}/content"


def _summary_fields(row: Publication, offices: dict[str, str]) -> dict[str, object]:
    return {
        "id": row.document_id, "office_code": row.office_code,
        "office_name": offices.get(row.office_code), "title": row.title,
        "kip_category": row.kip_category, "document_date": row.document_date,
        "published_at": row.published_at, "version": row.version,
    }
