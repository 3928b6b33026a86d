"""The `env` fixture: the search service in-process on isolated namespaces of the real servers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from opensearchpy import OpenSearch

from dms_search.bootstrap import bootstrap
from dms_search.handlers import build_handlers
from dms_search.main import create_app
from dms_search.settings import SearchSettings
from tests.integration.search.support import Env
from tests.support.isolation import isolated
from tests.support.servers import Endpoints


@pytest.fixture
async def env(servers: Endpoints) -> AsyncIterator[Env]:
    async with isolated(servers) as iso:
        app = await bootstrap(iso.settings(SearchSettings))
        client = OpenSearch(hosts=[servers.opensearch_url], timeout=30)
        keys: list[str] = []
        try:
            transport = httpx.ASGITransport(app=create_app(container=app))
            async with httpx.AsyncClient(transport=transport, base_url="http://search") as http:
                yield Env(iso, app, build_handlers(app), http, client, keys)
        finally:
            for key in keys:
                await app.core.store.delete(key)
            client.close()
            await app.close()


