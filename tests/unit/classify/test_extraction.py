"""Text extraction on real files made in the test, and on hostile ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from dms_classify.extraction import (
    DOCX,
    ODS,
    ODT,
    PDF,
    XLSX,
    ExtractionFailed,
    ExtractionLimits,
    extract_file,
    guess_language,
    render_previews,
)
from dms_classify.sandbox import extract_object
from dms_common.storage import ObjectStore
from dms_common.testing.fake_store import FakeStore
from tests.unit.classify.files import (
    make_docx,
    make_ods,
    make_odt,
    make_png,
    make_scanned_pdf,
    make_xlsx,
)
from tests.unit.classify.pdfs import make_pdf

LIMITS = ExtractionLimits(max_bytes=10_000_000, max_chars=100_000, max_pages=50)


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "original"
    path.write_bytes(data)
    return path


def test_pdf_text_and_page_count(tmp_path: Path) -> None:
    path = write(tmp_path, make_pdf(["Laporan hasil pengawasan tahapan kampanye",
                                     "Rekapitulasi (final) dari Kabupaten Kotabaru"]))
    result = extract_file(path, "application/pdf", limits=LIMITS)
    assert result.pages == 2
    assert "Laporan hasil pengawasan tahapan kampanye" in result.text
    assert "Rekapitulasi (final) dari Kabupaten Kotabaru" in result.text
    assert not result.truncated
    assert guess_language(result.text) == "id"


def test_pdf_text_is_capped(tmp_path: Path) -> None:
    path = write(tmp_path, make_pdf(["a" * 80] * 5))
    result = extract_file(path, "application/pdf",
                          limits=ExtractionLimits(max_bytes=10_000, max_chars=100, max_pages=50))
    assert result.truncated
    assert len(result.text) <= 100 + 4  # page separators
    assert result.pages == 5


def test_pdf_with_too_many_pages_fails(tmp_path: Path) -> None:
    path = write(tmp_path, make_pdf(["x"] * 3))
    with pytest.raises(ExtractionFailed) as info:
        extract_file(path, "application/pdf",
                     limits=ExtractionLimits(max_bytes=10_000, max_chars=100, max_pages=2))
    assert info.value.code == "too_many_pages"


@pytest.mark.parametrize("garbage", [
    b"",
    b"MZ\x90\x00 this is no PDF at all" * 100,
    b"%PDF-1.7\n" + bytes(range(256)) * 40,
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n",
])
def test_hostile_pdf_fails_with_a_reason(tmp_path: Path, garbage: bytes) -> None:
    path = write(tmp_path, garbage)
    try:
        result = extract_file(path, "application/pdf", limits=LIMITS)
    except ExtractionFailed as failure:
        assert failure.code == "unreadable_pdf"
        assert failure.reason.startswith("unreadable_pdf: ")
        assert len(failure.reason) <= 300
    else:  # a parser may repair a broken file into an empty document; never a crash
        assert result.text == ""


def test_garbage_pdf_reason(tmp_path: Path) -> None:
    path = write(tmp_path, b"\x00\xff garbage, not a PDF \x00" * 50)
    with pytest.raises(ExtractionFailed) as info:
        extract_file(path, "application/pdf", limits=LIMITS)
    assert info.value.code == "unreadable_pdf"


def test_utf8_text_and_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffNama;Jabatan\nSiti Aisyah;Ketua — Bawaslu\n".encode())
    for content_type in ("text/plain; charset=utf-8", "text/csv"):
        result = extract_file(path, content_type, limits=LIMITS)
        assert result.text == "Nama;Jabatan\nSiti Aisyah;Ketua — Bawaslu\n"
        assert result.pages is None


def test_latin1_fallback(tmp_path: Path) -> None:
    path = write(tmp_path, "Pengumuman caf\xe9".encode("latin-1"))
    assert extract_file(path, "text/plain", limits=LIMITS).text == "Pengumuman café"


def test_text_cut_inside_a_multibyte_character(tmp_path: Path) -> None:
    path = write(tmp_path, "é".encode() * 10)  # 20 bytes, the budget cuts at 8 bytes
    result = extract_file(path, "text/plain",
                          limits=ExtractionLimits(max_bytes=100, max_chars=2, max_pages=1))
    assert result.text == "éé"
    assert result.truncated


def test_unsupported_type(tmp_path: Path) -> None:
    path = write(tmp_path, b"PK\x03\x04")
    with pytest.raises(ExtractionFailed) as info:
        extract_file(path, "application/zip", limits=LIMITS)
    assert info.value.reason == "unsupported_type: application/zip"


def test_docx_paragraphs_and_tables(tmp_path: Path) -> None:
    path = write(tmp_path, make_docx(["Berita acara rapat pleno", "Kabupaten Tapin"],
                                     table=[["Nama", "Jabatan"], ["Siti Aisyah", "Ketua"]]))
    result = extract_file(path, DOCX, limits=LIMITS)
    assert result.text == "Berita acara rapat pleno\nKabupaten Tapin\nNama\tJabatan\n" \
        "Siti Aisyah\tKetua"


def test_xlsx_text_and_table_form(tmp_path: Path) -> None:
    rows: list[list[object]] = [["No", "Nama TPS", "Suara sah"]]
    rows += [[i, f"TPS {i:03d}", 200 + i] for i in range(1, 8)]
    path = write(tmp_path, make_xlsx({"Rekap": rows, "Catatan": [["Selesai", None]]}))
    limits = ExtractionLimits(max_bytes=10_000_000, max_chars=100_000, max_pages=50,
                              table_rows=3)
    result = extract_file(path, XLSX, limits=limits)
    assert "# Rekap\nNo\tNama TPS\tSuara sah\n1\tTPS 001\t201" in result.text
    assert "TPS 007\t207" in result.text and "# Catatan\nSelesai" in result.text
    assert result.table is not None
    rekap, catatan = result.table["sheets"]
    assert rekap["rows"] == [["No", "Nama TPS", "Suara sah"], ["1", "TPS 001", "201"],
                             ["2", "TPS 002", "202"]]
    assert rekap["truncated"] and not catatan["truncated"]
    assert catatan["rows"] == [["Selesai"]]


def test_odt_and_ods(tmp_path: Path) -> None:
    odt = extract_file(write(tmp_path, make_odt(["Notulen rapat", "Divisi Hukum"])), ODT,
                       limits=LIMITS)
    assert odt.text == "Notulen rapat\nDivisi Hukum"
    ods = extract_file(write(tmp_path, make_ods([["Kecamatan", "Jumlah"], ["Binuang", "12"]])),
                       ODS, limits=LIMITS)
    assert ods.text == "# Rekap\nKecamatan\tJumlah\nBinuang\t12"
    assert ods.table == {"sheets": [{"name": "Rekap", "truncated": False,
                                     "rows": [["Kecamatan", "Jumlah"], ["Binuang", "12"]]}]}


def test_csv_table_form(tmp_path: Path) -> None:
    path = write(tmp_path, b"kecamatan;tps\nBinuang;12\nTapin Utara;30\n")
    result = extract_file(path, "text/csv", limits=LIMITS)
    assert result.table == {"sheets": [{"name": "CSV", "truncated": False, "rows": [
        ["kecamatan", "tps"], ["Binuang", "12"], ["Tapin Utara", "30"]]}]}


def test_broken_office_files_fail_with_a_reason(tmp_path: Path) -> None:
    for kind in (DOCX, XLSX, ODT, ODS):
        with pytest.raises(ExtractionFailed) as info:
            extract_file(write(tmp_path, b"PK\x03\x04 broken" * 10), kind, limits=LIMITS)
        assert info.value.code == "unreadable_file"


def test_zip_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * 5_000_000)
    path = write(tmp_path, buffer.getvalue())
    limits = ExtractionLimits(max_bytes=10_000_000, max_chars=100, max_pages=1,
                              max_unzipped_bytes=1_000_000)
    with pytest.raises(ExtractionFailed) as info:
        extract_file(path, DOCX, limits=limits)
    assert info.value.code == "zip_bomb"


def test_scanned_pdf_is_read_by_ocr(tmp_path: Path) -> None:
    path = write(tmp_path, make_scanned_pdf([["Laporan hasil pengawasan kampanye"],
                                             ["Kabupaten Hulu Sungai Selatan"]]))
    result = extract_file(path, PDF, limits=LIMITS)
    assert result.ocr_used and result.pages == 2
    assert "Laporan hasil pengawasan kampanye" in result.text
    assert "Hulu Sungai Selatan" in result.text
    without = extract_file(path, PDF, limits=ExtractionLimits(
        max_bytes=10_000_000, max_chars=100_000, max_pages=50, ocr=False))
    assert (without.text, without.ocr_used) == ("", False)


def test_text_pdf_needs_no_ocr(tmp_path: Path) -> None:
    result = extract_file(write(tmp_path, make_pdf(["Pengumuman rekrutmen pengawas TPS"])), PDF,
                          limits=LIMITS)
    assert not result.ocr_used


def test_image_is_read_by_ocr(tmp_path: Path) -> None:
    path = write(tmp_path, make_png(["Pengumuman hasil rekapitulasi suara"]))
    result = extract_file(path, "image/png", limits=LIMITS)
    assert result.ocr_used and result.pages == 1
    assert "Pengumuman hasil rekapitulasi suara" in result.text
    with pytest.raises(ExtractionFailed) as info:
        extract_file(write(tmp_path, b"\x89PNG\r\n\x1a\n" + b"\0" * 40), "image/png",
                     limits=LIMITS)
    assert info.value.code == "unreadable_image"


def test_previews_of_the_first_pages(tmp_path: Path) -> None:
    from PIL import Image

    path = write(tmp_path, make_pdf(["satu", "dua", "tiga", "empat"]))
    limits = ExtractionLimits(max_bytes=10_000_000, max_chars=100, max_pages=50,
                              preview_pages=2)
    previews = render_previews(path, PDF, tmp_path / "p", limits=limits)
    assert [p.name for p in previews] == ["page-1.png", "page-2.png"]
    with Image.open(previews[0]) as image:
        assert image.format == "PNG" and image.width == 459  # 612 pt at scale 0.75
    assert render_previews(write(tmp_path, b"garbage"), PDF, tmp_path / "q", limits=limits) == []


def test_guess_language() -> None:
    assert guess_language("") is None
    assert guess_language("The report of the election supervisory body is in the file") == "en"
    assert guess_language("Laporan ini adalah hasil pengawasan yang dilakukan oleh Bawaslu") == "id"


async def test_extract_object_streams_from_the_store() -> None:
    fake = FakeStore()
    fake.seed("k/original", make_pdf(["Pemungutan suara ulang di TPS 12"]))
    store: ObjectStore = fake
    result = await extract_object(store=store, key="k/original", content_type="application/pdf",
                                  limits=LIMITS)
    assert "Pemungutan suara ulang di TPS 12" in result.extracted.text
    assert len(result.previews) == 1 and result.previews[0].startswith(b"\x89PNG")
    assert all(reader._closed for reader in fake.opened)


async def test_extract_object_failures() -> None:
    fake = FakeStore()
    fake.seed("big", b"x" * 2000)
    store: ObjectStore = fake
    small = ExtractionLimits(max_bytes=1000, max_chars=100, max_pages=1)
    with pytest.raises(ExtractionFailed) as info:
        await extract_object(store=store, key="big", content_type="text/plain", limits=small)
    assert info.value.code == "too_large"
    with pytest.raises(ExtractionFailed) as info:
        await extract_object(store=store, key="absent", content_type="text/plain", limits=small)
    assert info.value.code == "original_missing"
    with pytest.raises(ExtractionFailed) as info:
        await extract_object(store=store, key="big", content_type="application/x-msdownload",
                             limits=small)
    assert info.value.code == "unsupported_type"
    assert fake.opened[-1].info.key == "big"  # the unsupported file was never opened again
    assert len(fake.opened) == 1
