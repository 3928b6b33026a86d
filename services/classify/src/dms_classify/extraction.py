"""Text extraction: from an original file to plain text, a table form and page previews.

`extract_file` and `render_previews` are the blocking parts (parsers on a local file). In the
service they run inside the sandbox child process (see `sandbox.py`), which holds the memory and
time limits; here they only enforce the content limits (bytes, pages, characters). A file that
cannot be read ends in :class:`ExtractionFailed` with a stable reason code, never a crash: a
failed extraction is a normal outcome (`extraction_failed`, still classifiable by hand).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
import subprocess
import tempfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2 as pdfium  # type: ignore[import-untyped]  # ships no py.typed

log = logging.getLogger(__name__)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
CSV = "text/csv"
PLAIN_TEXT_TYPES = frozenset({"text/plain", CSV})
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/tiff"})
SUPPORTED_TYPES = frozenset({PDF, DOCX, XLSX, ODT, ODS, *PLAIN_TEXT_TYPES, *IMAGE_TYPES})

# PDFium is not thread-safe: one document at a time per process.
_PDFIUM = threading.Lock()
# A page with fewer characters than this in its text layer is treated as a scan.
_SCAN_THRESHOLD = 8


@dataclass(frozen=True)
class ExtractionLimits:
    max_bytes: int
    max_chars: int
    max_pages: int
    ocr: bool = True
    ocr_language: str = "ind"
    ocr_max_pages: int = 50
    ocr_dpi: int = 300
    ocr_timeout_seconds: float = 120.0
    table_rows: int = 200
    table_columns: int = 50
    preview_pages: int = 3
    preview_scale: float = 0.75
    # Office files are zip archives: refuse bombs before a parser inflates them.
    max_unzipped_bytes: int = 500 * 1024 * 1024
    max_zip_entries: int = 10_000
    max_image_pixels: int = 60_000_000


@dataclass(frozen=True)
class ExtractedText:
    text: str
    pages: int | None
    truncated: bool
    ocr_used: bool = False
    # Spreadsheets: {"sheets": [{"name", "rows": [[str]], "truncated"}]} for previews.
    table: dict[str, Any] | None = field(default=None, compare=False)


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


# --- dispatch -----------------------------------------------------------------------------------

def extract_file(path: Path, content_type: str, *, limits: ExtractionLimits) -> ExtractedText:
    """Extract the text of a local file of `content_type`, or raise ExtractionFailed."""
    kind = media_type(content_type)
    try:
        if kind == PDF:
            return _extract_pdf(path, limits)
        if kind == CSV:
            return _extract_csv(path, limits)
        if kind in PLAIN_TEXT_TYPES:
            return _extract_plain(path, limits)
        if kind in IMAGE_TYPES:
            return _extract_image(path, limits)
        if kind in (DOCX, XLSX, ODT, ODS):
            _check_zip(path, limits)
            reader = {DOCX: _extract_docx, XLSX: _extract_xlsx, ODT: _extract_odt,
                      ODS: _extract_ods}[kind]
            try:
                return reader(path, limits)
            except (ExtractionFailed, MemoryError):
                raise
            except Exception as exc:  # any parser failure: the file is unreadable
                raise ExtractionFailed("unreadable_file",
                                       f"{type(exc).__name__}: {exc}") from exc
    except MemoryError as exc:
        raise ExtractionFailed("too_much_memory", "the parser ran out of memory") from exc
    raise ExtractionFailed("unsupported_type", kind)


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

    def result(self, pages: int | None, *, ocr_used: bool = False,
               table: dict[str, Any] | None = None) -> ExtractedText:
        return ExtractedText(text="\n\n".join(self.parts).strip(), pages=pages,
                             truncated=self.truncated, ocr_used=ocr_used, table=table)


def _normalise(text: str) -> str:
    # PDFium ends lines with \r\n; NULs and other stray controls are noise for search.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", text).strip()


# --- plain text and CSV -------------------------------------------------------------------------

def _read_text(path: Path, limits: ExtractionLimits) -> tuple[str, bool]:
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
    return text[:limits.max_chars], cut or len(text) > limits.max_chars


def _extract_plain(path: Path, limits: ExtractionLimits) -> ExtractedText:
    text, truncated = _read_text(path, limits)
    return ExtractedText(text=text, pages=None, truncated=truncated)


def _extract_csv(path: Path, limits: ExtractionLimits) -> ExtractedText:
    text, truncated = _read_text(path, limits)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows: list[list[str]] = []
    more = False
    for row in csv.reader(io.StringIO(text), dialect):
        if len(rows) >= limits.table_rows:
            more = True
            break
        rows.append([cell[:500] for cell in row[:limits.table_columns]])
    table = {"sheets": [{"name": "CSV", "rows": rows, "truncated": more or truncated}]}
    return ExtractedText(text=text, pages=None, truncated=truncated, table=table)


# --- PDF ----------------------------------------------------------------------------------------

def _extract_pdf(path: Path, limits: ExtractionLimits) -> ExtractedText:
    try:
        with _PDFIUM:
            return _read_pdfium(path, limits)
    except (ExtractionFailed, MemoryError):
        raise
    except Exception as exc:  # any pdfium failure: let pypdf try
        if isinstance(exc, pdfium.PdfiumError) and "password" in str(exc).lower():
            raise ExtractionFailed("encrypted_pdf", str(exc)) from exc
        pdfium_error = f"{type(exc).__name__}: {exc}"
        log.info("pdfium could not read the PDF, trying pypdf", extra={"error": pdfium_error})
    try:
        return _extract_pdf_pypdf(path, limits)
    except (ExtractionFailed, MemoryError):
        raise
    except Exception as exc:  # any parser failure: unreadable
        raise ExtractionFailed("unreadable_pdf",
                               f"{pdfium_error}; pypdf: {type(exc).__name__}: {exc}") from exc


def _read_pdfium(path: Path, limits: ExtractionLimits) -> ExtractedText:
    pdf = pdfium.PdfDocument(path)
    try:
        pages = len(pdf)
        _check_pages(pages, limits)
        collector = _Collector(limits.max_chars)
        ocr_pages = 0
        for index in range(pages):
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                try:
                    text = _normalise(textpage.get_text_range())
                finally:
                    textpage.close()
                if (len(text) < _SCAN_THRESHOLD and limits.ocr
                        and ocr_pages < limits.ocr_max_pages):
                    ocr_pages += 1
                    text = _ocr_page(page, limits) or text
            finally:
                page.close()
            if not collector.add(text):
                break
        return collector.result(pages, ocr_used=ocr_pages > 0)
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


# --- OCR ----------------------------------------------------------------------------------------

def ocr_image_file(path: Path, limits: ExtractionLimits) -> str:
    """Run Tesseract on an image file and return its text ('' when it reads nothing)."""
    try:
        done = subprocess.run(
            ["tesseract", str(path), "stdout", "-l", limits.ocr_language, "--psm", "3"],
            capture_output=True, timeout=limits.ocr_timeout_seconds, check=False)
    except FileNotFoundError as exc:
        raise ExtractionFailed("ocr_unavailable", "tesseract is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise ExtractionFailed("ocr_timeout", f"{limits.ocr_timeout_seconds}s") from exc
    if done.returncode != 0:
        raise ExtractionFailed("ocr_failed", done.stderr.decode(errors="replace")[-200:])
    return _normalise(done.stdout.decode("utf-8", errors="replace"))


def _box_sums(cells: Any, size: int) -> Any:
    """Sum of every size x size window (anchored top-left) of a 2-D array."""
    import numpy as np

    table = np.pad(cells, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    return table[size:, size:] - table[:-size, size:] - table[size:, :-size] + table[:-size, :-size]


def without_bars(image: Any, dpi: int) -> Any:
    """The image with solid black areas (redaction bars) turned white, for OCR.

    Tesseract misreads the words next to a black bar, or drops the whole line; the bar's pixels
    carry no text, so whitening them loses nothing. Found on a 4x reduced copy: an area is a bar
    if it holds a solid square about 1.5 mm wide, far thicker than any letter's stroke.
    """
    import numpy as np
    from PIL import Image

    factor = 4
    gray = image.convert("L")
    small = np.asarray(gray.reduce(factor))
    size = max(2, int(0.06 * dpi / factor))
    black = (small < 40).astype(np.int32)
    if black.shape[0] < size or black.shape[1] < size:
        return gray
    solid = (_box_sums(black, size) == size * size).astype(np.int32)
    if not solid.any():
        return gray
    # Every pixel some solid square covers, plus a one-cell margin for the bar's blurred edge.
    padded = np.pad(solid, ((size, size), (size, size)))
    cover = _box_sums(padded, size + 2)[:black.shape[0], :black.shape[1]] > 0
    mask = Image.fromarray((cover * 255).astype(np.uint8))
    mask = mask.resize(gray.size, Image.Resampling.NEAREST)
    cleaned = gray.copy()
    cleaned.paste(255, mask=mask)
    return cleaned


def ocr_image(image: Any, limits: ExtractionLimits, *, dpi: int) -> str:
    """OCR a PIL image (redaction bars ignored)."""
    with tempfile.TemporaryDirectory(prefix="dms-ocr-") as folder:
        png = Path(folder) / "page.png"
        without_bars(image, dpi).save(png)
        return ocr_image_file(png, limits)


def _ocr_page(page: Any, limits: ExtractionLimits) -> str:
    image = page.render(scale=limits.ocr_dpi / 72, grayscale=True).to_pil()
    return ocr_image(image, limits, dpi=limits.ocr_dpi)


def _extract_image(path: Path, limits: ExtractionLimits) -> ExtractedText:
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
    try:
        with Image.open(path) as image:
            frames = getattr(image, "n_frames", 1)
            _check_pages(frames, limits)
            image.verify()
    except ExtractionFailed:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ExtractionFailed("unreadable_image", f"{type(exc).__name__}: {exc}") from exc
    except Image.DecompressionBombError as exc:
        raise ExtractionFailed("image_too_large", str(exc)) from exc
    if not limits.ocr:
        return ExtractedText(text="", pages=frames, truncated=False)
    collector = _Collector(limits.max_chars)
    with Image.open(path) as image:
        dpi = int((image.info.get("dpi") or (300, 300))[0]) or 300
        for index in range(min(frames, limits.ocr_max_pages)):
            image.seek(index)
            if not collector.add(ocr_image(image, limits, dpi=dpi)):
                break
    return collector.result(frames, ocr_used=True)


# --- office formats -----------------------------------------------------------------------------

def _check_zip(path: Path, limits: ExtractionLimits) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExtractionFailed("unreadable_file", f"not a zip archive: {exc}") from exc
    if len(entries) > limits.max_zip_entries:
        raise ExtractionFailed("zip_bomb", f"{len(entries)} entries")
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_unzipped_bytes:
        raise ExtractionFailed("zip_bomb", f"{total} bytes uncompressed")


def _extract_docx(path: Path, limits: ExtractionLimits) -> ExtractedText:
    import docx

    document = docx.Document(str(path))
    collector = _Collector(limits.max_chars)
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = "".join(node.text or "" for node in block.iter() if node.tag.endswith("}t"))
        elif tag == "tbl":
            text = "\n".join(
                "\t".join("".join(t.text or "" for t in cell.iter() if t.tag.endswith("}t"))
                          for cell in row.iterchildren() if cell.tag.endswith("}tc"))
                for row in block.iterchildren() if row.tag.endswith("}tr"))
        else:
            continue
        if text.strip() and not collector.add(_normalise(text)):
            break
    return _joined(collector, separator="\n")


def _joined(collector: _Collector, *, separator: str, pages: int | None = None,
            table: dict[str, Any] | None = None) -> ExtractedText:
    return ExtractedText(text=separator.join(collector.parts).strip(), pages=pages,
                         truncated=collector.truncated, table=table)


class _Sheets:
    """Collects spreadsheet rows as text (every row) and as a table (the first rows)."""

    def __init__(self, limits: ExtractionLimits) -> None:
        self.limits = limits
        self.collector = _Collector(limits.max_chars)
        self.sheets: list[dict[str, Any]] = []

    def sheet(self, name: str) -> None:
        self.sheets.append({"name": name, "rows": [], "truncated": False})
        self.collector.add(f"# {name}")

    def row(self, cells: list[str]) -> bool:
        """Add a row; False once the text budget is spent."""
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            return True
        current = self.sheets[-1]
        if len(current["rows"]) < self.limits.table_rows:
            current["rows"].append([c[:500] for c in cells[:self.limits.table_columns]])
        else:
            current["truncated"] = True
        return self.collector.add("\t".join(cells))

    def result(self) -> ExtractedText:
        return _joined(self.collector, separator="\n", pages=len(self.sheets) or None,
                       table={"sheets": self.sheets})


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _extract_xlsx(path: Path, limits: ExtractionLimits) -> ExtractedText:
    import openpyxl  # type: ignore[import-untyped]

    sheets = _Sheets(limits)
    # A file object: openpyxl judges a path by its extension, and ours is "original".
    with path.open("rb") as file:
        book = openpyxl.load_workbook(file, read_only=True, data_only=True)
        try:
            for sheet in book.worksheets:
                sheets.sheet(sheet.title)
                for values in sheet.iter_rows(values_only=True):
                    cells = [_cell_text(v) for v in values[:limits.table_columns * 4]]
                    if not sheets.row(cells):
                        return sheets.result()
        finally:
            book.close()
    return sheets.result()


def _odf_text(node: Any) -> str:
    from odf import teletype  # type: ignore[import-untyped]

    return str(teletype.extractText(node)).strip()


def _extract_odt(path: Path, limits: ExtractionLimits) -> ExtractedText:
    from odf import opendocument, table
    from odf.namespaces import TABLENS, TEXTNS  # type: ignore[import-untyped]

    document = opendocument.load(str(path))
    collector = _Collector(limits.max_chars)
    for element in document.text.childNodes:
        if element.qname in ((TEXTNS, "p"), (TEXTNS, "h"), (TEXTNS, "list"),
                             (TEXTNS, "section")):
            value = _odf_text(element)
        elif element.qname == (TABLENS, "table"):
            value = "\n".join(
                "\t".join(_odf_text(cell) for cell in row.getElementsByType(table.TableCell))
                for row in element.getElementsByType(table.TableRow))
        else:
            continue
        if value and not collector.add(_normalise(value)):
            break
    return _joined(collector, separator="\n")


def _extract_ods(path: Path, limits: ExtractionLimits) -> ExtractedText:
    from odf import opendocument, table

    document = opendocument.load(str(path))
    sheets = _Sheets(limits)
    for sheet in document.spreadsheet.getElementsByType(table.Table):
        sheets.sheet(str(sheet.getAttribute("name")))
        for row in sheet.getElementsByType(table.TableRow):
            cells: list[str] = []
            for cell in row.getElementsByType(table.TableCell):
                # Repeated empty cells pad rows to the sheet's width: expand only short runs.
                repeat = int(cell.getAttribute("numbercolumnsrepeated") or 1)
                cells.extend([_odf_text(cell)] * min(repeat, limits.table_columns))
            if not sheets.row(cells[:limits.table_columns * 4]):
                return sheets.result()
    return sheets.result()


# --- previews -----------------------------------------------------------------------------------

def render_previews(path: Path, content_type: str, out_dir: Path, *,
                    limits: ExtractionLimits) -> list[Path]:
    """Render PNG previews of the first pages of a PDF or image; [] for other kinds."""
    kind = media_type(content_type)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if limits.preview_pages <= 0:
        return written
    try:
        if kind == PDF:
            with _PDFIUM:
                pdf = pdfium.PdfDocument(path)
                try:
                    for index in range(min(len(pdf), limits.preview_pages)):
                        page = pdf[index]
                        try:
                            image = page.render(scale=limits.preview_scale).to_pil()
                        finally:
                            page.close()
                        target = out_dir / f"page-{index + 1}.png"
                        image.save(target, compress_level=6)
                        written.append(target)
                finally:
                    pdf.close()
        elif kind in IMAGE_TYPES:
            from PIL import Image

            Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
            with Image.open(path) as image:
                image.thumbnail((1200, 1200))
                target = out_dir / "page-1.png"
                image.convert("RGB").save(target, compress_level=6)
                written.append(target)
    except Exception as exc:  # previews are a convenience: never fail the extraction
        log.info("no preview", extra={"error": f"{type(exc).__name__}: {exc}"})
    return written


def table_json(extracted: ExtractedText) -> bytes | None:
    """The table form of a spreadsheet as stored for previews, or None."""
    if extracted.table is None:
        return None
    return json.dumps(extracted.table, ensure_ascii=False).encode()


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
