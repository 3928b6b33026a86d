"""Redaction: the blacked-out text is gone from the copy, everything else is still readable."""

from __future__ import annotations

import re
from pathlib import Path

import pypdf
import pytest

from dms_classify.extraction import PDF, ExtractionFailed, ExtractionLimits, extract_file
from dms_classify.redaction import Located, redact_pdf
from tests.unit.classify.files import make_scanned_pdf
from tests.unit.classify.pdfs import make_pdf

LIMITS = ExtractionLimits(max_bytes=50_000_000, max_chars=100_000, max_pages=20)
LINES = [
    "Laporan hasil pengawasan kampanye Kotabaru",
    "Nama Pelapor: Budi Santoso",
    "NIK 6302011505900001 telepon 081234567890",
    "Kejadian di TPS nomor dua belas kecamatan Pulau Laut",
]
SECRETS = ["Budi Santoso", "6302011505900001", "081234567890"]


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z0-9]{3,}", text)}


def _multi_line_pdf(lines: list[str]) -> bytes:
    # One text line per page keeps the hand-written PDF simple; four pages, four lines.
    return make_pdf(lines)


def _check(result: dict[str, object], original_text: str) -> None:
    pdf_path = Path(str(result["pdf_file"]))
    # The copy has no text layer at all, and nothing of the original's structure.
    reader = pypdf.PdfReader(pdf_path)
    assert all((page.extract_text() or "").strip() == "" for page in reader.pages)
    assert not reader.attachments
    # OCR of the copy (ours, and the stored redacted text): secrets gone, the rest there.
    stored = Path(str(result["text_file"])).read_text(encoding="utf-8")
    for ocr in (extract_file(pdf_path, PDF, limits=LIMITS).text, stored):
        for secret in SECRETS:
            assert secret not in ocr and secret.replace(" ", "") not in ocr.replace(" ", "")
        for part in ("Budi", "Santoso"):
            assert part not in ocr
        kept = _words(original_text) - _words(" ".join(SECRETS))
        found = kept & _words(ocr)
        assert len(found) >= 0.9 * len(kept), sorted(kept - found)


def test_text_pdf_redaction(tmp_path: Path) -> None:
    source = tmp_path / "original"
    source.write_bytes(_multi_line_pdf(LINES))
    result = redact_pdf(source, tmp_path / "out", strings=SECRETS, boxes=[], limits=LIMITS)
    assert result["pages"] == 4 and result["located"] == 3
    assert len(result["previews"]) == 3
    _check(result, "\n".join(LINES))


def test_scanned_pdf_redaction_through_ocr_word_boxes(tmp_path: Path) -> None:
    source = tmp_path / "original"
    source.write_bytes(make_scanned_pdf([LINES]))
    result = redact_pdf(source, tmp_path / "out", strings=SECRETS, boxes=[], limits=LIMITS)
    assert result["located"] == 3
    _check(result, "\n".join(LINES))


def test_a_box_drawn_by_hand(tmp_path: Path) -> None:
    source = tmp_path / "original"
    source.write_bytes(make_pdf(["Rahasia negara di sini"]))
    # The line sits at y=720 (baseline) in 12 pt Helvetica: cover the whole line.
    result = redact_pdf(source, tmp_path / "out", strings=[],
                        boxes=[Located(0, (60, 710, 400, 740))], limits=LIMITS)
    ocr = extract_file(Path(str(result["pdf_file"])), PDF, limits=LIMITS).text
    assert "Rahasia" not in ocr and "negara" not in ocr


def test_a_string_that_cannot_be_located_refuses(tmp_path: Path) -> None:
    source = tmp_path / "original"
    source.write_bytes(make_pdf(["Laporan pengawasan"]))
    with pytest.raises(ExtractionFailed) as info:
        redact_pdf(source, tmp_path / "out", strings=["Tidak Ada"], boxes=[], limits=LIMITS)
    assert info.value.code == "redaction_not_located"
    assert not (tmp_path / "out" / "redacted.pdf").exists()
