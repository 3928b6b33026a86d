"""Text extraction: from a stored original to plain text, within limits.

`extract_file` is the blocking part (parsers on a local file) and is pure enough to test
without servers; `extract_object` streams the original from the object store into a
temporary file and runs `extract_file` on a worker thread. Both report a file that cannot
be read as :class:`ExtractionFailed` with a stable reason code, never as a crash: a failed
extraction is a normal outcome (`extraction_failed`, still classifiable by hand).
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pypdf
import pypdfium2 as pdfium  # type: ignore[import-untyped]  # ships no py.typed

from dms_common.storage import ObjectNotFound, ObjectStore

log = logging.getLogger(__name__)

PDF = "application/pdf"
PLAIN_TEXT_TYPES = frozenset({"text/plain", "text/csv"})
SUPPORTED_TYPES = frozenset({PDF, *PLAIN_TEXT_TYPES})

# PDFium is not thread-safe: one document at a time per process.
_PDFIUM = threading.Lock()


@dataclass(frozen=True)
class ExtractionLimits:
    max_bytes: int
    max_chars: int
    max_pages: int


@dataclass(frozen=True)
class ExtractedText:
    text: str
    pages: int | None
    truncated: bool


class ExtractionFailed(Exception):
    """The file yields no text; `reason` starts with a stable code (`unsupported_type`, ...)."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.reason = f"{code}: {detail}"[:300] if detail else code
        super().__init__(self.reason)


def media_type(content_type: str) -> str:
    """`text/plain; charset=utf-8` -> `text/plain`."""
    return content_type.split(";", 1)[0].strip().lower()


def is_supported(content_type: str) -> bool:
    return media_type(content_type) in SUPPORTED_TYPES


# --- blocking parsers -------------------------------------------------------------------------

def extract_file(path: Path, content_type: str, *, limits: ExtractionLimits) -> ExtractedText:
    """Extract the text of a local file of `content_type`, or raise ExtractionFailed."""
    kind = media_type(content_type)
    if kind == PDF:
        return _extract_pdf(path, limits)
    if kind in PLAIN_TEXT_TYPES:
        return _extract_plain(path, limits)
    raise ExtractionFailed("unsupported_type", kind)


def _extract_plain(path: Path, limits: ExtractionLimits) -> ExtractedText:
    # UTF-8 takes at most 4 bytes a character: this many bytes hold max_chars characters.
    budget = limits.max_chars * 4
    with path.open("rb") as file:
        data = file.read(budget + 1)
    cut = len(data) > budget
    data = data[:budget]
    try:
        # Not final when cut: a character split by the cut is dropped, not an error.
        text = codecs.getincrementaldecoder("utf-8")().decode(data, final=not cut)
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    text = text.removeprefix("\ufeff")
    truncated = cut or len(text) > limits.max_chars
    return ExtractedText(text=text[:limits.max_chars], pages=None, truncated=truncated)


class _Collector:
    """Joins page texts until the character budget is spent."""

    def __init__(self, max_chars: int) -> None:
        self.parts: list[str] = []
        self.left = max_chars
        self.truncated = False

    def add(self, text: str) -> bool:
        """Add one page's text; False once the budget is spent."""
        if len(text) > self.left:
            text, self.truncated = text[:self.left], True
        self.parts.append(text)
        self.left -= len(text)
        return not self.truncated

    def result(self, pages: int) -> ExtractedText:
        return ExtractedText(text="\n\n".join(self.parts).strip(), pages=pages,
                             truncated=self.truncated)


def _extract_pdf(path: Path, limits: ExtractionLimits) -> ExtractedText:
    try:
        return _extract_pdf_pdfium(path, limits)
    except ExtractionFailed:
        raise
    except Exception as exc:  # any pdfium failure: let pypdf try
        if isinstance(exc, pdfium.PdfiumError) and "password" in str(exc).lower():
            raise ExtractionFailed("encrypted_pdf", str(exc)) from exc
        pdfium_error = f"{type(exc).__name__}: {exc}"
        log.info("pdfium could not read the PDF, trying pypdf", extra={"error": pdfium_error})
    try:
        return _extract_pdf_pypdf(path, limits)
    except ExtractionFailed:
        raise
    except Exception as exc:  # any parser failure: unreadable
        raise ExtractionFailed("unreadable_pdf",
                               f"{pdfium_error}; pypdf: {type(exc).__name__}: {exc}") from exc


def _extract_pdf_pdfium(path: Path, limits: ExtractionLimits) -> ExtractedText:
    with _PDFIUM:
        return _read_pdfium(path, limits)


def _read_pdfium(path: Path, limits: ExtractionLimits) -> ExtractedText:
    pdf = pdfium.PdfDocument(path)
    try:
        pages = len(pdf)
        _check_pages(pages, limits)
        collector = _Collector(limits.max_chars)
        for index in range(pages):
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_range()
                finally:
                    textpage.close()
            finally:
                page.close()
            if not collector.add(_normalise(text)):
                break
        return collector.result(pages)
    finally:
        pdf.close()


def _extract_pdf_pypdf(path: Path, limits: ExtractionLimits) -> ExtractedText:
    reader = pypdf.PdfReader(path)
    if reader.is_encrypted:
        raise ExtractionFailed("encrypted_pdf")
    pages = len(reader.pages)
    _check_pages(pages, limits)
    collector = _Collector(limits.max_chars)
    for page in reader.pages:
        if not collector.add(_normalise(page.extract_text() or "")):
            break
    return collector.result(pages)


def _check_pages(pages: int, limits: ExtractionLimits) -> None:
    if pages > limits.max_pages:
        raise ExtractionFailed("too_many_pages", f"{pages} > {limits.max_pages}")


def _normalise(text: str) -> str:
    # PDFium ends lines with \r\n; NULs and other stray controls are noise for search.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", text).strip()


# --- language -----------------------------------------------------------------------------------

_INDONESIAN = frozenset(
    "yang dan di ke dari untuk dengan pada dalam tidak ini itu adalah oleh atau sebagai "
    "akan telah juga karena tersebut bahwa serta kepada".split())
_ENGLISH = frozenset(
    "the and of to in for with on is that this by as are be from or not was have".split())


def guess_language(text: str) -> str | None:
    """A crude guess (ISO 639-1) from common words; DMS documents are mostly Indonesian."""
    words = re.findall(r"[a-z]+", text[:20_000].lower())
    if not words:
        return None
    indonesian = sum(word in _INDONESIAN for word in words)
    english = sum(word in _ENGLISH for word in words)
    return "en" if english > indonesian else "id"


# --- from the object store ----------------------------------------------------------------------

async def extract_object(*, store: ObjectStore, key: str, content_type: str,
                         limits: ExtractionLimits) -> ExtractedText:
    """Stream the object at `key` to a temporary file and extract its text off the loop."""
    if not is_supported(content_type):
        raise ExtractionFailed("unsupported_type", media_type(content_type))
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="dms-classify-"))
    try:
        path = folder / "original"
        await _download(store, key, path, limits.max_bytes)
        return await asyncio.to_thread(extract_file, path, content_type, limits=limits)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


async def _download(store: ObjectStore, key: str, path: Path, max_bytes: int) -> None:
    try:
        reader = await store.open(key)
    except ObjectNotFound as exc:
        raise ExtractionFailed("original_missing", key) from exc
    async with reader:
        if reader.size > max_bytes:
            raise ExtractionFailed("too_large", f"{reader.size} > {max_bytes} bytes")
        file = await asyncio.to_thread(path.open, "wb")
        write: Callable[[bytes], int] = file.write
        try:
            written = 0
            async for chunk in reader.iterate():
                written += len(chunk)
                if written > max_bytes:
                    raise ExtractionFailed("too_large", f"more than {max_bytes} bytes")
                await asyncio.to_thread(write, chunk)
        finally:
            await asyncio.to_thread(file.close)
