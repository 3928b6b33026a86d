"""An uploader's retraction leaves every service, through the gateway (issue 5, point 4).

Needs the whole native stack (`deploy/local/stack up`) running this tree's code.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.integration.classify.test_api import DECISION
from tests.support.pdf import make_pdf
from tests.support.servers import Endpoints
from tests.support.stack import create_user, eventually, gateway_client

OFFICE = "6302"


@pytest.fixture(scope="module")
async def gateway(servers: Endpoints) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client() as client:
        yield client


async def upload(gateway: httpx.AsyncClient, headers: dict[str, str], word: str) -> str:
    pdf = make_pdf([f"Rekapitulasi pengawasan {word}", "Kabupaten Kotabaru"])
    uploaded = await gateway.post(
        "/api/v1/documents", headers=headers,
        files={"file": ("rekap.pdf", pdf, "application/pdf")},
        data={"title": f"Rekap pengawasan {word}", "document_date": "2024-02-14"})
    assert uploaded.status_code == 201, uploaded.text
    document_id: str = uploaded.json()["id"]
    return document_id


async def retract(gateway: httpx.AsyncClient, headers: dict[str, str], doc_id: str) -> None:
    done = await gateway.post(f"/api/v1/documents/{doc_id}/retract", headers=headers,
                              json={"reason": "Salah unggah berkas"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "retracted"


async def test_a_retracted_upload_leaves_the_queue_and_is_retracted_in_staff_search(
        gateway: httpx.AsyncClient) -> None:
    staff = (await create_user(gateway, role="staff", office=OFFICE)).headers
    admin = (await create_user(gateway, role="office_admin", office=OFFICE)).headers
    word = f"rx{uuid.uuid4().hex[:10]}"
    doc_id = await upload(gateway, staff, word)

    async def queued() -> list[str]:
        response = await gateway.get("/api/v1/review/queue", headers=admin, params={"q": word})
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await eventually(queued, what="the upload in the review queue") == [doc_id]
    await retract(gateway, staff, doc_id)

    async def left_queue() -> bool:
        return await queued() == []

    await eventually(left_queue, what="the retracted document leaving the queue")
    refused = await gateway.post(f"/api/v1/review/documents/{doc_id}/decisions",
                                 headers=admin, json=DECISION)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "document_retracted"

    async def staff_hit() -> dict[str, Any] | None:
        found = await gateway.get("/api/v1/search/internal", params={"q": word},
                                  headers=staff)
        assert found.status_code == 200, found.text
        hits = [h for h in found.json()["hits"] if h["id"] == doc_id]
        return hits[0] if hits and hits[0]["status"] == "retracted" else None

    hit = await eventually(staff_hit, what="status retracted in staff search")
    assert hit["title"] == f"Rekap pengawasan {word}"
    public = await gateway.get("/api/v1/search", params={"q": word})
    assert public.status_code == 200 and public.json()["total"] == 0


async def test_a_retraction_right_after_the_upload_gives_the_same_end(
        gateway: httpx.AsyncClient) -> None:
    staff = (await create_user(gateway, role="staff", office=OFFICE)).headers
    admin = (await create_user(gateway, role="office_admin", office=OFFICE)).headers
    word = f"ry{uuid.uuid4().hex[:10]}"
    doc_id = await upload(gateway, staff, word)
    await retract(gateway, staff, doc_id)  # before classify or search may have seen the upload

    async def review_status() -> str | None:
        shown = await gateway.get(f"/api/v1/review/documents/{doc_id}", headers=admin)
        status = shown.json().get("status") if shown.status_code == 200 else None
        return status if status == "retracted" else None

    await eventually(review_status, what="classify marking the document retracted")

    async def staff_status() -> str | None:
        found = await gateway.get("/api/v1/search/internal", params={"q": word},
                                  headers=staff)
        hits = [h for h in found.json()["hits"] if h["id"] == doc_id]
        return hits[0]["status"] if hits and hits[0]["status"] == "retracted" else None

    await eventually(staff_status, what="status retracted in staff search")
    queue = await gateway.get("/api/v1/review/queue", headers=admin, params={"q": word})
    assert queue.json()["items"] == []
    mine = await gateway.get(f"/api/v1/documents/{doc_id}", headers=staff)
    assert mine.status_code == 200 and mine.json()["status"] == "retracted"
