"""Reading a multipart upload as a stream, and recognising files by their content.

FastAPI's `UploadFile` would spool the whole file to disk before the handler
runs. Here the request body is parsed incrementally: ordinary fields are
collected (bounded), and the file part's bytes are handed on chunk by chunk as
they arrive, so they can go straight into the object store.
"""

from __future__ import annotations

import asyncio
import os
import unicodedata
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header

from dms_common.errors import ApiError
from dms_common.storage import ObjectStore, ObjectTooLarge, StoredObject

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
            if any(kind == "file" for kind, _ in self._events):
                # Which of two files would be the document? Neither: the sender decides.
                raise FormError("Satu unggahan hanya boleh berisi satu berkas; kirim berkas "
                                "lainnya sebagai unggahan terpisah.")
            self._events.clear()
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


# --- Office archives (DOCX, XLSX, ODT, ODS are ZIP files) ------------------------------------

ARCHIVE_TYPES = frozenset({
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
})
# The central directory sits at the end of a ZIP file: keeping this many trailing bytes while
# streaming is enough to read it for any archive within the entry limit (an entry takes ~80 bytes).
ARCHIVE_TAIL_BYTES = 2 * 1024 * 1024
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL_ENTRY = b"PK\x01\x02"
_ZIP64_MARK = 0xFFFFFFFF


class TailBuffer:
    """The last `size` bytes of a stream, kept in bounded memory."""

    def __init__(self, size: int = ARCHIVE_TAIL_BYTES) -> None:
        self._size = size
        self._data = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self._data += chunk
        if len(self._data) > 2 * self._size:  # trim rarely: amortised O(1) per byte
            del self._data[: len(self._data) - self._size]

    @property
    def tail(self) -> bytes:
        return bytes(self._data[-self._size:])


@dataclass(frozen=True)
class ArchiveSummary:
    entries: int
    uncompressed: int


def read_zip_directory(tail: bytes) -> ArchiveSummary:
    """Count the entries of a ZIP file and add up their declared uncompressed sizes, from the
    file's trailing bytes. Raises FormError when the directory is missing, damaged or does not
    fit in `tail` (which, with ARCHIVE_TAIL_BYTES, means far too many entries)."""
    start = tail.rfind(_EOCD, max(0, len(tail) - 22 - 65535))
    while start >= 0 and start + 22 + int.from_bytes(tail[start + 20:start + 22], "little") \
            != len(tail):
        start = tail.rfind(_EOCD, max(0, len(tail) - 22 - 65535), start)
    if start < 0:
        raise FormError("Arsip rusak: direktori ZIP tidak ditemukan.")
    declared = int.from_bytes(tail[start + 10:start + 12], "little")
    cd_size = int.from_bytes(tail[start + 12:start + 16], "little")
    end = start
    locator = start - 20
    if locator >= 0 and tail[locator:locator + 4] == _EOCD64_LOCATOR:
        record = locator - 56
        if record < 0 or tail[record:record + 4] != _EOCD64:
            raise FormError("Arsip rusak: direktori ZIP64 tidak lengkap.")
        declared = int.from_bytes(tail[record + 32:record + 40], "little")
        cd_size = int.from_bytes(tail[record + 40:record + 48], "little")
        end = record
    begin = end - cd_size
    if begin < 0:
        raise FormError("Direktori arsip terlalu besar (terlalu banyak entri).")
    entries = uncompressed = 0
    pos = begin
    while pos < end:
        if tail[pos:pos + 4] != _CENTRAL_ENTRY or pos + 46 > end:
            raise FormError("Arsip rusak: entri direktori ZIP tidak valid.")
        size = int.from_bytes(tail[pos + 24:pos + 28], "little")
        name_len = int.from_bytes(tail[pos + 28:pos + 30], "little")
        extra_len = int.from_bytes(tail[pos + 30:pos + 32], "little")
        comment_len = int.from_bytes(tail[pos + 32:pos + 34], "little")
        if size == _ZIP64_MARK:
            size = _zip64_size(tail[pos + 46 + name_len:pos + 46 + name_len + extra_len])
        entries += 1
        uncompressed += size
        pos += 46 + name_len + extra_len + comment_len
    return ArchiveSummary(entries=max(entries, declared), uncompressed=uncompressed)


def _zip64_size(extra: bytes) -> int:
    pos = 0
    while pos + 4 <= len(extra):
        tag = int.from_bytes(extra[pos:pos + 2], "little")
        length = int.from_bytes(extra[pos + 2:pos + 4], "little")
        if tag == 1 and length >= 8:
            return int.from_bytes(extra[pos + 4:pos + 12], "little")
        pos += 4 + length
    raise FormError("Arsip rusak: ukuran ZIP64 tidak tercatat.")


def archive_problem(summary: ArchiveSummary, *, max_entries: int,
                    max_uncompressed: int) -> str | None:
    """What is wrong with an archive's shape (in Indonesian), or None."""
    if summary.entries > max_entries:
        return (f"Arsip berisi terlalu banyak entri: {summary.entries} "
                f"(batas {max_entries}).")
    if summary.uncompressed > max_uncompressed:
        return (f"Ukuran isi arsip setelah diekstrak terlalu besar: "
                f"{summary.uncompressed // (1024 * 1024)} MB "
                f"(batas {max_uncompressed // (1024 * 1024)} MB).")
    return None


# --- receiving one upload --------------------------------------------------------------------


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_archive_entries: int
    max_archive_uncompressed: int


@dataclass(frozen=True)
class Received:
    """A file now stored under `stored.key`, with the form's other fields."""

    filename: str
    content_type: str
    stored: StoredObject
    fields: dict[str, str]


class _Unsupported(Exception):
    def __init__(self, detected: str) -> None:
        super().__init__(detected)
        self.detected = detected


def too_large(limit: int) -> ApiError:
    return ApiError(413, "file_too_large",
                    f"Berkas melebihi batas ukuran {limit // (1024 * 1024)} MB.")


async def stream_upload(*, content_type_header: str, body: AsyncIterator[bytes],
                        store: ObjectStore, key: str, limits: UploadLimits) -> Received:
    """Stream a form's file part into the store under `key`, checking it on the way.

    Raises ApiError (400, 413, 415, 422) for a form or file that breaks a rule; nothing is left
    stored then. On success the caller owns the object and must delete it if it cannot commit.
    """
    try:
        form = StreamingForm(content_type_header, body)
        part = await form.next_file()
    except FormError as exc:
        raise ApiError(400, "invalid_form", str(exc)) from exc
    if part is None or part.field != "file":
        raise ApiError(422, "file_missing", "Berkas (isian 'file') wajib diunggah.")
    sniffed: dict[str, str] = {}
    tails: list[TailBuffer] = []

    async def checked_chunks() -> AsyncIterator[bytes]:
        head = bytearray()
        chunks = form.file_chunks()
        async for chunk in chunks:
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        sniffed["type"] = detected = sniff(bytes(head[:SNIFF_BYTES]), part.filename)
        if detected not in ALLOWED_TYPES:
            raise _Unsupported(detected)
        tail = TailBuffer() if detected in ARCHIVE_TYPES else None
        if tail is not None:
            tails.append(tail)
            tail.feed(bytes(head))
        yield bytes(head)
        async for chunk in chunks:
            if tail is not None:
                tail.feed(chunk)
            yield chunk

    try:
        stored = await store.put_stream(key, checked_chunks(),
                                        content_type="application/octet-stream",
                                        max_bytes=limits.max_bytes)
    except ObjectTooLarge as exc:
        raise too_large(limits.max_bytes) from exc
    except _Unsupported as exc:
        allowed = ", ".join(sorted(set(ALLOWED_TYPES.values())))
        raise ApiError(415, "unsupported_type",
                       f"Jenis berkas tidak diizinkan: terdeteksi {describe(exc.detected)}. "
                       f"Yang diizinkan: {allowed}.") from exc
    except FormError as exc:
        raise ApiError(400, "invalid_form", str(exc)) from exc
    try:
        fields = await form.finish()
        if tails:
            _check_archive(tails[0], sniffed["type"], limits)
    except BaseException as exc:
        await asyncio.shield(store.delete(key))
        if isinstance(exc, FormError):
            raise ApiError(400, "invalid_form", str(exc)) from exc
        raise
    return Received(filename=part.filename, content_type=sniffed["type"], stored=stored,
                    fields=fields)


def _check_archive(tail: TailBuffer, content_type: str, limits: UploadLimits) -> None:
    label = describe(content_type)
    try:
        summary = read_zip_directory(tail.tail)
    except FormError as exc:
        raise ApiError(422, "invalid_archive", f"Berkas {label} tidak valid: {exc}") from exc
    problem = archive_problem(summary, max_entries=limits.max_archive_entries,
                              max_uncompressed=limits.max_archive_uncompressed)
    if problem is not None:
        code = ("archive_too_many_entries" if summary.entries > limits.max_archive_entries
                else "archive_too_large")
        raise ApiError(422, code, f"Berkas {label} ditolak. {problem}")
