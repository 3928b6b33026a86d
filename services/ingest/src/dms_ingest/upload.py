"""Reading a multipart upload as a stream, and recognising files by their content.

FastAPI's `UploadFile` would spool the whole file to disk before the handler
runs. Here the request body is parsed incrementally: ordinary fields are
collected (bounded), and the file part's bytes are handed on chunk by chunk as
they arrive, so they can go straight into the object store.
"""

from __future__ import annotations

import os
import unicodedata
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 50
SNIFF_BYTES = 8 * 1024


class FormError(ValueError):
    """The request body is not a form this endpoint accepts (answered with 400)."""


@dataclass(frozen=True)
class FilePart:
    field: str
    filename: str
    content_type: str


class StreamingForm:
    """A multipart/form-data body read incrementally from an async byte stream."""

    def __init__(self, content_type_header: str, stream: AsyncIterator[bytes]) -> None:
        kind, options = parse_options_header(content_type_header or "")
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise FormError("Permintaan harus berupa multipart/form-data dengan boundary.")
        self._stream = stream
        self._events: deque[tuple[str, Any]] = deque()
        self.fields: dict[str, str] = {}
        self._parts = 0
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._current: str | None = None
        self._is_file = False
        self._buffer = bytearray()
        self._ended = False
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field_cb,
            "on_header_value": self._header_value_cb,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        })

    # --- parser callbacks (synchronous; they only record what they saw) ---

    def _part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise FormError(f"Formulir memiliki terlalu banyak bagian (lebih dari {MAX_PARTS}).")
        self._headers = {}
        self._buffer = bytearray()

    def _header_field_cb(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_cb(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self._current = name
        filename = options.get(b"filename")
        self._is_file = filename is not None
        if filename is not None:
            ctype = self._headers.get(b"content-type", b"application/octet-stream")
            self._events.append(("file", FilePart(
                field=name, filename=clean_filename(filename.decode("utf-8", "replace")),
                content_type=ctype.decode("latin-1"))))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self._events.append(("data", bytes(data[start:end])))
            return
        self._buffer += data[start:end]
        if len(self._buffer) > MAX_FIELD_BYTES:
            raise FormError(f"Isian '{self._current}' terlalu panjang.")

    def _part_end(self) -> None:
        if self._is_file:
            self._events.append(("file_end", None))
        elif self._current:
            self.fields[self._current] = self._buffer.decode("utf-8", "replace")

    def _end(self) -> None:
        self._ended = True

    # --- driving ---

    async def _pump(self) -> bool:
        """Feed the parser one more chunk; False at the end of the body."""
        try:
            chunk = await anext(self._stream)
        except StopAsyncIteration:
            return False
        try:
            self._parser.write(chunk)
        except FormError:
            raise
        except Exception as exc:
            raise FormError(f"Formulir tidak dapat dibaca: {exc}") from exc
        return True

    async def next_file(self) -> FilePart | None:
        """Read up to the next file part (collecting fields on the way); None if there is none."""
        while True:
            while self._events:
                kind, value = self._events.popleft()
                if kind == "file":
                    assert isinstance(value, FilePart)
                    return value
            if not await self._pump():
                return None

    async def file_chunks(self) -> AsyncIterator[bytes]:
        """The current file part's bytes, as they arrive."""
        while True:
            while self._events:
                kind, value = self._events.popleft()
                if kind == "data":
                    if value:
                        yield value
                elif kind == "file_end":
                    return
                else:  # pragma: no cover - a file part cannot start inside another
                    raise FormError("Bagian berkas tidak lengkap.")
            if not await self._pump():
                raise FormError("Unggahan terputus sebelum berkas selesai dikirim.")

    async def finish(self) -> dict[str, str]:
        """Read the rest of the body (fields after the file) and return every field."""
        while await self._pump():
            self._events.clear()  # a second file part is ignored
        if not self._ended:
            raise FormError("Formulir tidak diakhiri dengan benar.")
        return self.fields


def clean_filename(raw: str) -> str:
    """Keep a filename as harmless metadata: no path, no control characters, bounded length."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name)
                   if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".") or "berkas"
    stem, ext = os.path.splitext(name)
    return stem[:200] + ext[:20]


# --- content sniffing ---------------------------------------------------------

ALLOWED_TYPES = {
    "application/pdf": "PDF",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.oasis.opendocument.text": "ODT",
    "application/vnd.oasis.opendocument.spreadsheet": "ODS",
    "text/csv": "CSV",
    "text/plain": "TXT",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/tiff": "TIFF",
}


def sniff(head: bytes, filename: str) -> str:
    """The content type of a file from its first bytes (the filename only separates CSV/TXT
    and the Office formats that share a ZIP container). Unknown → a descriptive label."""
    ext = os.path.splitext(filename.lower())[1]
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head.startswith(b"PK\x03\x04"):
        if b"mimetypeapplication/vnd.oasis.opendocument.text" in head[:200]:
            return "application/vnd.oasis.opendocument.text"
        if b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet" in head[:200]:
            return "application/vnd.oasis.opendocument.spreadsheet"
        ooxml = b"[Content_Types].xml" in head or b"_rels/" in head or b"word/" in head \
            or b"xl/" in head or b"docProps/" in head
        if ooxml and (ext == ".xlsx" or b"xl/" in head):
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if ooxml and (ext == ".docx" or b"word/" in head):
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        return "application/zip"
    if head.startswith(b"MZ"):
        return "application/x-msdownload"
    if head.startswith(b"\x7fELF"):
        return "application/x-executable"
    if _is_text(head):
        return "text/csv" if ext == ".csv" else "text/plain"
    return "application/octet-stream"


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return not head  # an empty file is (empty) text
    sample = head
    for cut in range(4):  # a multi-byte character may be cut at the sniff boundary
        try:
            (sample[: len(sample) - cut] if cut else sample).decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def describe(content_type: str) -> str:
    return ALLOWED_TYPES.get(content_type, content_type)
