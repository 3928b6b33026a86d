"""The classify service in-process over the real servers, in an isolated namespace."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from dms_classify.bootstrap import ClassifyApp, bootstrap
from dms_classify.handlers import build_handlers
from dms_classify.models import ReviewDocument
from dms_classify.settings import ClassifySettings
from dms_common.bus.consumer import Handler
from dms_common.db.uow import runtime_role
from dms_common.events import (
    DocumentReceived,
    DocumentReceivedPayload,
    Event,
    Topic,
    parse_event,
)
from dms_common.storage import original_key
from tests.support.isolation import Isolated, isolated
from tests.support.servers import Endpoints


@dataclass
class Classify:
    iso: Isolated
    app: ClassifyApp
    handlers: dict[str, Handler]
    keys: list[str] = field(default_factory=list)

    async def put_original(self, office: str, document_id: uuid.UUID, version: int, data: bytes,
                           content_type: str) -> str:
        key = original_key(office, document_id, version)

        async def one(chunk: bytes) -> AsyncIterator[bytes]:
            yield chunk

        await self.app.core.store.put_stream(key, one(data), content_type=content_type)
        self.keys.append(key)
        return key

    async def read_object(self, key: str) -> bytes:
        self.keys.append(key)
        async with await self.app.core.store.open(key) as reader:
            return b"".join([chunk async for chunk in reader.iterate()])

    async def deliver(self, event: Event) -> bool:
        """Apply an event as the consumer loop does: claim its id, then handle it."""
        async with self.app.core.uow() as uow:
            if not await uow.claim_event(event.event_id, event.TOPIC.value):
                return False
            await self.handlers[event.TOPIC.value](event, uow)
        return True

    async def row(self, document_id: uuid.UUID) -> ReviewDocument:
        async with self.app.core.sessions() as session:
            found = await session.get(ReviewDocument, document_id)
        assert found is not None
        return found

    async def outbox(self) -> list[Event]:
        table = self.app.core.tables.outbox
        async with self.app.core.sessions() as session:
            values = (await session.execute(select(table.c.value).order_by(table.c.id))).scalars()
            return [parse_event(value) for value in values]

    async def audit(self, action: str) -> list[dict[str, object]]:
        table = self.app.core.tables.audit_log
        async with self.app.core.sessions() as session:
            rows = (await session.execute(select(table).where(table.c.action == action))).all()
        return [dict(row._mapping) for row in rows]


def received(document_id: uuid.UUID, *, office: str, key: str, content_type: str, size: int,
             version: int = 1, seq: int = 1, title: str = "Laporan pengawasan kampanye",
             ) -> DocumentReceived:
    event: DocumentReceived = DocumentReceived.build(
        document_id=document_id, version=version, office_code=office, seq=seq,
        payload=DocumentReceivedPayload(
            title=title, description="Hasil pengawasan", division_id=uuid.uuid4(),
            document_date=date(2024, 11, 27), tags=["pilkada"], filename="laporan.pdf",
            content_type=content_type, size=size, sha256="a" * 64, object_key=key,
            uploader_id=uuid.uuid4()))
    return event


def of_type(events: Iterable[Event], topic: Topic) -> list[Event]:
    return [event for event in events if event.TOPIC is topic]


async def _drop_schema(servers: Endpoints, schema: str) -> None:
    engine = create_async_engine(servers.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await conn.execute(text(f'DROP ROLE IF EXISTS "{runtime_role(schema)}"'))
    finally:
        await engine.dispose()


@pytest.fixture
async def classify(servers: Endpoints) -> AsyncIterator[Classify]:
    async with isolated(servers) as iso:
        app = await bootstrap(iso.settings(ClassifySettings))
        env = Classify(iso=iso, app=app, handlers=build_handlers(app))
        try:
            yield env
        finally:
            for key in set(env.keys):
                await app.core.store.delete(key)
            schema = app.core.schema
            await app.close()
            await _drop_schema(servers, schema)
