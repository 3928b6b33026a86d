"""The event contract between the services (DESIGN.md §4).

Every event is an envelope plus a typed payload. Envelopes of document events
carry the document id (the Kafka key), its version and `seq`, a per-document
counter the emitting service increments in the same transaction as the state
change, so that consumers can ignore stale events without trusting arrival
order. `identity.changed` is keyed by the entity id instead.

Schemas are snapshotted in tests (tests/unit/common/snapshots/), so a change to
this file is a visible diff. A breaking change bumps the event's
`SCHEMA_VERSION` and registers an upcaster from the previous version in
`UPCASTERS`; consumers keep accepting the previous version through it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Topic(StrEnum):
    RECEIVED = "dms.document.received"
    EXTRACTED = "dms.document.extracted"
    CLASSIFIED = "dms.document.classified"
    PUBLISHED = "dms.document.published"
    WITHDRAWN = "dms.document.withdrawn"
    RETRACTED = "dms.document.retracted"
    IDENTITY_CHANGED = "dms.identity.changed"

    @property
    def dlq(self) -> str:
        return dlq_topic(self.value)


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


DOCUMENT_TOPICS: tuple[Topic, ...] = (
    Topic.RECEIVED, Topic.EXTRACTED, Topic.CLASSIFIED, Topic.PUBLISHED, Topic.WITHDRAWN,
    Topic.RETRACTED,
)


class KipCategory(StrEnum):
    BERKALA = "berkala"
    SERTA_MERTA = "serta_merta"
    SETIAP_SAAT = "setiap_saat"
    DIKECUALIKAN = "dikecualikan"

    @property
    def is_public(self) -> bool:
        return self is not KipCategory.DIKECUALIKAN


class _Model(BaseModel):
    # A tolerant reader: a consumer still running the previous release must read events of
    # the next one that only added optional fields (a deploy restarts services one by one).
    # Anything else is a breaking change and bumps `schema_version`.
    model_config = ConfigDict(frozen=True, extra="ignore")


# --- payloads ---------------------------------------------------------------

class DocumentReceivedPayload(_Model):
    title: str
    description: str = ""
    division_id: UUID | None = None
    document_date: date | None = None
    tags: list[str] = Field(default_factory=list)
    filename: str
    content_type: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    object_key: str
    uploader_id: UUID


class FindingsSummary(_Model):
    """How many findings of each kind the extraction saw (e.g. {"nik": 2})."""

    counts: dict[str, int] = Field(default_factory=dict)


class DocumentExtractedPayload(_Model):
    ok: bool
    reason: str | None = None
    text_key: str | None = None
    text_length: int = 0
    pages: int | None = None
    language: str | None = None
    ocr_used: bool = False
    findings: FindingsSummary = Field(default_factory=FindingsSummary)


class DipFields(_Model):
    """The columns of the Daftar Informasi Publik (DESIGN.md §2)."""

    summary: str = ""
    holder_unit: str = ""
    responsible: str = ""
    created_place_time: str = ""
    available_forms: list[str] = Field(default_factory=list)
    retention: str = ""


class DocumentClassifiedPayload(_Model):
    decision_id: UUID
    kip_category: KipCategory
    document_type: str | None = None
    dip: DipFields | None = None
    legal_basis: str | None = None
    exempt_until: date | None = None
    exempt_public_description: str | None = None
    # The consequence test's answer to "what would disclosure cause" (a DIK column).
    exempt_consequence: str | None = None
    approval_state: Literal["not_required", "pending", "approved", "rejected"] = "not_required"
    redacted_object_key: str | None = None
    redacted_text_key: str | None = None
    title: str
    division_id: UUID | None = None
    document_date: date | None = None


class DocumentPublishedPayload(_Model):
    publication_id: UUID
    public_object_key: str


class DocumentWithdrawnPayload(_Model):
    publication_id: UUID | None = None
    public_object_key: str | None = None
    reason: str


class DocumentRetractedPayload(_Model):
    """An uploader took back a document before review; it is final for the document."""

    reason: str
    retracted_by: UUID
    retracted_at: datetime


class IdentityKind(StrEnum):
    USER = "user"
    OFFICE = "office"
    DIVISION = "division"


class IdentityChangedPayload(_Model):
    kind: IdentityKind
    # The entity's public fields: for a user username, full_name, role,
    # office_code, division_id, permissions; for an office code, name, parent;
    # for a division name, valid_from, valid_until.
    fields: dict[str, Any] = Field(default_factory=dict)
    disabled: bool = False


# --- envelopes --------------------------------------------------------------

class Event(_Model):
    """Fields every event carries."""

    TOPIC: ClassVar[Topic]
    SCHEMA_VERSION: ClassVar[int] = 1

    event_id: UUID = Field(default_factory=uuid4)
    event_type: str
    schema_version: int
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str = ""
    office_code: str
    seq: int = Field(default=0, ge=0)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def build(cls, **fields: Any) -> Any:
        """Create the event with its type and current schema version filled in."""
        return cls(event_type=cls.TOPIC.value, schema_version=cls.SCHEMA_VERSION, **fields)


class DocumentEvent(Event):
    document_id: UUID
    version: int = Field(ge=1)

    @property
    def key(self) -> str:
        return str(self.document_id)


class DocumentReceived(DocumentEvent):
    TOPIC = Topic.RECEIVED
    event_type: Literal["dms.document.received"]
    payload: DocumentReceivedPayload


class DocumentExtracted(DocumentEvent):
    TOPIC = Topic.EXTRACTED
    event_type: Literal["dms.document.extracted"]
    payload: DocumentExtractedPayload


class DocumentClassified(DocumentEvent):
    TOPIC = Topic.CLASSIFIED
    event_type: Literal["dms.document.classified"]
    payload: DocumentClassifiedPayload


class DocumentPublished(DocumentEvent):
    TOPIC = Topic.PUBLISHED
    event_type: Literal["dms.document.published"]
    payload: DocumentPublishedPayload


class DocumentWithdrawn(DocumentEvent):
    TOPIC = Topic.WITHDRAWN
    event_type: Literal["dms.document.withdrawn"]
    payload: DocumentWithdrawnPayload


class DocumentRetracted(DocumentEvent):
    # Emitted by ingest with the same per-document seq as `received`.
    TOPIC = Topic.RETRACTED
    event_type: Literal["dms.document.retracted"]
    payload: DocumentRetractedPayload


class IdentityChanged(Event):
    TOPIC = Topic.IDENTITY_CHANGED
    event_type: Literal["dms.identity.changed"]
    entity_id: UUID
    payload: IdentityChangedPayload

    @property
    def key(self) -> str:
        return str(self.entity_id)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TOPIC.value: cls
    for cls in (DocumentReceived, DocumentExtracted, DocumentClassified, DocumentPublished,
                DocumentWithdrawn, DocumentRetracted, IdentityChanged)
}

# (event_type, old schema_version) -> function turning that raw dict into the
# next version's shape. Chained until the current version is reached.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class UnknownEvent(ValueError):
    """The bytes are not an event this version of DMS understands."""


def parse_event(raw: bytes | str | dict[str, Any]) -> Event:
    """Decode an event, upcasting an older schema version to the current one."""
    try:
        data = json.loads(raw) if isinstance(raw, bytes | str) else dict(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UnknownEvent(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise UnknownEvent("an event must be a JSON object")
    event_type = data.get("event_type")
    cls = EVENT_TYPES.get(str(event_type))
    if cls is None:
        raise UnknownEvent(f"unknown event_type {event_type!r}")
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise UnknownEvent("schema_version missing")
    while version < cls.SCHEMA_VERSION:
        upcaster = UPCASTERS.get((cls.TOPIC.value, version))
        if upcaster is None:
            raise UnknownEvent(f"no upcaster for {event_type} v{version}")
        data = upcaster(data)
        version += 1
        data["schema_version"] = version
    if version > cls.SCHEMA_VERSION:
        raise UnknownEvent(
            f"{event_type} v{version} is newer than this service (v{cls.SCHEMA_VERSION})")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise UnknownEvent(f"invalid {event_type}: {exc}") from exc


def event_json_schemas() -> dict[str, dict[str, Any]]:
    """Each event's JSON schema, keyed by event type (snapshotted in tests)."""
    return {name: cls.model_json_schema() for name, cls in sorted(EVENT_TYPES.items())}
