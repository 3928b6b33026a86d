"""The /admin/ pages in-process over the real servers: queue, document, decision forms."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from dms_classify.main import create_app
from dms_classify.pages import decision_from_form, highlight
from dms_common.events import DocumentClassified, Topic
from dms_common.identity.deps import ACCESS_COOKIE
from dms_common.identity.tokens import Role
from tests.integration.classify.conftest import Classify, of_type, received
from tests.unit.classify.pdfs import make_pdf

OFFICE = "6302"


@dataclass
class Browser:
    env: Classify
    client: httpx.AsyncClient

    async def document(self, lines: list[str], title: str) -> uuid.UUID:
        doc = uuid.uuid4()
        pdf = make_pdf(lines)
        key = await self.env.put_original(OFFICE, doc, 1, pdf, "application/pdf")
        assert await self.env.deliver(received(doc, office=OFFICE, key=key, title=title,
                                               content_type="application/pdf", size=len(pdf)))
        row = await self.env.row(doc)
        self.env.keys += [row.text_key or "", *(row.preview_keys or [])]
        return doc

    async def csrf(self, path: str) -> str:
        page = await self.client.get(path)
        assert page.status_code == 200, page.text
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found is not None
        return found.group(1)


@pytest.fixture
async def browser(classify: Classify) -> AsyncIterator[Browser]:
    _, token = classify.iso.user(role=Role.OFFICE_ADMIN, office_code=OFFICE)
    await classify.iso.register_users(classify.app.core)
    transport = httpx.ASGITransport(app=create_app(container=classify.app))
    async with httpx.AsyncClient(transport=transport, base_url="http://classify",
                                 headers={"Accept": "text/html"},
                                 cookies={ACCESS_COOKIE: token}) as client:
        yield Browser(classify, client)


async def test_queue_document_and_decisions_through_the_forms(browser: Browser) -> None:
    public = await browser.document(["Pengumuman hasil seleksi pengawas TPS"],
                                    "Pengumuman hasil seleksi")
    secret = await browser.document(["Nama Pelapor: Ahmad Fauzi", "Kejadian di Binuang"],
                                    "Laporan dugaan <b>pelanggaran</b>")
    queue = await browser.client.get("/admin/")
    assert "2 dokumen menunggu klasifikasi" in queue.text
    assert "Laporan dugaan &lt;b&gt;pelanggaran&lt;/b&gt;" in queue.text  # escaped
    assert queue.headers["content-security-policy"].startswith("default-src 'self'")
    filtered = await browser.client.get("/admin/", params={"suggested": "dikecualikan"})
    assert str(secret) in filtered.text and str(public) not in filtered.text

    view = await browser.client.get(f"/admin/dokumen/{secret}")
    assert '<mark title="Identitas pelapor">Ahmad Fauzi</mark>' in view.text
    assert "Informasi yang Dikecualikan" in view.text and "Pasal 17 huruf h" in view.text
    assert f"/api/v1/review/documents/{secret}/previews/1" in view.text

    token = await browser.csrf(f"/admin/dokumen/{secret}")
    url = f"/admin/dokumen/{secret}/keputusan"
    refused = await browser.client.post(url, data={"kip_category": "dikecualikan"})
    assert refused.status_code == 403  # no CSRF token
    incomplete = await browser.client.post(url, data={
        "csrf_token": token, "kip_category": "dikecualikan", "legal_instrument": "uu14_pasal17",
        "legal_letter": "h", "place": "Kotabaru"})
    assert incomplete.status_code == 422
    assert "Konsekuensi yang timbul" in incomplete.text
    assert 'value="Kotabaru"' in incomplete.text  # what was typed stays in the form
    done = await browser.client.post(url, data={
        "csrf_token": token, "kip_category": "dikecualikan", "version": "1",
        "exempt_information": "Identitas pelapor", "legal_instrument": "uu14_pasal17",
        "legal_letter": "h", "consequence": "Membahayakan pelapor",
        "public_interest": "Perlindungan pelapor", "indefinite_reason": "Rahasia pribadi",
        "place": "Kotabaru"})
    assert (done.status_code, done.headers["location"]) == (
        303, f"/admin/dokumen/{secret}?tersimpan=1")

    token = await browser.csrf(f"/admin/dokumen/{public}")
    done = await browser.client.post(f"/admin/dokumen/{public}/keputusan", data={
        "csrf_token": token, "kip_category": "setiap_saat", "summary": "Hasil seleksi",
        "holder_unit": "Sekretariat", "responsible": "Ketua", "created_place_time": "Kotabaru",
        "available_forms": ["softcopy", "hardcopy"], "retention": "5 tahun"})
    assert done.status_code == 303, done.text
    events = [e for e in of_type(await browser.env.outbox(), Topic.CLASSIFIED)
              if isinstance(e, DocumentClassified)]
    assert {(e.document_id, e.payload.kip_category.value) for e in events} == {
        (secret, "dikecualikan"), (public, "setiap_saat")}
    assert "0 dokumen menunggu klasifikasi" in (await browser.client.get("/admin/")).text
    assert "Riwayat keputusan" in (await browser.client.get(f"/admin/dokumen/{public}")).text


async def test_report_and_approvals_pages_answer_by_role(browser: Browser) -> None:
    assert (await browser.client.get("/admin/laporan")).status_code == 403
    approvals = await browser.client.get("/admin/pengecualian")
    assert "tidak memegang izin" in approvals.text


def test_highlight_and_form_mapping() -> None:
    text = "Pelapor: Budi, NIK 6302011505900001."
    findings = [{"kind": "nik", "start": 19, "end": 35}, {"kind": "pelapor", "start": 9,
                                                           "end": 13}]
    assert highlight(text, findings) == [("Pelapor: ", None), ("Budi", "pelapor"),
                                         (", NIK ", None), ("6302011505900001", "nik"),
                                         (".", None)]
    body = decision_from_form({"kip_category": "berkala", "summary": " x ",
                               "available_forms": ["softcopy", "evil"], "redact_findings": ["0"]})
    assert body["dip"]["summary"] == "x" and body["dip"]["available_forms"] == ["softcopy"]
    assert body["redaction"] == {"findings": [0]}
    exempt = decision_from_form({"kip_category": "dikecualikan", "legal_instrument": "other",
                                 "legal_citation": "UU 7/2017 Pasal 1"})
    assert exempt["consequence_test"]["legal_basis"] == {"instrument": "other",
                                                         "citation": "UU 7/2017 Pasal 1"}
