"""Shared pieces of the publish integration tests: the in-process service and event builders."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import select

from dms_common.events import (
    DipFields,
    DocumentClassified,
    DocumentClassifiedPayload,
    DocumentReceived,
    DocumentReceivedPayload,
    Event,
    KipCategory,
    parse_event,
)
from dms_common.storage import original_key
from dms_publish.bootstrap import PublishApp
from dms_publish.handlers import HANDLERS
from dms_publish.models import Publication
from tests.support.isolation import Isolated

OFFICE = "6302"
OFFICE_NAME = "Bawaslu Kabupaten Kotabaru"
TITLE = 'Laporan <script>alert("x")</script> & Rekap Pengawasan'


@dataclass
class Env:
    iso: Isolated
    app: PublishApp
    http: httpx.AsyncClient
    keys: list[str] = field(default_factory=list)

    async def put(self, key: str, data: bytes, content_type: str = "application/pdf") -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), 64 * 1024):
                yield data[start:start + 64 * 1024]
        await self.app.core.store.put_stream(key, chunks(), content_type=content_type)
        self.keys.append(key)

    async def deliver(self, *events: Event) -> None:
        """Apply events as the consumer does: claim each id, then run its handler."""
        for event in events:
            async with self.app.core.uow() as uow:
                if await uow.claim_event(event.event_id, event.TOPIC.value):
                    await HANDLERS[event.TOPIC.value](event, uow)

    async def apply_unclaimed(self, *events: Event) -> None:
        """Run the handlers without the processed-events guard (a redelivery with a new id)."""
        for event in events:
            async with self.app.core.uow() as uow:
                await HANDLERS[event.TOPIC.value](event, uow)

    async def row(self, document_id: UUID) -> Publication:
        async with self.app.core.sessions() as session:
            return (await session.execute(
                select(Publication).where(Publication.document_id == document_id))).scalar_one()

    async def outbox(self, document_id: UUID) -> list[Event]:
        table = self.app.core.tables.outbox
        async with self.app.core.sessions() as session:
            values = (await session.execute(
                select(table.c.value).where(table.c.key == str(document_id))
                .order_by(table.c.id))).scalars()
            return [parse_event(value) for value in values]


def received(doc: UUID, *, seq: int = 1, version: int = 1, title: str = TITLE,
             office: str = OFFICE, filename: str = "laporan pengawasan.pdf",
             content_type: str = "application/pdf") -> DocumentReceived:
    event: DocumentReceived = DocumentReceived.build(
        document_id=doc, version=version, office_code=office, seq=seq,
        payload=DocumentReceivedPayload(
            title=title, filename=filename, content_type=content_type, size=1,
            sha256="0" * 64, object_key=original_key(office, doc, version),
            uploader_id=uuid.uuid4()))
    return event


def classified(doc: UUID, category: KipCategory, *, seq: int, version: int = 1,
               title: str = TITLE, office: str = OFFICE) -> DocumentClassified:
    public = category.is_public
    event: DocumentClassified = DocumentClassified.build(
        document_id=doc, version=version, office_code=office, seq=seq,
        payload=DocumentClassifiedPayload(
            decision_id=uuid.uuid4(), kip_category=category, title=title,
            dip=DipFields(summary="Hasil pengawasan tahapan kampanye",
                          holder_unit="Divisi Pencegahan", responsible="Ketua Bawaslu",
                          created_place_time="Kotabaru, Maret 2025",
                          available_forms=["softcopy", "hardcopy"],
                          retention="5 tahun") if public else None,
            legal_basis=None if public else "Pasal 17 huruf j",
            approval_state="not_required" if public else "approved"))
    return event


def ids(items: Iterable[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


