"""Exemptions, approvals, reclassification, filters, upkeep, the report and redaction, against
the real servers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from dms_classify.main import create_app
from dms_classify.models import Decision
from dms_classify.suggest import suggest
from dms_classify.upkeep import run_upkeep
from dms_common.events import DocumentClassified, Topic
from dms_common.identity.tokens import Role
from tests.integration.classify.conftest import Classify, of_type, received
from tests.integration.classify.test_api import DECISION
from tests.unit.classify.pdfs import make_pdf

OFFICE, OTHER = "6302", "6371"

EXEMPTION: dict[str, Any] = {
    "kip_category": "dikecualikan",
    "document_type": "berkas_pelanggaran",
    "reason": "Memuat identitas pelapor",
    "consequence_test": {
        "exempt_information": "Identitas pelapor dugaan pelanggaran politik uang",
        "legal_basis": {"instrument": "uu14_pasal17", "letter": "h"},
        "consequence": "Membuka identitas pelapor membahayakan keselamatannya",
        "public_interest": "Perlindungan pelapor lebih besar dari manfaat membukanya",
        "indefinite_reason": "Rahasia pribadi tidak kedaluwarsa",
        "place": "Kotabaru",
    },
}


@dataclass
class Env:
    env: Classify
    client: httpx.AsyncClient
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def document(self, lines: list[str] | None = None, office: str = OFFICE,
                       title: str = "Laporan pengawasan kampanye") -> uuid.UUID:
        doc = uuid.uuid4()
        pdf = make_pdf(lines or ["Rekapitulasi hasil pengawasan"])
        key = await self.env.put_original(office, doc, 1, pdf, "application/pdf")
        assert await self.env.deliver(received(doc, office=office, key=key, title=title,
                                               content_type="application/pdf", size=len(pdf)))
        row = await self.env.row(doc)
        self.env.keys += [row.text_key or "", *(row.preview_keys or [])]
        return doc

    async def decide(self, doc: uuid.UUID, body: dict[str, Any], who: str = "admin"
                     ) -> httpx.Response:
        return await self.client.post(f"/api/v1/review/documents/{doc}/decisions", json=body,
                                      headers=self.auth(who))

    async def classified(self, doc: uuid.UUID) -> list[DocumentClassified]:
        return [e for e in of_type(await self.env.outbox(), Topic.CLASSIFIED)
                if isinstance(e, DocumentClassified) and e.document_id == doc]


@pytest.fixture
async def env(classify: Classify) -> AsyncIterator[Env]:
    iso = classify.iso
    tokens: dict[str, str] = {}
    _, tokens["admin"] = iso.user(role=Role.OFFICE_ADMIN, office_code=OFFICE)
    _, tokens["other_admin"] = iso.user(role=Role.OFFICE_ADMIN, office_code=OTHER)
    _, tokens["ppid"] = iso.user(role=Role.PPID, office_code="63")
    for name, office in (("approver", OFFICE), ("other_approver", OTHER)):
        user_id = uuid.uuid4()
        iso.users[user_id] = {"role": Role.OFFICE_ADMIN.value, "office_code": office,
                              "disabled": False}
        tokens[name] = iso.token(role=Role.OFFICE_ADMIN, office_code=office, user_id=user_id,
                                 permissions=(f"approve_exemption:{office}",))
    await iso.register_users(classify.app.core)
    transport = httpx.ASGITransport(app=create_app(container=classify.app))
    async with httpx.AsyncClient(transport=transport, base_url="http://classify") as client:
        yield Env(classify, client, tokens)


async def test_exemption_with_its_consequence_test(env: Env) -> None:
    doc = await env.document()
    incomplete = await env.decide(doc, {"kip_category": "dikecualikan",
                                        "consequence_test": {"place": "Kotabaru"}})
    assert incomplete.status_code == 422
    body = incomplete.json()
    assert body["code"] == "consequence_test_incomplete"
    for words in ("Uraian informasi", "Dasar hukum", "Konsekuensi", "kepentingan publik"):
        assert words in body["message"]
    limited = {**EXEMPTION, "consequence_test": {
        **EXEMPTION["consequence_test"],
        "legal_basis": {"instrument": "uu14_pasal17", "letter": "a"}}}
    refused = await env.decide(doc, limited)
    assert refused.status_code == 422 and "Pasal 20 ayat (1)" in refused.json()["message"]
    assert await env.classified(doc) == []

    response = await env.decide(doc, EXEMPTION)
    assert response.status_code == 201, response.text
    decision = response.json()
    assert decision["legal_basis"] == "UU 14/2008 Pasal 17 huruf h"
    assert decision["approval_state"] == "not_required" and decision["dip"] is None
    [event] = await env.classified(doc)
    payload = event.payload
    assert (payload.kip_category.value, payload.legal_basis, payload.approval_state) == (
        "dikecualikan", "UU 14/2008 Pasal 17 huruf h", "not_required")
    assert payload.exempt_public_description == EXEMPTION["consequence_test"][
        "exempt_information"]
    [audit] = await env.env.audit("classify")
    detail = audit["detail"]
    assert isinstance(detail, dict) and detail["legal_basis"] == "UU 14/2008 Pasal 17 huruf h"


async def test_exemption_waits_for_the_atasan_ppid(env: Env) -> None:
    settings_url = f"/api/v1/review/offices/{OFFICE}/settings"
    assert (await env.client.put(settings_url, json={"exemption_requires_approval": True},
                                 headers=env.auth("other_admin"))).status_code == 404
    changed = await env.client.put(settings_url, json={"exemption_requires_approval": True},
                                   headers=env.auth("admin"))
    assert changed.status_code == 200 and changed.json()["exemption_requires_approval"]
    doc = await env.document()
    decision = (await env.decide(doc, {**EXEMPTION, "consequence_test": {
        **EXEMPTION["consequence_test"], "exempt_until": "2030-01-01",
        "legal_basis": {"instrument": "uu14_pasal17", "letter": "a"}}})).json()
    assert decision["approval_state"] == "pending"
    assert decision["exempt_until"] == "2030-01-01"
    pending = await env.client.get("/api/v1/exemptions", params={"state": "pending"},
                                   headers=env.auth("approver"))
    assert [e["decision_id"] for e in pending.json()] == [decision["decision_id"]]
    assert (await env.client.get("/api/v1/exemptions", params={"state": "pending"},
                                 headers=env.auth("other_approver"))).json() == []

    url = f"/api/v1/exemptions/{decision['decision_id']}/approval"
    for who, status in (("admin", 403), ("other_approver", 404), ("other_admin", 404)):
        response = await env.client.post(url, json={"approve": True}, headers=env.auth(who))
        assert response.status_code == status, (who, response.text)
    approved = await env.client.post(url, json={"approve": True, "note": "Disetujui"},
                                     headers=env.auth("approver"))
    assert approved.status_code == 200, approved.text
    assert approved.json()["approval_state"] == "approved"
    again = await env.client.post(url, json={"approve": False}, headers=env.auth("approver"))
    assert (again.status_code, again.json()["code"]) == (409, "not_pending")
    events = await env.classified(doc)
    assert [e.payload.approval_state for e in events] == ["pending", "approved"]
    assert [e.seq for e in events] == [2, 3]
    [audit] = await env.env.audit("approve_exemption")
    assert (audit["subject_id"], audit["reason"]) == (decision["decision_id"], "Disetujui")


async def test_rejected_exemption_returns_to_the_queue(env: Env) -> None:
    await env.client.put(f"/api/v1/review/offices/{OFFICE}/settings",
                         json={"exemption_requires_approval": True}, headers=env.auth("admin"))
    doc = await env.document()
    decision = (await env.decide(doc, EXEMPTION)).json()
    rejected = await env.client.post(f"/api/v1/exemptions/{decision['decision_id']}/approval",
                                     json={"approve": False, "note": "Tidak cukup alasan"},
                                     headers=env.auth("approver"))
    assert rejected.json()["approval_state"] == "rejected"
    queue = (await env.client.get("/api/v1/review/queue", params={"flagged": True},
                                  headers=env.auth("admin"))).json()["items"]
    assert [(i["id"], i["flag"], i["status"]) for i in queue] == [
        (str(doc), "exemption_rejected", "reopened")]
    assert len(await env.env.audit("reject_exemption")) == 1


async def test_reclassifying_keeps_the_history(env: Env) -> None:
    doc = await env.document()
    first = (await env.decide(doc, DECISION)).json()
    second = await env.decide(doc, EXEMPTION, who="ppid")
    assert second.status_code == 201, second.text
    history = (await env.client.get(f"/api/v1/review/documents/{doc}/decisions",
                                    headers=env.auth("admin"))).json()
    assert [h["decision_id"] for h in history] == [second.json()["decision_id"],
                                                   first["decision_id"]]
    assert [h["kip_category"] for h in history] == ["dikecualikan", "berkala"]
    events = await env.classified(doc)
    assert [e.payload.kip_category.value for e in events] == ["berkala", "dikecualikan"]
    assert len(await env.env.audit("classify")) == 2


async def test_document_view_and_queue_filters(env: Env) -> None:
    plain = await env.document(title="Pengumuman hasil seleksi")
    personal = await env.document(["Nama Pelapor: Ahmad Fauzi", "NIK 6303014402880003"],
                                  title="Formulir laporan dugaan pelanggaran")
    view = (await env.client.get(f"/api/v1/review/documents/{personal}",
                                 headers=env.auth("admin"))).json()
    assert [(f["kind"], f["value"]) for f in view["findings"]] == [
        ("pelapor", "Ahmad Fauzi"), ("nik", "6303014402880003")]
    assert view["suggestion"]["kip_category"] == "dikecualikan"
    assert view["suggestion"]["reasons"]
    assert view["previews"] == [f"/api/v1/review/documents/{personal}/previews/{n}"
                                for n in (1, 2)]
    image = await env.client.get(view["previews"][0], headers=env.auth("admin"))
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert (await env.client.get(view["previews"][0],
                                 headers=env.auth("other_admin"))).status_code == 404
    assert (await env.client.get(f"/api/v1/review/documents/{personal}/previews/9",
                                 headers=env.auth("admin"))).status_code == 404

    async def ids(**params: Any) -> list[str]:
        response = await env.client.get("/api/v1/review/queue", params=params,
                                        headers=env.auth("admin"))
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [str(plain), str(personal)]
    assert await ids(suggested="dikecualikan") == [str(personal)]
    assert await ids(q="seleksi") == [str(plain)]
    assert await ids(status="extraction_failed") == []
    assert await ids(flagged=True) == []
    bad = await env.client.get("/api/v1/review/queue", params={"suggested": "rahasia"},
                               headers=env.auth("admin"))
    assert bad.status_code == 422


async def test_upkeep_reopens_expired_exemptions_and_stale_berkala(env: Env) -> None:
    expired, soon, periodic = [await env.document() for _ in range(3)]
    for doc, until in ((expired, "2030-01-01"), (soon, "2030-01-02")):
        body = {**EXEMPTION, "consequence_test": {
            **EXEMPTION["consequence_test"], "exempt_until": until,
            "legal_basis": {"instrument": "uu14_pasal17", "letter": "b"}}}
        assert (await env.decide(doc, body)).status_code == 201
    assert (await env.decide(periodic, DECISION)).status_code == 201
    today = datetime.now(UTC).date()
    async with env.env.app.core.uow() as uow:
        # Time passes: one exemption has ended, one ends in ten days, the berkala item is old.
        await uow.session.execute(update(Decision).where(Decision.document_id == expired)
                                  .values(exempt_until=today - timedelta(days=1)))
        await uow.session.execute(update(Decision).where(Decision.document_id == soon)
                                  .values(exempt_until=today + timedelta(days=10)))
        await uow.session.execute(update(Decision).where(Decision.document_id == periodic)
                                  .values(decided_at=datetime.now(UTC) - timedelta(days=200)))
    expiring = await env.client.get("/api/v1/exemptions/expiring", params={"days": 30},
                                    headers=env.auth("admin"))
    assert [e["document_id"] for e in expiring.json()] == [str(expired), str(soon)]
    outbox_before = len(await env.env.outbox())

    result = await run_upkeep(uow_factory=env.env.app.core.uow, warn_days=30,
                              berkala_max_age=timedelta(days=183), retrain_min_samples=10,
                              retrain_every=5)

    assert (result.expired, result.expiring, result.berkala_stale) == (1, 1, 1)
    assert [(r.status, r.flag) for r in [await env.env.row(d) for d in (expired, soon, periodic)]
            ] == [("reopened", "exemption_expired"), ("classified", "exemption_expiring"),
                  ("reopened", "berkala_stale")]
    # Nothing is published or withdrawn by the check itself.
    assert len(await env.env.outbox()) == outbox_before
    queue = (await env.client.get("/api/v1/review/queue", params={"flagged": True},
                                  headers=env.auth("admin"))).json()["items"]
    assert {i["id"] for i in queue} == {str(expired), str(periodic)}
    assert len(await env.env.audit("exemption_expired")) == 1


async def test_office_model_is_trained_from_decisions(env: Env) -> None:
    for i in range(6):
        doc = await env.document([f"Telaah staf internal nomor {i} strategi pengamanan"],
                                 title=f"Telaah staf {i}")
        assert (await env.decide(doc, EXEMPTION)).status_code == 201
        doc = await env.document([f"Jadwal sosialisasi pengawasan partisipatif {i}"],
                                 title=f"Jadwal sosialisasi {i}")
        assert (await env.decide(doc, DECISION)).status_code == 201
    result = await run_upkeep(uow_factory=env.env.app.core.uow, warn_days=30,
                              berkala_max_age=timedelta(days=183), retrain_min_samples=10,
                              retrain_every=5)
    assert result.retrained == [OFFICE]
    again = await run_upkeep(uow_factory=env.env.app.core.uow, warn_days=30,
                             berkala_max_age=timedelta(days=183), retrain_min_samples=10,
                             retrain_every=5)
    assert again.retrained == []  # nothing new since
    lines = ["Telaah staf internal strategi pengamanan"]
    doc = await env.document(lines, title="Telaah staf 99")
    suggestion = (await env.env.row(doc)).suggestion
    assert suggestion is not None and suggestion["model_used"]
    assert any("dilatih dari 12 keputusan" in reason for reason in suggestion["reasons"])
    # The office's own decisions move the suggestion towards what it decided before.
    rules_only = suggest(title="Telaah staf 99", text=lines[0], findings=[])
    assert suggestion["scores"]["dikecualikan"] > rules_only.scores["dikecualikan"]


async def test_province_report(env: Env) -> None:
    decided = await env.document()
    await env.document(office=OTHER)
    assert (await env.decide(decided, EXEMPTION)).status_code == 201
    assert (await env.client.get("/api/v1/review/report",
                                 headers=env.auth("admin"))).status_code == 403
    report = (await env.client.get("/api/v1/review/report", headers=env.auth("ppid"))).json()
    offices = {o["office_code"]: o for o in report["offices"]}
    assert offices[OFFICE]["documents"] == {"dikecualikan": 1}
    assert offices[OTHER]["documents"] == {"belum_diklasifikasi": 1}
    assert (offices[OFFICE]["queue_size"], offices[OTHER]["queue_size"]) == (0, 1)
    assert offices[OTHER]["oldest_waiting_days"] >= 0
    assert report["exemptions_by_legal_basis"] == [
        {"legal_basis": "UU 14/2008 Pasal 17 huruf h", "count": 1}]


async def test_publishing_a_redacted_copy(env: Env) -> None:
    lines = ["Laporan hasil pengawasan kampanye di Kotabaru",
             "Nama Pelapor: Budi Santoso", "Kejadian di TPS dua belas Pulau Laut"]
    doc = await env.document(lines)
    view = (await env.client.get(f"/api/v1/review/documents/{doc}",
                                 headers=env.auth("admin"))).json()
    [finding] = view["findings"]
    assert finding["value"] == "Budi Santoso"
    not_there = await env.decide(doc, {**DECISION, "redaction": {"passages": [
        {"page": 9, "box": [0, 0, 10, 10], "legal_basis": "Pasal 17 h"}], "findings": [5]}})
    assert (not_there.status_code, not_there.json()["code"]) == (422, "invalid_finding")
    response = await env.decide(doc, {**DECISION, "kip_category": "setiap_saat",
                                      "redaction": {"findings": [0]}})
    assert response.status_code == 201, response.text
    body = response.json()
    pdf_key, text_key = body["redacted_object_key"], body["redacted_text_key"]
    assert pdf_key.endswith("/derived/redacted.pdf") and text_key.endswith("/derived/redacted.txt")
    [event] = await env.classified(doc)
    assert (event.payload.redacted_object_key, event.payload.redacted_text_key) == (
        pdf_key, text_key)
    pdf = await env.env.read_object(pdf_key)
    assert pdf.startswith(b"%PDF") and b"Budi" not in pdf
    text = (await env.env.read_object(text_key)).decode()
    assert "Budi" not in text and "Santoso" not in text
    assert "Kotabaru" in text and "Pulau Laut" in text
    row = await env.env.row(doc)
    assert row.status == "classified"
    async with env.env.app.core.sessions() as session:
        record = await session.get(Decision, uuid.UUID(body["decision_id"]))
    assert record is not None and record.redaction is not None
    env.env.keys += record.redaction["preview_keys"]
    assert record.redaction["findings"] == [
        {"index": 0, "kind": "pelapor", "legal_basis": "UU 14/2008 Pasal 17 huruf h"}]
    exempt_with_redaction = await env.decide(doc, {**EXEMPTION, "redaction": {"findings": [0]}})
    assert exempt_with_redaction.status_code == 422
