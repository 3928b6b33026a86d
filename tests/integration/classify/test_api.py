"""The review API against the real servers: queue, document, decisions and who may make them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from dms_classify.main import create_app
from dms_classify.models import ReviewDocument
from dms_common.events import DocumentClassified, Topic
from dms_common.identity.tokens import Role
from tests.integration.classify.conftest import Classify, of_type, received
from tests.unit.classify.pdfs import make_pdf

OFFICE, OTHER = "6302", "6371"
WORDS = "Daftar pemilih tetap hasil rekapitulasi Kotabaru"


@dataclass
class Api:
    env: Classify
    client: httpx.AsyncClient
    admin: str
    other_admin: str
    staff: str
    ppid: str
    superadmin: str

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def extracted_document(self, office: str = OFFICE) -> uuid.UUID:
        doc = uuid.uuid4()
        pdf = make_pdf([WORDS])
        key = await self.env.put_original(office, doc, 1, pdf, "application/pdf")
        assert await self.env.deliver(received(doc, office=office, key=key,
                                               content_type="application/pdf", size=len(pdf)))
        row = await self.env.row(doc)
        assert row.text_key is not None
        self.env.keys.append(row.text_key)
        return doc


@pytest.fixture
async def api(classify: Classify) -> AsyncIterator[Api]:
    iso = classify.iso
    _, admin = iso.user(role=Role.OFFICE_ADMIN, office_code=OFFICE)
    _, other_admin = iso.user(role=Role.OFFICE_ADMIN, office_code=OTHER)
    _, staff = iso.user(role=Role.STAFF, office_code=OFFICE)
    _, ppid = iso.user(role=Role.PPID, office_code="63")
    _, superadmin = iso.user(role=Role.SUPERADMIN, office_code="63")
    await iso.register_users(classify.app.core)
    app = create_app(container=classify.app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://classify") as client:
        yield Api(classify, client, admin, other_admin, staff, ppid, superadmin)


DECISION = {
    "kip_category": "berkala",
    "document_type": "laporan",
    "dip": {"summary": "Rekapitulasi daftar pemilih tetap",
            "holder_unit": "Divisi Penanganan Pelanggaran dan Data Informasi",
            "responsible": "Sekretariat Bawaslu Kabupaten Kotabaru",
            "created_place_time": "Kotabaru, November 2024",
            "available_forms": ["softcopy", "hardcopy"], "retention": "5 tahun"},
    "reason": "Informasi berkala sesuai Pasal 9",
}


async def test_decision_is_stored_audited_and_announced(api: Api) -> None:
    doc = await api.extracted_document()
    url = f"/api/v1/review/documents/{doc}/decisions"

    response = await api.client.post(url, json=DECISION, headers=api.auth(api.admin))

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["document_id"], body["version"], body["kip_category"]) == (str(doc), 1, "berkala")
    assert body["dip"]["available_forms"] == ["softcopy", "hardcopy"]
    row = await api.env.row(doc)
    assert (row.status, str(row.decision_id)) == ("classified", body["decision_id"])
    [classified] = of_type(await api.env.outbox(), Topic.CLASSIFIED)
    assert isinstance(classified, DocumentClassified)
    assert (classified.seq, classified.document_id, classified.office_code) == (2, doc, OFFICE)
    payload = classified.payload
    assert (str(payload.decision_id), payload.kip_category.value, payload.document_type) == (
        body["decision_id"], "berkala", "laporan")
    assert payload.dip is not None and payload.dip.retention == "5 tahun"
    assert (payload.title, payload.division_id, payload.document_date) == (
        row.title, row.division_id, row.document_date)
    [audit] = await api.env.audit("classify")
    assert (audit["subject_id"], audit["office_code"], audit["reason"]) == (
        str(doc), OFFICE, DECISION["reason"])

    # The document has left the queue and shows its decision.
    queue = (await api.client.get("/api/v1/review/queue", headers=api.auth(api.admin))).json()
    assert str(doc) not in [item["id"] for item in queue["items"]]
    shown = (await api.client.get(f"/api/v1/review/documents/{doc}",
                                  headers=api.auth(api.admin))).json()
    assert shown["decision"]["decision_id"] == body["decision_id"]


async def test_only_the_offices_admin_or_ppid_may_decide(api: Api) -> None:
    doc = await api.extracted_document()
    url = f"/api/v1/review/documents/{doc}/decisions"
    refused = {
        api.other_admin: 404, api.superadmin: 404, api.staff: 403,
    }
    for token, status in refused.items():
        response = await api.client.post(url, json=DECISION, headers=api.auth(token))
        assert response.status_code == status, response.text
        assert set(response.json()) == {"code", "message"}
    assert (await api.client.post(url, json=DECISION)).status_code == 401
    unknown = f"/api/v1/review/documents/{uuid.uuid4()}/decisions"
    assert (await api.client.post(unknown, json=DECISION,
                                  headers=api.auth(api.admin))).status_code == 404
    assert of_type(await api.env.outbox(), Topic.CLASSIFIED) == []

    response = await api.client.post(url, json={**DECISION, "kip_category": "serta_merta"},
                                     headers=api.auth(api.ppid))
    assert response.status_code == 201, response.text


async def test_exemption_needs_its_consequence_test(api: Api) -> None:
    doc = await api.extracted_document()
    response = await api.client.post(f"/api/v1/review/documents/{doc}/decisions",
                                     json={"kip_category": "dikecualikan"},
                                     headers=api.auth(api.admin))
    assert response.status_code == 422
    assert response.json()["code"] == "consequence_test_required"
    assert "uji konsekuensi" in response.json()["message"]
    assert (await api.env.row(doc)).status == "extracted"
    assert of_type(await api.env.outbox(), Topic.CLASSIFIED) == []
    bad = await api.client.post(f"/api/v1/review/documents/{doc}/decisions",
                                json={"kip_category": "rahasia"}, headers=api.auth(api.admin))
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_request")


async def test_a_received_document_can_be_classified_by_hand(api: Api) -> None:
    doc = uuid.uuid4()
    async with api.env.app.core.uow() as uow:
        uow.session.add(ReviewDocument(
            document_id=doc, version=3, office_code=OFFICE, title="Belum diekstrak",
            description="", filename="scan.pdf", content_type="application/pdf", size=10,
            object_key=f"{OFFICE}/{doc}/3/original", uploader_id=uuid.uuid4(),
            status="received", received_at=datetime.now(UTC), received_seq=5, text_length=0))
    url = f"/api/v1/review/documents/{doc}/decisions"
    stale = await api.client.post(url, json={**DECISION, "version": 2},
                                  headers=api.auth(api.admin))
    assert (stale.status_code, stale.json()["code"]) == (409, "version_superseded")
    response = await api.client.post(url, json={**DECISION, "version": 3},
                                     headers=api.auth(api.admin))
    assert response.status_code == 201, response.text
    assert (await api.env.row(doc)).status == "classified"
    [classified] = of_type(await api.env.outbox(), Topic.CLASSIFIED)
    assert isinstance(classified, DocumentClassified)
    assert (classified.version, classified.seq) == (3, 1)


async def test_queue_is_per_office_oldest_first_and_paged(api: Api) -> None:
    docs = [await api.extracted_document() for _ in range(3)]
    elsewhere = await api.extracted_document(OTHER)

    pages: list[dict[str, object]] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await api.client.get("/api/v1/review/queue", params=params,
                                        headers=api.auth(api.admin))
        assert response.status_code == 200, response.text
        pages += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert [item["id"] for item in pages] == [str(doc) for doc in docs]
    assert set(pages[0]) == {"id", "title", "office_code", "status", "received_at", "version",
                             "flag", "suggested_category", "findings"}
    assert pages[0]["status"] == "extracted"

    everything = (await api.client.get("/api/v1/review/queue",
                                       headers=api.auth(api.ppid))).json()["items"]
    assert {item["id"] for item in everything} == {str(d) for d in [*docs, elsewhere]}
    for token in (api.staff, api.superadmin):
        response = await api.client.get("/api/v1/review/queue", headers=api.auth(token))
        assert response.status_code == 403
    bad = await api.client.get("/api/v1/review/queue", params={"cursor": "nope"},
                               headers=api.auth(api.admin))
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")


async def test_document_shows_its_text_to_its_own_office_only(api: Api) -> None:
    doc = await api.extracted_document()
    url = f"/api/v1/review/documents/{doc}"
    response = await api.client.get(url, headers=api.auth(api.admin))
    assert response.status_code == 200, response.text
    body = response.json()
    assert WORDS in body["text_excerpt"]
    assert (body["status"], body["pages"], body["decision"]) == ("extracted", 1, None)
    assert (await api.client.get(url, headers=api.auth(api.ppid))).status_code == 200
    assert (await api.client.get(url, headers=api.auth(api.other_admin))).status_code == 404
    assert (await api.client.get(url, headers=api.auth(api.staff))).status_code == 403
    missing = await api.client.get(f"/api/v1/review/documents/{uuid.uuid4()}",
                                   headers=api.auth(api.admin))
    assert missing.status_code == 404


async def test_admin_page_counts_the_queue(api: Api) -> None:
    await api.extracted_document()
    page = await api.client.get("/admin/", headers=api.auth(api.admin))
    assert page.status_code == 200
    assert "Antrean klasifikasi" in page.text
    assert "1 dokumen menunggu klasifikasi" in page.text
    assert (await api.client.get("/admin/")).status_code == 401
    browser = await api.client.get("/admin/", headers={"Accept": "text/html"})
    assert (browser.status_code, browser.headers["location"]) == (
        303, "/staf/sesi?next=%2Fadmin%2F")
    assert (await api.client.get("/admin/", headers=api.auth(api.staff))).status_code == 403
