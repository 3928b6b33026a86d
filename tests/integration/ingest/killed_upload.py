"""Run as a child process by test_sweeper.py: upload one file through the real ingest app and
stop for good between the object's put and the row's commit, waiting to be SIGKILLed.

Settings come from DMS_* variables; the bearer token from DMS_TEST_TOKEN.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx

from dms_common.settings import load_settings
from dms_ingest import service
from dms_ingest.bootstrap import bootstrap
from dms_ingest.main import create_app
from dms_ingest.settings import IngestSettings


async def main() -> None:
    settings = load_settings(IngestSettings)
    app = await bootstrap(settings)

    async def stuck(**kwargs: Any) -> Any:
        print("STORED", kwargs["new"].object_key, flush=True)
        await asyncio.sleep(3600)

    service.receive_document = stuck
    transport = httpx.ASGITransport(app=create_app(settings, container=app))
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
        await client.post("/api/v1/documents",
                          headers={"Authorization": f"Bearer {os.environ['DMS_TEST_TOKEN']}"},
                          files={"file": ("mati.txt", b"Diunggah lalu prosesnya dibunuh")},
                          data={"title": "Tak pernah tercatat"}, timeout=3600)


if __name__ == "__main__":
    asyncio.run(main())
