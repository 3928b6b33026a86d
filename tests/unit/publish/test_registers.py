"""DIP/DIK entries and files, charts, feeds, previews and webhook signatures (no I/O)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from dms_publish import charts, feeds, previews, registers, webhooks
from dms_publish.projection import new_row

NOW = datetime(2025, 3, 5, 6, 30, tzinfo=UTC)
SCRIPT = '<script>alert("x")</script>'


def parse_xml(data: str | bytes) -> ET.Element:
    """Parse XML this service produced itself (not untrusted input)."""
    return ET.fromstring(data)  # noqa: S314


def test_a_dip_entry_uses_the_dip_fields_and_falls_back_to_the_title() -> None:
    entry = registers.dip_entry(
        nomor=1, document_id=uuid.uuid4(), office_code="6302", office_name="Kotabaru",
        kip_category="Informasi Berkala", title="Judul", published_at=NOW, url="/dokumen/x",
        dip={"summary": "", "holder_unit": "Divisi Hukum", "available_forms": ["softcopy",
                                                                               "hardcopy"]})
    assert entry.ringkasan_isi_informasi == "Judul"
    assert entry.pejabat_unit_penguasa_informasi == "Divisi Hukum"
    assert entry.bentuk_informasi == "softcopy, hardcopy"


def test_a_dik_entry_shows_the_public_description_and_the_period() -> None:
    entry = registers.dik_entry(nomor=2, office_code="63", office_name="Provinsi",
                                public_description="Identitas pelapor", legal_basis="Pasal 17 h",
                                consequence_summary=None, exempt_until=date(2027, 1, 31),
                                decided_at=NOW)
    assert entry.informasi_yang_dikecualikan == "Identitas pelapor"
    assert entry.jangka_waktu_pengecualian == "Sampai 31-01-2027"
    assert entry.ringkasan_konsekuensi == registers.NO_CONSEQUENCE
    blank = registers.dik_entry(nomor=3, office_code="63", office_name="Provinsi",
                                public_description="  ", legal_basis=None,
                                consequence_summary=None, exempt_until=None, decided_at=None)
    assert blank.informasi_yang_dikecualikan == registers.NO_DESCRIPTION
    assert (blank.dasar_hukum, blank.jangka_waktu_pengecualian) == ("-", registers.INDEFINITE)
    # The DIK model has no field that could carry a title, a filename or text.
    assert not {"title", "filename", "text", "judul"} & set(registers.DikEntry.model_fields)


def _entries() -> list[registers.DikEntry]:
    return [registers.dik_entry(nomor=1, office_code="6302", office_name="Kotabaru",
                                public_description="=HYPERLINK(\"http://x\")",
                                legal_basis="Pasal 17 huruf j", consequence_summary="Rugi",
                                exempt_until=None, decided_at=NOW)]


def test_csv_has_the_design_columns_and_neutralises_formulas() -> None:
    rows = registers.table(_entries(), registers.DIK_COLUMNS)
    raw = registers.to_csv(rows)
    assert raw.startswith("\ufeff".encode())
    parsed = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert parsed[0] == [label for _, label in registers.DIK_COLUMNS]
    assert parsed[1][2] == "'=HYPERLINK(\"http://x\")"


def test_xlsx_holds_the_same_rows() -> None:
    rows = registers.table(_entries(), registers.DIK_COLUMNS)
    book = load_workbook(io.BytesIO(registers.to_xlsx(rows, sheet="DIK")))
    sheet = book["DIK"]
    assert [[c.value for c in r] for r in sheet.iter_rows()] == [
        [v if v != "" else None for v in row] for row in rows]


def test_charts_escape_every_label() -> None:
    for svg in (charts.bar_chart([SCRIPT, "b"], [3, 1], title=SCRIPT),
                charts.column_chart([SCRIPT], [-2.5], title=SCRIPT),
                charts.heatmap([SCRIPT], ["2025-01"], [[4]], title=SCRIPT)):
        assert "<script>" not in svg and "&lt;script&gt;" in svg
        parse_xml(str(svg))  # well-formed


def test_feeds_escape_titles_and_parse() -> None:
    row = new_row(uuid.uuid4(), "6302", 1)
    row.title, row.kip_category, row.publication_id = SCRIPT, "berkala", uuid.uuid4()
    row.published_at, row.dip = NOW, {"summary": "a & b"}
    body = feeds.atom_feed(base_url="http://portal", feed_path="/feed.atom", title="Umpan",
                           rows=[row], offices={"6302": "Kotabaru"},
                           category_labels={"berkala": "Informasi Berkala"})
    assert b"<script>" not in body
    root = parse_xml(body)
    ns = {"a": feeds.ATOM}
    assert root.find("a:entry/a:title", ns).text == SCRIPT  # type: ignore[union-attr]
    link = root.find("a:entry/a:link", ns)
    assert link is not None and link.get("href") == f"http://portal/dokumen/{row.document_id}"
    sitemap = parse_xml(feeds.sitemap(base_url="http://portal", paths=[("/", NOW)]))
    loc = sitemap.find(f"{{{feeds.SITEMAP}}}url/{{{feeds.SITEMAP}}}loc")
    assert loc is not None and loc.text == "http://portal/"


def test_previews_of_a_redacted_publication_never_use_the_unredacted_pages() -> None:
    row = new_row(uuid.uuid4(), "6302", 2)
    prefix = f"6302/{row.document_id}/2/derived"
    assert previews.page_key(row, 3) == f"{prefix}/previews/page-3.png"
    assert previews.table_key(row) == f"{prefix}/table.json"
    row.redacted_object_key = f"{prefix}/redacted.pdf"
    assert previews.page_key(row, 3) == f"{prefix}/redacted-previews/page-3.png"
    assert previews.table_key(row) is None


def test_the_table_classify_derives_reads_as_a_header_and_rows() -> None:
    table = previews.normalise_table({"sheets": [
        {"name": "Rekap", "rows": [["kecamatan", "jumlah"], ["Tapin Utara", 12],
                                   ["Tapin Selatan", 7]], "truncated": False}]})
    assert table is not None
    assert table.columns == ["kecamatan", "jumlah"]
    assert table.rows == [["Tapin Utara", 12], ["Tapin Selatan", 7]]
    assert previews.normalise_table({"sheets": [{"name": "Kosong", "rows": []}]}) is None


def test_tables_are_parsed_and_numeric_columns_found() -> None:
    table = previews.parse_table(b"Kecamatan;Pemilih;Catatan\nA;1.234;x\nB;56,5;\n",
                                 "text/csv", "data.csv")
    assert table is not None
    assert table.columns == ["Kecamatan", "Pemilih", "Catatan"]
    assert table.numeric == {1: [1234.0, 56.5]}
    assert previews.parse_table(b"%PDF-1.7", "application/pdf", "a.pdf") is None
    assert previews.normalise_table({"columns": "x"}) is None


def test_webhook_signatures_and_backoff() -> None:
    signature = webhooks.sign("rahasia", 1_700_000_000, b'{"a":1}')
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert webhooks.verify("rahasia", 1_700_000_000, b'{"a":1}', signature)
    assert not webhooks.verify("rahasia", 1_700_000_001, b'{"a":1}', signature)
    assert not webhooks.verify("lain", 1_700_000_000, b'{"a":1}', signature)
    assert [webhooks.backoff(n, base_seconds=5).total_seconds() for n in (1, 2, 3)] == [
        5, 10, 20]
    assert webhooks.backoff(30, base_seconds=5) == timedelta(hours=1)


@pytest.mark.parametrize(("text", "number"), [("1.234,5", 1234.5), ("12", 12.0),
                                              ("-3,25", -3.25), ("abc", None), ("", None)])
def test_indonesian_numbers(text: str, number: float | None) -> None:
    assert previews.as_number(text) == number
