"""HTTP models of the review API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
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


class LegalBasisIn(BaseModel):
    """Pasal 17 a–j UU 14/2008, Pasal 18(2) a–c Perbawaslu 10/2019 jo. 1/2022, or a statute."""

    model_config = ConfigDict(extra="forbid")

    instrument: Literal["uu14_pasal17", "perbawaslu_pasal18", "other"]
    letter: str | None = Field(default=None, max_length=2, description="Huruf (a–j / a–c)")
    citation: str | None = Field(default=None, max_length=1000,
                                 description="For `other`: the statute cited in full")


class ConsequenceTestIn(BaseModel):
    """The uji konsekuensi record of an exemption (DESIGN.md §2).

    Fields default to empty so that the API can name every missing one in a single answer.
    """

    model_config = ConfigDict(extra="forbid")

    exempt_information: str = Field(
        default="", max_length=2000,
        description="Public description of the exempt information (shown in the DIK; never the "
                    "title or a name)")
    legal_basis: LegalBasisIn | Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        default=None, description="Structured, or as text: \"UU 14/2008 Pasal 17 huruf h\", "
        "\"Perbawaslu 10/2019 jo. 1/2022 Pasal 18 ayat (2) huruf b\", or another statute "
        "cited in full")
    consequence: str = Field(default="", max_length=4000,
                             description="Konsekuensi apabila informasi dibuka")
    public_interest: str = Field(default="", max_length=4000,
                                 description="Pertimbangan kepentingan publik")
    exempt_until: date | None = Field(default=None, description="Required under Pasal 17 a–f")
    indefinite_reason: str | None = Field(
        default=None, max_length=2000, description="Why an exemption has no end date (g–j)")
    place: str = Field(default="", max_length=200, description="Tempat penetapan")


class PassageIn(BaseModel):
    """A passage to black out: a range of the extracted text, or a box on a page."""

    model_config = ConfigDict(extra="forbid")

    start: int | None = Field(default=None, ge=0)
    end: int | None = Field(default=None, ge=1)
    page: int | None = Field(default=None, ge=1, description="Page number (boxes)")
    box: tuple[float, float, float, float] | None = Field(
        default=None, description="x0, y0, x1, y1 in PDF points from the bottom-left corner")
    legal_basis: str = Field(min_length=1, max_length=300)


class RedactionIn(BaseModel):
    """Which findings to black out and which passages besides them, each with its basis."""

    model_config = ConfigDict(extra="forbid")

    findings: list[int] = Field(default_factory=list, max_length=1000,
                                description="Indexes into the document's findings")
    findings_legal_basis: str = Field(default="UU 14/2008 Pasal 17 huruf h", max_length=300)
    passages: list[PassageIn] = Field(default_factory=list, max_length=1000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kip_category: KipCategory
    document_type: str | None = Field(default=None, max_length=200)
    dip: DipIn | None = None
    consequence_test: ConsequenceTestIn | None = None
    redaction: RedactionIn | None = Field(
        default=None, description="Publish a redacted copy (public categories)")
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
    legal_basis: str | None = None
    consequence_test: dict[str, Any] | None = None
    exempt_until: date | None = None
    approval_state: str = "not_required"
    approved_by: UUID | None = None
    approved_at: datetime | None = None
    approval_note: str | None = None
    redacted_object_key: str | None = None
    redacted_text_key: str | None = None
    decided_by: UUID
    decided_role: str | None = None
    decided_at: datetime


class QueueItem(BaseModel):
    id: UUID
    title: str
    office_code: str
    status: str
    received_at: datetime
    version: int
    flag: str | None = None
    suggested_category: str | None = None
    findings: int = 0


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
    ocr_used: bool = False
    text_excerpt: str | None
    findings: list[dict[str, Any]] = Field(default_factory=list)
    suggestion: dict[str, Any] | None = None
    previews: list[str] = Field(default_factory=list,
                                description="Preview image URLs of the original's first pages")
    flag: str | None = None
    decision: DecisionOut | None


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    note: str | None = Field(default=None, max_length=2000)


class ExemptionOut(BaseModel):
    decision_id: UUID
    document_id: UUID
    office_code: str
    title: str
    legal_basis: str | None
    exempt_until: date | None
    approval_state: str
    decided_at: datetime


class OfficeSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exemption_requires_approval: bool


class OfficeSettingsOut(BaseModel):
    office_code: str
    exemption_requires_approval: bool
