"""Text extraction on real files made in the test, and on hostile ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from dms_classify.extraction import (
    ExtractionFailed,
    ExtractionLimits,
    extract_file,
    extract_object,
    guess_language,
)
from dms_common.storage import ObjectStore
from dms_common.testing.fake_store import FakeStore
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
    path = write(tmp_path, b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ExtractionFailed) as info:
        extract_file(path, "image/png", limits=LIMITS)
    assert info.value.reason == "unsupported_type: image/png"


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
    assert "Pemungutan suara ulang di TPS 12" in result.text
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
        await extract_object(store=store, key="big", content_type="image/jpeg", limits=small)
    assert info.value.code == "unsupported_type"
    assert fake.opened[-1].info.key == "big"  # the unsupported file was never opened again
    assert len(fake.opened) == 1
