"""The publish service bootstrapped in-process on an isolated copy of the real servers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from dms_common.events import IdentityChanged, IdentityChangedPayload, IdentityKind
from dms_publish.bootstrap import bootstrap
from dms_publish.main import create_app
from dms_publish.settings import PublishSettings
from tests.integration.publish.helpers import OFFICE, OFFICE_NAME, Env
from tests.support.isolation import isolated
from tests.support.servers import Endpoints


@pytest.fixture
async def env(servers: Endpoints) -> AsyncIterator[Env]:
    async with isolated(servers) as iso:
        settings = iso.settings(PublishSettings)
        app = await bootstrap(settings)
        transport = httpx.ASGITransport(app=create_app(settings, container=app))
        http = httpx.AsyncClient(transport=transport, base_url="http://publish.test")
        env = Env(iso, app, http)
        try:
            await env.deliver(IdentityChanged.build(
                entity_id=uuid.uuid4(), office_code=OFFICE, seq=1,
                payload=IdentityChangedPayload(
                    kind=IdentityKind.OFFICE,
                    fields={"code": OFFICE, "name": OFFICE_NAME, "parent": "63"})))
            yield env
        finally:
            await http.aclose()
            for key in env.keys:
                await app.core.store.delete(key)
            await app.close()
