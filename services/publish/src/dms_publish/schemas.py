"""HTTP models of the public API."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, Field, HttpUrl

from dms_common.events import DipFields, KipCategory
from dms_publish.downloads import safe_filename
from dms_publish.models import Publication


class PublicCategory(StrEnum):
    """The KIP categories the public can see (never `dikecualikan`)."""

    BERKALA = KipCategory.BERKALA.value
    SERTA_MERTA = KipCategory.SERTA_MERTA.value
    SETIAP_SAAT = KipCategory.SETIAP_SAAT.value


CATEGORY_LABELS: dict[str, str] = {
    KipCategory.BERKALA.value: "Informasi Berkala",
    KipCategory.SERTA_MERTA.value: "Informasi Serta Merta",
    KipCategory.SETIAP_SAAT.value: "Informasi Setiap Saat",
}


class WebhookEvent(StrEnum):
    PUBLISHED = "dms.document.published"
    WITHDRAWN = "dms.document.withdrawn"


class PublicDocumentSummary(BaseModel):
    id: UUID
    office_code: str
    office_name: str | None = None
    title: str
    kip_category: PublicCategory
    document_type: str | None = None
    division_id: UUID | None = None
    document_date: date | None
    published_at: datetime
    version: int

    @classmethod
    def from_row(cls, row: Publication, offices: dict[str, str]) -> PublicDocumentSummary:
        return cls.model_validate(_summary_fields(row, offices))


class PublicDocument(PublicDocumentSummary):
    publication_id: UUID
    dip: DipFields | None
    filename: str | None
    size: int | None = None
    content_url: str
    preview_url: str

    @classmethod
    def from_row(cls, row: Publication, offices: dict[str, str]) -> PublicDocument:
        return cls.model_validate({
            **_summary_fields(row, offices),
            "publication_id": row.publication_id,
            "dip": DipFields.model_validate(row.dip) if row.dip is not None else None,
            "filename": safe_filename(row.filename) if row.filename else None,
            "content_url": content_url(row.document_id), "size": row.size,
            "preview_url": f"/api/v1/public/documents/{row.document_id}/preview"})


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
        "document_type": row.document_type, "division_id": row.division_id,
        "published_at": row.published_at, "version": row.version,
    }


class Preview(BaseModel):
    """What the document page can show in place: page images, a table, or nothing."""

    kind: str  # pages | table | none
    pages: list[str] = []
    columns: list[str] = []
    rows: list[list[str | float | int | None]] = []
    truncated: bool = False


class Statistics(BaseModel):
    total: int
    by_office: dict[str, int]
    by_category: dict[str, int]
    by_division: dict[str, int]
    by_month: dict[str, int]
    by_office_month: dict[str, dict[str, int]]
    office_names: dict[str, str]
    division_names: dict[str, str]


class WebhookCreate(BaseModel):
    url: HttpUrl
    events: list[WebhookEvent] = Field(min_length=1)
    office_code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,16}$")
    description: str = Field(default="", max_length=500)


class WebhookOut(BaseModel):
    id: UUID
    url: str
    events: list[str]
    office_code: str | None
    description: str
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    # Shown once: the subscriber verifies X-DMS-Signature with it.
    secret: str


class WebhookDeliveryOut(BaseModel):
    id: int
    event_id: UUID
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
