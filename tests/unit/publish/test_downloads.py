"""Download names, their headers, and list cursors (no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from dms_publish.downloads import content_disposition, download_filename, safe_filename
from dms_publish.listing import Cursor, SortKey, decode_cursor, encode_cursor
from dms_publish.projection import new_row


@pytest.mark.parametrize(("name", "expected"), [
    ("laporan.pdf", "laporan.pdf"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\a\\rekap.xlsx", "rekap.xlsx"),
    ('a"b;c.pdf', "a'b_c.pdf"),
    ("baris\r\nbaru.pdf", "barisbaru.pdf"),
    ("  .. ", "dokumen"),
    (None, "dokumen"),
])
def test_safe_filename(name: str | None, expected: str) -> None:
    assert safe_filename(name) == expected


def test_long_names_keep_their_extension() -> None:
    name = safe_filename("a" * 400 + ".pdf")
    assert len(name) <= 150 and name.endswith(".pdf")


def test_content_disposition_has_an_ascii_fallback_and_the_utf8_name() -> None:
    header = content_disposition("Laporan Pengawasan — Tahap 1.pdf")
    assert header.startswith('attachment; filename="Laporan Pengawasan  Tahap 1.pdf"; ')
    assert "filename*=UTF-8''Laporan%20Pengawasan%20%E2%80%94%20Tahap%201.pdf" in header
    assert "\r" not in header and "\n" not in header


@pytest.mark.parametrize(("name", "fallback"), [
    ("Café ünïcode.pdf", 'filename="Cafe unicode.pdf"'),
    ("日本.pdf", 'filename="dokumen.pdf"'),
    ("a\x00b<>.pdf", 'filename="ab_.pdf"'),
])
def test_content_disposition_ascii_fallback(name: str, fallback: str) -> None:
    assert fallback in content_disposition(name)


def test_the_redacted_copy_is_named_as_such() -> None:
    row = new_row(uuid.uuid4(), "6302", 1)
    row.filename = "laporan.docx"
    row.redacted_object_key = row.public_object_key = f"6302/{row.document_id}/1/derived/r.pdf"
    assert download_filename(row, "application/pdf") == "laporan-disamarkan.pdf"
    row.redacted_object_key = None
    row.public_object_key = f"6302/{row.document_id}/1/original"
    assert download_filename(row, "application/pdf") == "laporan.docx"


def test_a_missing_filename_falls_back_to_the_document_id() -> None:
    row = new_row(uuid.uuid4(), "6302", 1)
    assert download_filename(row, None) == f"dokumen-{row.document_id}"


@pytest.mark.parametrize(("sort", "value"), [
    (SortKey.NEWEST, datetime(2025, 3, 5, 6, 30, 1, 123456, tzinfo=UTC)),
    (SortKey.DOCUMENT_DATE, date(2024, 12, 31)),
    (SortKey.TITLE_DESC, "Laporan \"kampanye\" | 2025"),
])
def test_cursor_round_trip(sort: SortKey, value: datetime | date | str) -> None:
    doc = uuid.uuid4()
    assert decode_cursor(encode_cursor(sort, value, doc), sort) == Cursor(sort, value, doc)


@pytest.mark.parametrize("cursor", ["", "!!!", "bm9wZQ", "e30", encode_cursor.__name__])
def test_a_foreign_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match="invalid cursor"):
        decode_cursor(cursor, SortKey.NEWEST)


def test_a_cursor_of_another_sort_is_refused() -> None:
    cursor = encode_cursor(SortKey.TITLE, "A", uuid.uuid4())
    with pytest.raises(ValueError, match="invalid cursor"):
        decode_cursor(cursor, SortKey.NEWEST)
