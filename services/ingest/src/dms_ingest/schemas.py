"""Ingest's HTTP models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from dms_ingest.models import Document


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    refresh_token: str
    must_change_password: bool = False


class MeOut(BaseModel):
    id: uuid.UUID
    username: str
    full_name: str
    role: str
    office_code: str
    division_id: uuid.UUID | None
    permissions: list[str]
    must_change_password: bool


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class PasswordChangeIn(BaseModel):
    old_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class PasswordResetOut(BaseModel):
    temporary_password: str
    must_change_password: bool = True


class OfficeOut(BaseModel):
    code: str
    name: str
    parent_code: str | None
    disabled: bool


class OfficeIn(BaseModel):
    code: str = Field(pattern=r"^\d{2,4}$")
    name: str = Field(min_length=3, max_length=200)
    parent_code: str | None = Field(default=None, pattern=r"^\d{2,4}$")


class OfficeUpdate(BaseModel):
    """Fields to change; send `parent_code: null` to make it a top-level office."""

    name: str | None = Field(default=None, min_length=3, max_length=200)
    parent_code: str | None = Field(default=None, pattern=r"^\d{2,4}$")
    disabled: bool | None = None


class DivisionOut(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    valid_from: date
    valid_until: date | None


class DivisionIn(BaseModel):
    slug: str = Field(min_length=2, max_length=80, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    name: str = Field(min_length=3, max_length=200)
    valid_from: date
    valid_until: date | None = None


class DivisionUpdate(BaseModel):
    """Fields to change; send `valid_until: null` to make the division open-ended."""

    name: str | None = Field(default=None, min_length=3, max_length=200)
    valid_from: date | None = None
    valid_until: date | None = None


class UserUpdate(BaseModel):
    """Fields to change; send `division_id: null` to clear the division."""

    full_name: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, pattern=r"^(staff|office_admin|ppid|superadmin)$")
    office_code: str | None = Field(default=None, pattern=r"^\d{2,4}$")
    division_id: uuid.UUID | None = None
    permissions: list[str] | None = Field(default=None, max_length=50)
    disabled: bool | None = None


class AuditEntryOut(BaseModel):
    id: int
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor_role: str | None
    office_code: str | None
    action: str
    subject_type: str
    subject_id: str | None
    reason: str | None
    detail: dict[str, Any]
    client_ip: str | None
    correlation_id: str | None


class AuditList(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


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


class HistoryEntry(BaseModel):
    occurred_at: datetime
    action: str
    actor_id: uuid.UUID | None
    actor_role: str | None
    reason: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class RetractIn(BaseModel):
    reason: str = Field(default="", max_length=1000)


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
    uploader_id: uuid.UUID | None = None
    retracted_at: datetime | None = None
    versions: list[VersionOut] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)

    @classmethod
    def build(cls, document: Document, versions: list[VersionOut],
              history: list[HistoryEntry] | None = None) -> DocumentOut:
        return cls(id=document.id, version=document.current_version, status=document.status,
                   kip_category=document.kip_category, office_code=document.office_code,
                   division_id=document.division_id, title=document.title,
                   description=document.description, document_date=document.document_date,
                   tags=list(document.tags or []), created_at=document.created_at,
                   uploader_id=document.uploader_id, retracted_at=document.retracted_at,
                   versions=versions, history=history or [])


class DocumentList(BaseModel):
    items: list[DocumentOut]
    next_cursor: str | None


class UserIn(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-zA-Z0-9._-]+$")
    # The password policy (identity_service.password_problem) explains what it refuses.
    password: str = Field(min_length=1, max_length=256)
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
    must_change_password: bool = False
    created_at: datetime | None = None


class UserList(BaseModel):
    items: list[UserOut]
    next_cursor: str | None
