"""Ingest's HTTP models."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator

from dms_ingest.models import Document


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    refresh_token: str
    must_change_password: bool = False


class MeOut(BaseModel):
    id: uuid.UUID
    role: str
    office_code: str
    division_id: uuid.UUID | None
    permissions: list[str]


class OfficeOut(BaseModel):
    code: str
    name: str
    parent_code: str | None
    disabled: bool


class DivisionOut(BaseModel):
    id: uuid.UUID
    name: str
    valid_from: date
    valid_until: date | None


class UploadFields(BaseModel):
    """The non-file fields of an upload, checked after the stream."""

    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=5000)
    division_id: uuid.UUID | None = None
    document_date: date | None = None
    tags: list[str] = Field(default_factory=list, max_length=30)
    keep_both: bool = False

    @field_validator("title")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("judul wajib diisi")
        return value

    @classmethod
    def parse_form(cls, fields: dict[str, str]) -> UploadFields:
        raw: dict[str, object] = {k: v for k, v in fields.items() if v != ""}
        if "tags" in raw:
            raw["tags"] = [t.strip()[:50] for t in str(raw["tags"]).split(",") if t.strip()]
        if "keep_both" in raw:
            raw["keep_both"] = str(raw["keep_both"]).lower() in ("1", "true", "ya", "on")
        raw.setdefault("title", "")
        return cls.model_validate(raw)


class VersionOut(BaseModel):
    version: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime | None = None


class DocumentOut(BaseModel):
    id: uuid.UUID
    version: int
    status: str
    kip_category: str | None
    office_code: str
    division_id: uuid.UUID | None
    title: str
    description: str
    document_date: date | None
    tags: list[str]
    created_at: datetime | None
    versions: list[VersionOut] = Field(default_factory=list)

    @classmethod
    def build(cls, document: Document, versions: list[VersionOut]) -> DocumentOut:
        return cls(id=document.id, version=document.current_version, status=document.status,
                   kip_category=document.kip_category, office_code=document.office_code,
                   division_id=document.division_id, title=document.title,
                   description=document.description, document_date=document.document_date,
                   tags=list(document.tags or []), created_at=document.created_at,
                   versions=versions)


class DocumentList(BaseModel):
    items: list[DocumentOut]
    next_cursor: str | None


class UserIn(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-zA-Z0-9._-]+$")
    password: str = Field(min_length=10, max_length=256)
    full_name: str = Field(default="", max_length=200)
    role: str = Field(pattern=r"^(staff|office_admin|ppid|superadmin)$")
    office_code: str = Field(pattern=r"^\d{2,4}$")
    division_id: uuid.UUID | None = None
    permissions: list[str] = Field(default_factory=list, max_length=50)


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    full_name: str
    role: str
    office_code: str
    division_id: uuid.UUID | None
    permissions: list[str]
    disabled: bool
