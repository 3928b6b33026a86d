"""Registers, previews, feeds, catalogue, pages and webhooks of the publish service,
against the real PostgreSQL and S3 (in-process service, isolated namespaces)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar
from xml.etree import ElementTree as ET

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from dms_common.events import DocumentClassified, DocumentClassifiedPayload, KipCategory
from dms_common.identity.tokens import Role
from dms_common.storage import derived_key, original_key
from dms_publish import webhooks
from tests.integration.publish.helpers import OFFICE, OFFICE_NAME, Env, classified, ids, received

SECRET_TITLE = "Laporan pelapor Budi Rahasia 0812"
SCRIPT_TITLE = '<script>alert("x")</script> Rekap'
CSV = b"Kecamatan,Pemilih\nBanjar Utara,1200\nBanjar Selatan,950\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def parse_xml(data: str | bytes) -> ET.Element:
    """Parse XML this service produced itself (not untrusted input)."""
    return ET.fromstring(data)  # noqa: S314


def exempt(doc: uuid.UUID, *, seq: int, title: str = SECRET_TITLE) -> DocumentClassified:
    event: DocumentClassified = DocumentClassified.build(
        document_id=doc, version=1, office_code=OFFICE, seq=seq,
        payload=DocumentClassifiedPayload(
            decision_id=uuid.uuid4(), kip_category=KipCategory.DIKECUALIKAN, title=title,
            legal_basis="Pasal 17 huruf h UU 14/2008", exempt_until=date(2030, 12, 31),
            exempt_public_description="Identitas pelapor dugaan pelanggaran",
            exempt_consequence="Pelapor dapat terancam keselamatannya",
            approval_state="approved"))
    return event


async def test_registers_previews_feeds_catalogue_and_pages(env: Env) -> None:
    public, table_doc, secret, redacted = (uuid.uuid4() for _ in range(4))
    await env.put(original_key(OFFICE, public, 1), b"%PDF-1.7 isi publik")
    await env.put(original_key(OFFICE, table_doc, 1), CSV, "text/csv")
    await env.put(original_key(OFFICE, secret, 1), b"%PDF-1.7 rahasia")
    await env.put(original_key(OFFICE, redacted, 1), b"%PDF-1.7 ASLI TIDAK DISAMARKAN")
    redacted_key = derived_key(OFFICE, redacted, 1, "redacted.pdf")
    await env.put(redacted_key, b"%PDF-1.7 versi disamarkan")
    # Page images: the unredacted one must never be served for a redacted publication.
    await env.put(derived_key(OFFICE, public, 1, "previews/page-1.png"), PNG, "image/png")
    await env.put(derived_key(OFFICE, redacted, 1, "previews/page-1.png"), b"UNREDACTED PAGE",
                  "image/png")
    await env.put(derived_key(OFFICE, redacted, 1, "redacted-previews/page-1.png"), PNG,
                  "image/png")

    await env.deliver(
        received(public), classified(public, KipCategory.BERKALA, seq=1, title=SCRIPT_TITLE),
        received(table_doc, filename="pemilih.csv", content_type="text/csv"),
        classified(table_doc, KipCategory.SETIAP_SAAT, seq=1, title="Data pemilih"),
        received(secret, title=SECRET_TITLE), exempt(secret, seq=1))
    redacted_decision = classified(redacted, KipCategory.SERTA_MERTA, seq=1, title="Disamarkan")
    redacted_decision = redacted_decision.model_copy(update={"payload": redacted_decision.payload
                                                             .model_copy(update={
                                                                 "redacted_object_key":
                                                                 redacted_key})})
    await env.deliver(received(redacted), redacted_decision)

    # Filters and sorting.
    async def listed(**params: str) -> list[str]:
        answer = await env.http.get("/api/v1/public/documents", params=params)
        assert answer.status_code == 200, answer.text
        return ids(answer.json()["items"])

    year = str(date.today().year)
    assert set(await listed(year=year)) == {str(public), str(table_doc), str(redacted)}
    assert await listed(year="1999") == []
    assert await listed(sort="title") == [str(public), str(table_doc), str(redacted)]
    assert await listed(category="serta_merta") == [str(redacted)]
    assert await listed(division=str(uuid.uuid4())) == []
    titled = (await env.http.get("/api/v1/public/documents",
                                 params={"sort": "title", "limit": "1"})).json()
    second = await listed(sort="title", limit="1", cursor=titled["next_cursor"])
    assert second == [str(table_doc)]
    mixed = await env.http.get("/api/v1/public/documents",
                               params={"sort": "-published_at", "cursor": titled["next_cursor"]})
    assert mixed.status_code == 422 and mixed.json()["code"] == "invalid_cursor"
    assert (await env.http.get("/api/v1/public/documents",
                               params={"sort": "nope"})).status_code == 422

    # The redacted copy is what is downloaded; its preview shows only redacted pages.
    download = await env.http.get(f"/api/v1/public/documents/{redacted}/content")
    assert download.content == b"%PDF-1.7 versi disamarkan"
    preview = (await env.http.get(f"/api/v1/public/documents/{redacted}/preview")).json()
    assert preview["kind"] == "pages"
    page = await env.http.get(preview["pages"][0])
    assert page.content == PNG and page.headers["content-type"] == "image/png"
    assert (await env.http.get(f"/api/v1/public/documents/{secret}/pages/1")).status_code == 404
    table = (await env.http.get(f"/api/v1/public/documents/{table_doc}/preview")).json()
    assert table["kind"] == "table" and table["columns"] == ["Kecamatan", "Pemilih"]
    assert table["rows"][0] == ["Banjar Utara", "1200"]
    table_page = await env.http.get(f"/dokumen/{table_doc}")
    assert "<svg" in table_page.text and "Banjar Selatan" in table_page.text

    # Registers: the DIK shows the public description, never the title.
    dip = (await env.http.get("/api/v1/public/dip", params={"office": OFFICE})).json()
    assert len(dip["items"]) == 3 and dip["items"][0]["nomor"] == 1
    dik = (await env.http.get("/api/v1/public/dik")).json()
    assert [e["informasi_yang_dikecualikan"] for e in dik["items"]] == [
        "Identitas pelapor dugaan pelanggaran"]
    assert dik["items"][0]["dasar_hukum"] == "Pasal 17 huruf h UU 14/2008"
    assert dik["items"][0]["jangka_waktu_pengecualian"] == "Sampai 31-12-2030"
    assert dik["items"][0]["ringkasan_konsekuensi"] == "Pelapor dapat terancam keselamatannya"
    csv_answer = await env.http.get("/api/v1/public/dik", params={"format": "csv"})
    assert csv_answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_answer.content.decode("utf-8-sig"))))
    assert rows[0][2] == "Informasi yang dikecualikan" and len(rows) == 2
    xlsx = await env.http.get("/api/v1/public/dip", params={"format": "xlsx", "office": OFFICE})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 4 and sheet["D1"].value == "Ringkasan isi informasi"
    for answer in (dik, csv_answer.text, await env.http.get("/dik")):
        text = answer if isinstance(answer, str) else json.dumps(answer) if isinstance(
            answer, dict) else answer.text
        assert "Budi Rahasia" not in text and "laporan pengawasan" not in text

    # Statistics, feeds, sitemap, catalogue: public documents only, titles escaped.
    stats = (await env.http.get("/api/v1/public/statistics")).json()
    assert stats["total"] == 3 and stats["by_office"] == {OFFICE: 3}
    assert stats["by_category"] == {"berkala": 1, "setiap_saat": 1, "serta_merta": 1}
    feed = await env.http.get("/feed.atom")
    office_feed = await env.http.get(f"/kantor/{OFFICE}/feed.atom")
    sitemap = await env.http.get("/sitemap.xml")
    catalog = await env.http.get("/api/v1/public/catalog")
    search = await env.http.get("/api/v1/public/ckan/api/3/action/package_search",
                                params={"q": "Rekap", "fq": f"organization:{OFFICE}"})
    show = await env.http.get("/api/v1/public/ckan/api/3/action/package_show",
                              params={"id": str(secret)})
    assert show.status_code == 404 and show.json()["success"] is False
    assert search.json()["result"]["count"] == 1
    assert search.json()["result"]["results"][0]["title"] == SCRIPT_TITLE
    assert len(catalog.json()["dcat:dataset"]) == 3
    for answer in (feed, office_feed, sitemap):
        parse_xml(answer.content)
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert "&lt;script&gt;" in feed.text and "<script>" not in feed.text
    assert f"/dokumen/{public}" in sitemap.text
    everything = feed.text + office_feed.text + sitemap.text + catalog.text + search.text
    assert str(secret) not in everything and "Budi Rahasia" not in everything

    # Pages: home, office, DIP tabs, DIK, dashboard, list — escaped, with the links a crawler
    # follows, and nothing of the exempt document.
    for path in ("/", f"/kantor/{OFFICE}", "/dip", "/dip?kategori=berkala", "/dik", "/dasbor",
                 "/dokumen", f"/dokumen/{public}", f"/dokumen/{redacted}"):
        answer = await env.http.get(path)
        assert answer.status_code == 200, path
        assert "<script>" not in answer.text and "Budi Rahasia" not in answer.text, path
        assert str(secret) not in answer.text, path
    tab = (await env.http.get("/dip?kategori=berkala")).text
    assert f'href="/dokumen/{public}"' in tab and f"/dokumen/{table_doc}" not in tab
    assert 'aria-current="page">Berkala' in tab
    assert OFFICE_NAME in (await env.http.get("/dasbor")).text
    assert (await env.http.get("/kantor/9999")).status_code == 404

    # Withdrawing empties every listing of it at once.
    await env.deliver(exempt(public, seq=2, title=SCRIPT_TITLE))
    assert str(public) not in (await env.http.get("/feed.atom")).text
    assert str(public) not in (await env.http.get("/sitemap.xml")).text
    assert str(public) not in (await env.http.get("/api/v1/public/catalog")).text
    assert (await env.http.get(f"/api/v1/public/documents/{public}/pages/1")).status_code == 404
    assert len((await env.http.get("/api/v1/public/dik")).json()["items"]) == 2


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    fail_first: ClassVar[int] = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        status = 503 if len(type(self).received) <= type(self).fail_first else 204
        self.send_response(status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received, _Receiver.fail_first = [], 1
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()


async def test_webhooks_are_signed_retried_and_logged(env: Env, receiver: str) -> None:
    _, ppid = env.iso.user(role=Role.PPID, office_code="63")
    _, staff = env.iso.user(role=Role.STAFF, office_code=OFFICE)
    await env.iso.register_users(env.app.core)
    body = {"url": receiver, "events": ["dms.document.published", "dms.document.withdrawn"]}
    refused = await env.http.post("/api/v1/public/webhooks", json=body,
                                  headers={"Authorization": f"Bearer {staff}"})
    assert refused.status_code == 403
    assert (await env.http.post("/api/v1/public/webhooks", json=body)).status_code == 401
    created = await env.http.post("/api/v1/public/webhooks", json=body,
                                  headers={"Authorization": f"Bearer {ppid}"})
    assert created.status_code == 201, created.text
    subscription = created.json()
    bad = await env.http.post("/api/v1/public/webhooks", json={**body, "url": "ftp://x"},
                              headers={"Authorization": f"Bearer {ppid}"})
    assert bad.status_code == 422

    doc = uuid.uuid4()
    await env.deliver(classified(doc, KipCategory.BERKALA, seq=1), exempt(doc, seq=2))
    dispatcher = webhooks.Dispatcher(env.app.core.uow, sender=webhooks.make_sender(5),
                                     max_attempts=3, backoff_seconds=0.2)
    # First attempt of the first delivery fails (503); the second delivery succeeds.
    assert await dispatcher.dispatch_once() == 2
    await asyncio.sleep(0.3)
    assert await dispatcher.dispatch_once() == 1
    assert await dispatcher.dispatch_once() == 0
    assert len(_Receiver.received) == 3
    for headers, raw in _Receiver.received:
        assert webhooks.verify(subscription["secret"], int(headers["X-DMS-Timestamp"]), raw,
                               headers["X-DMS-Signature"])
    kinds = [json.loads(raw)["event_type"] for _, raw in _Receiver.received]
    assert sorted(set(kinds)) == ["dms.document.published", "dms.document.withdrawn"]
    withdrawn = next(json.loads(raw) for _, raw in _Receiver.received
                     if json.loads(raw)["event_type"] == "dms.document.withdrawn")
    assert "title" not in withdrawn and withdrawn["document_id"] == str(doc)

    log = await env.http.get(f"/api/v1/public/webhooks/{subscription['id']}/deliveries",
                             headers={"Authorization": f"Bearer {ppid}"})
    entries = log.json()
    assert sorted((e["status"], e["attempts"]) for e in entries) == [
        ("delivered", 1), ("delivered", 2)]
    listed = (await env.http.get("/api/v1/public/webhooks",
                                 headers={"Authorization": f"Bearer {ppid}"})).json()
    assert [s["id"] for s in listed] == [subscription["id"]] and "secret" not in listed[0]
    gone = await env.http.delete(f"/api/v1/public/webhooks/{subscription['id']}",
                                 headers={"Authorization": f"Bearer {ppid}"})
    assert gone.status_code == 204
    await env.deliver(classified(doc, KipCategory.BERKALA, seq=3))
    assert await dispatcher.dispatch_once() == 0
