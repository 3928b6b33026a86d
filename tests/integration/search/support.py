"""What the search integration tests share: the service wired to the real servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
from opensearchpy.exceptions import NotFoundError

from dms_common.bus.consumer import Handler
from dms_common.events import DocumentEvent
from dms_search.bootstrap import SearchApp
from dms_search.index import IndexKind
from dms_search.models import SearchDocument
from tests.support.isolation import Isolated
from tests.unit.search.events import (
    OFFICE,
    classified,
    extracted,
    published,
    received,
    text_key,
)

OTHER_OFFICE = "6371"
TEXT = "Berita acara rekapitulasi hasil pemilihan umum di Kabupaten Kotabaru tahun 2024."


@dataclass
class Env:
    iso: Isolated
    app: SearchApp
    handlers: dict[str, Handler]
    http: httpx.AsyncClient
    opensearch: Any
    keys: list[str]

    async def deliver(self, *events: DocumentEvent) -> None:
        """Run each event through its handler as the consumer does."""
        for event in events:
            async with self.app.core.uow() as uow:
                if await uow.claim_event(event.event_id, event.TOPIC.value):
                    await self.handlers[event.TOPIC.value](event, uow)

    async def put_text(self, doc: UUID, text: str, *, office: str = OFFICE) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield text.encode()
        key = text_key(doc, office)
        await self.app.core.store.put_stream(key, chunks(),
                                             content_type="text/plain; charset=utf-8")
        self.keys.append(key)

    async def refresh(self) -> None:
        await self.app.index.refresh()

    async def row(self, doc: UUID) -> SearchDocument | None:
        async with self.app.core.sessions() as session:
            found: SearchDocument | None = await session.get(SearchDocument, doc)
            return found

    def stored(self, kind: IndexKind, doc: UUID) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.opensearch.get(
                index=self.app.index.alias(kind), id=str(doc))
        except NotFoundError:
            return None
        return found

    async def public(self, **params: Any) -> dict[str, Any]:
        response = await self.http.get("/api/v1/search", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def internal(self, token: str, **params: Any) -> httpx.Response:
        return await self.http.get("/api/v1/search/internal", params=params,
                                   headers={"Authorization": f"Bearer {token}"})


async def publish_document(env: Env, doc: UUID, *, title: str = "Laporan hasil pemilihan",
                           office: str = OFFICE) -> None:
    await env.put_text(doc, TEXT, office=office)
    await env.deliver(received(doc, title=title, office=office), extracted(doc, office=office),
                      classified(doc, title=title, office=office), published(doc, 1, office=office))


def ids(results: dict[str, Any]) -> set[str]:
    return {hit["id"] for hit in results["hits"]}


