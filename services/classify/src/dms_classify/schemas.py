"""HTTP models of the review API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dms_common.events import DipFields, KipCategory

_Form = Annotated[str, StringConstraints(min_length=1, max_length=200)]

class DipIn(BaseModel):
    """The DIP columns of a public decision (DESIGN.md §2)."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(default="", max_length=2000, description="Ringkasan isi informasi")
    holder_unit: str = Field(default="", max_length=500,
                             description="Pejabat/unit yang menguasai informasi")
    responsible: str = Field(default="", max_length=500,
                             description="Penanggung jawab pembuatan/penerbitan")
    created_place_time: str = Field(default="", max_length=500,
                                    description="Waktu dan tempat pembuatan")
    available_forms: list[_Form] = Field(default_factory=list, max_length=10,
                                         description="Bentuk informasi yang tersedia")
    retention: str = Field(default="", max_length=500, description="Jangka waktu penyimpanan")

    def to_fields(self) -> DipFields:
        return DipFields(**self.model_dump())


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kip_category: KipCategory
    document_type: str | None = Field(default=None, max_length=200)
    dip: DipIn | None = None
    reason: str | None = Field(default=None, max_length=2000)
    version: int | None = Field(
        default=None, ge=1,
        description="The version the decision is about; refused with 409 once superseded")


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    decision_id: UUID
    document_id: UUID
    version: int
    kip_category: KipCategory
    document_type: str | None
    dip: dict[str, Any] | None
    reason: str | None
    decided_by: UUID
    decided_at: datetime


class QueueItem(BaseModel):
    id: UUID
    title: str
    office_code: str
    status: str
    received_at: datetime
    version: int


class QueuePageOut(BaseModel):
    items: list[QueueItem]
    next_cursor: str | None


class ReviewDocumentOut(BaseModel):
    id: UUID
    version: int
    office_code: str
    title: str
    description: str
    division_id: UUID | None
    document_date: date | None
    filename: str
    content_type: str
    size: int
    status: str
    received_at: datetime
    pages: int | None
    language: str | None
    text_length: int
    extraction_reason: str | None
    text_excerpt: str | None
    decision: DecisionOut | None
