"""The classify worker against real PostgreSQL, S3 and Kafka: received -> extracted."""

from __future__ import annotations

import json
import time
import uuid

from dms_classify.extraction import DOCX, XLSX
from dms_classify.service import TEXT_OBJECT
from dms_common.bus.consumer import EventConsumer
from dms_common.bus.kafka import OutgoingRecord
from dms_common.events import DocumentExtracted, Topic
from dms_common.storage import derived_key
from tests.integration.classify.conftest import Classify, of_type, received
from tests.unit.classify.files import make_docx, make_scanned_pdf, make_xlsx
from tests.unit.classify.pdfs import make_pdf

OFFICE = "6302"
WORDS = "Laporan hasil pengawasan tahapan kampanye di Kotabaru"


async def test_received_pdf_is_extracted_once(classify: Classify) -> None:
    doc = uuid.uuid4()
    pdf = make_pdf([WORDS, "Rekapitulasi pelanggaran yang ditemukan"])
    key = await classify.put_original(OFFICE, doc, 1, pdf, "application/pdf")
    event = received(doc, office=OFFICE, key=key, content_type="application/pdf", size=len(pdf))

    assert await classify.deliver(event)

    row = await classify.row(doc)
    text_key = derived_key(OFFICE, doc, 1, TEXT_OBJECT)
    assert (row.status, row.version, row.text_key, row.pages) == ("extracted", 1, text_key, 2)
    assert row.title == event.payload.title and row.received_seq == 1
    text = (await classify.read_object(text_key)).decode()
    assert WORDS in text and "Rekapitulasi pelanggaran yang ditemukan" in text
    [extracted] = await classify.outbox()
    assert isinstance(extracted, DocumentExtracted)
    assert (extracted.seq, extracted.document_id, extracted.version) == (1, doc, 1)
    assert extracted.payload.ok and extracted.payload.text_key == text_key
    assert extracted.payload.text_length == len(text)
    assert (extracted.payload.pages, extracted.payload.language) == (2, "id")
    assert extracted.payload.ocr_used is False

    # The same event again (a redelivery) is skipped by its id ...
    assert not await classify.deliver(event)
    # ... and a copy under a new id is stale by its seq.
    assert await classify.deliver(event.model_copy(update={"event_id": uuid.uuid4()}))
    assert await classify.outbox() == [extracted]
    again = await classify.row(doc)
    assert (again.status, again.updated_at, again.extracted_at) == (
        "extracted", row.updated_at, row.extracted_at)


async def test_new_version_supersedes_and_old_one_is_ignored(classify: Classify) -> None:
    doc = uuid.uuid4()
    first = make_pdf(["Versi pertama dokumen"])
    key1 = await classify.put_original(OFFICE, doc, 1, first, "application/pdf")
    v1 = received(doc, office=OFFICE, key=key1, content_type="application/pdf", size=len(first))
    second = b"Versi kedua, teks biasa.\n"
    key2 = await classify.put_original(OFFICE, doc, 2, second, "text/plain")
    v2 = received(doc, office=OFFICE, key=key2, content_type="text/plain", size=len(second),
                  version=2, seq=2, title="Laporan (revisi)")

    # Out of order: version 2 arrives first; version 1 is then stale.
    assert await classify.deliver(v2)
    assert await classify.deliver(v1)
    row = await classify.row(doc)
    assert (row.version, row.title, row.status, row.pages) == (2, "Laporan (revisi)",
                                                                "extracted", None)
    assert (await classify.read_object(derived_key(OFFICE, doc, 2, TEXT_OBJECT))) == second
    events = await classify.outbox()
    assert [(e.version, e.seq) for e in events if isinstance(e, DocumentExtracted)] == [(2, 1)]
    assert len(events) == 1


async def test_unreadable_and_unsupported_files_fail_extraction(classify: Classify) -> None:
    garbage_doc, image_doc = uuid.uuid4(), uuid.uuid4()
    garbage = b"%PDF-1.7\n" + bytes(range(256)) * 64
    key = await classify.put_original(OFFICE, garbage_doc, 1, garbage, "application/pdf")
    await classify.deliver(received(garbage_doc, office=OFFICE, key=key,
                                    content_type="application/pdf", size=len(garbage)))
    image = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    key = await classify.put_original(OFFICE, image_doc, 1, image, "image/png")
    await classify.deliver(received(image_doc, office=OFFICE, key=key, content_type="image/png",
                                    size=len(image)))

    for doc, code in ((garbage_doc, "unreadable_pdf"), (image_doc, "unreadable_image")):
        row = await classify.row(doc)
        assert row.status == "extraction_failed"
        assert row.text_key is None
        assert row.extraction_reason is not None and row.extraction_reason.startswith(code)
    events = of_type(await classify.outbox(), Topic.EXTRACTED)
    assert len(events) == 2
    for event in events:
        assert isinstance(event, DocumentExtracted)
        assert not event.payload.ok and event.payload.text_key is None
        assert event.payload.reason
        assert event.seq == 1


async def test_scan_docx_and_xlsx_with_findings_previews_and_suggestion(
        classify: Classify) -> None:
    scan_doc, docx_doc, xlsx_doc = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    scan = make_scanned_pdf([["Laporan dugaan pelanggaran kampanye"],
                             ["Nama Pelapor: Budi Santoso"]])
    key = await classify.put_original(OFFICE, scan_doc, 1, scan, "application/pdf")
    await classify.deliver(received(scan_doc, office=OFFICE, key=key,
                                    content_type="application/pdf", size=len(scan)))
    docx = make_docx(["Pengumuman rekrutmen pengawas TPS",
                      "Hubungi sekretariat@bawaslu-kotabaru.go.id atau 0812-5123-4567"])
    key = await classify.put_original(OFFICE, docx_doc, 1, docx, DOCX)
    await classify.deliver(received(docx_doc, office=OFFICE, key=key, content_type=DOCX,
                                    size=len(docx)))
    xlsx = make_xlsx({"Rekap": [["Kecamatan", "TPS"], ["Pulau Laut", 40]]})
    key = await classify.put_original(OFFICE, xlsx_doc, 1, xlsx, XLSX)
    await classify.deliver(received(xlsx_doc, office=OFFICE, key=key, content_type=XLSX,
                                    size=len(xlsx)))

    scanned = await classify.row(scan_doc)
    assert scanned.status == "extracted" and scanned.ocr_used and scanned.pages == 2
    assert scanned.preview_keys == [derived_key(OFFICE, scan_doc, 1, f"previews/page-{i}.png")
                                    for i in (1, 2)]
    for preview in scanned.preview_keys:
        assert (await classify.read_object(preview)).startswith(b"\x89PNG")
    assert scanned.findings is not None
    assert [(f["kind"], f["value"]) for f in scanned.findings] == [("pelapor", "Budi Santoso")]
    assert scanned.suggestion is not None
    assert scanned.suggestion["kip_category"] == "dikecualikan"
    assert scanned.suggestion["legal_basis"] == "UU 14/2008 Pasal 17 huruf h"
    classify.keys.append(scanned.text_key or "")

    docx_row = await classify.row(docx_doc)
    assert docx_row.findings is not None
    assert sorted(f["kind"] for f in docx_row.findings) == ["email", "phone"]
    assert docx_row.suggestion is not None and docx_row.suggestion["redact_suggested"]
    classify.keys.append(docx_row.text_key or "")

    sheet = await classify.row(xlsx_doc)
    assert sheet.table_key == derived_key(OFFICE, xlsx_doc, 1, "table.json")
    table = json.loads(await classify.read_object(sheet.table_key))
    assert table["sheets"][0]["rows"] == [["Kecamatan", "TPS"], ["Pulau Laut", "40"]]
    classify.keys.append(sheet.text_key or "")

    events = [e for e in of_type(await classify.outbox(), Topic.EXTRACTED)
              if isinstance(e, DocumentExtracted)]
    by_doc = {e.document_id: e.payload for e in events}
    assert by_doc[scan_doc].ocr_used and by_doc[scan_doc].findings.counts == {"pelapor": 1}
    assert by_doc[docx_doc].findings.counts == {"email": 1, "phone": 1}
    assert not by_doc[xlsx_doc].ocr_used


async def test_worker_consumes_from_kafka_and_relays_its_event(classify: Classify) -> None:
    doc = uuid.uuid4()
    pdf = make_pdf([WORDS])
    key = await classify.put_original(OFFICE, doc, 1, pdf, "application/pdf")
    event = received(doc, office=OFFICE, key=key, content_type="application/pdf", size=len(pdf))
    core, prefix = classify.app.core, classify.iso.topic_prefix
    await core.bus.send(OutgoingRecord(topic=prefix + Topic.RECEIVED.value, key=event.key.encode(),
                                       value=event.to_bytes(), headers=[]))
    consumer = EventConsumer(
        bootstrap=core.settings.kafka_bootstrap, group_id=f"dms-classify-{uuid.uuid4().hex[:6]}",
        handlers=classify.handlers, uow_factory=core.uow, bus=core.bus, retries=1,
        backoff_seconds=0.05, topic_prefix=prefix)
    await consumer.start()
    try:
        deadline = time.monotonic() + 60
        while consumer.handled < 1 and time.monotonic() < deadline:
            await consumer.run_once(timeout_ms=300)
    finally:
        await consumer.stop()
    assert (await classify.row(doc)).status == "extracted"
    classify.keys.append(derived_key(OFFICE, doc, 1, TEXT_OBJECT))
    assert await core.relay.relay_once() == 1
