"""Streaming multipart parsing, content sniffing and filename hygiene (pure)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dms_ingest.service import derive_status
from dms_ingest.upload import FormError, StreamingForm, clean_filename, sniff
from tests.support.pdf import make_pdf

BOUNDARY = "----dmsboundary"


def form_body(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n").encode()
        out += data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


async def chunked(body: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i:i + size]


@pytest.mark.parametrize("chunk", [1, 7, 4096])
async def test_fields_before_and_after_the_file_are_kept(chunk: int) -> None:
    payload = bytes(range(256)) * 300
    body = form_body([("title", None, b"Judul"), ("file", "a.bin", payload),
                      ("tags", None, b"pemilu,dpt")])
    form = StreamingForm(f"multipart/form-data; boundary={BOUNDARY}", chunked(body, chunk))
    part = await form.next_file()
    assert part is not None and part.filename == "a.bin" and part.field == "file"
    received = b"".join([c async for c in form.file_chunks()])
    fields = await form.finish()
    assert received == payload
    assert fields == {"title": "Judul", "tags": "pemilu,dpt"}


async def test_too_many_parts_is_refused() -> None:
    body = form_body([(f"f{i}", None, b"x") for i in range(60)])
    form = StreamingForm(f"multipart/form-data; boundary={BOUNDARY}", chunked(body, 1000))
    with pytest.raises(FormError, match="terlalu banyak"):
        await form.next_file()


async def test_truncated_upload_is_refused() -> None:
    body = form_body([("file", "a.pdf", b"%PDF-1.4 " + b"x" * 5000)])[:-200]
    form = StreamingForm(f"multipart/form-data; boundary={BOUNDARY}", chunked(body, 512))
    assert await form.next_file() is not None
    with pytest.raises(FormError, match="terputus"):
        _ = [c async for c in form.file_chunks()]


def test_not_multipart_is_refused() -> None:
    async def empty() -> AsyncIterator[bytes]:
        yield b""
    with pytest.raises(FormError):
        StreamingForm("application/json", empty())


@pytest.mark.parametrize(("head", "name", "expected"), [
    (make_pdf(["x"])[:100], "a.pdf", "application/pdf"),
    (b"MZ\x90\x00" + b"\x00" * 60, "setup.pdf", "application/x-msdownload"),
    (b"\x89PNG\r\n\x1a\n....", "a.png", "image/png"),
    (b"\xff\xd8\xff\xe0", "a.jpg", "image/jpeg"),
    (b"no,nama\n1,Andi\n", "data.csv", "text/csv"),
    (b"Pemilihan umum 2024", "a.txt", "text/plain"),
    (b"PK\x03\x04....mimetypeapplication/vnd.oasis.opendocument.text", "a.odt",
     "application/vnd.oasis.opendocument.text"),
    (b"PK\x03\x04....[Content_Types].xml....word/document.xml", "a.docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"\x00\x01\x02garbage", "a.txt", "application/octet-stream"),
])
def test_sniff_by_content(head: bytes, name: str, expected: str) -> None:
    assert sniff(head, name) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\laporan.pdf", "laporan.pdf"),
    ("lapor\x00an\x1b.pdf", "laporan.pdf"),
    ("...", "berkas"),
    ("a" * 500 + ".pdf", "a" * 200 + ".pdf"),
])
def test_filenames_are_metadata_not_paths(raw: str, expected: str) -> None:
    assert clean_filename(raw) == expected


def test_status_is_derived_from_seqs_not_arrival_order() -> None:
    assert derive_status({}, None, None) == "received"
    assert derive_status({"dms.document.extracted": 1}, False, None) == "extraction_failed"
    assert derive_status({"dms.document.extracted": 1, "dms.document.classified": 2}, True,
                         "dikecualikan") == "withheld"
    both = {"dms.document.published": 2, "dms.document.withdrawn": 3}
    assert derive_status(both, True, "setiap_saat") == "withdrawn"
    both["dms.document.published"] = 4
    assert derive_status(both, True, "setiap_saat") == "published"
