"""Redaction: a copy of a PDF in which the blacked-out text is really gone.

Pages are rendered to images, the boxes are burnt into the pixels and the images become a new
PDF — no text layer, none of the original's metadata, attachments or scripts survive. What to
black out arrives as strings (accepted findings, marked text ranges) located on the pages through
PDFium's text layer, or through Tesseract's word boxes on scanned pages, and as page boxes drawn
by hand. A string that cannot be located refuses the redaction: publishing it unredacted is the
one failure that must not happen. The redacted copy is then OCR'd; that text is the only text of
the document that may ever be public.

`redact_pdf` is the blocking part and runs in the sandbox child; `redact_document` drives it
from the API.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pypdfium2 as pdfium  # type: ignore[import-untyped]  # ships no py.typed

from dms_classify.extraction import (
    PDF,
    ExtractionFailed,
    ExtractionLimits,
    media_type,
    ocr_image,
)
from dms_classify.sandbox import download
from dms_classify.service import TEXT_CONTENT_TYPE, RedactedCopy, read_text_excerpt
from dms_common.errors import ApiError
from dms_common.storage import derived_key

if TYPE_CHECKING:
    from dms_classify.bootstrap import ClassifyApp
    from dms_classify.models import ReviewDocument
    from dms_classify.schemas import RedactionIn

REDACTED_PDF = "redacted.pdf"
REDACTED_TEXT = "redacted.txt"
# Rendering resolution of the redacted copy: readable, OCR-able, not huge.
RENDER_DPI = 200
# Boxes grow by this many points on each side so that no ascender or descender peeks out.
PAD = 1.5

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in PDF points, origin bottom-left


@dataclass(frozen=True)
class Located:
    page: int  # 0-based
    box: Box


def _norm(word: str) -> str:
    return re.sub(r"[^\w@.+-]", "", word.lower()).strip(".")


def _locate_in_text_layer(textpage: Any, needle: str) -> list[Box]:
    boxes: list[Box] = []
    searcher = textpage.search(needle, match_case=False)
    try:
        while (found := searcher.get_next()) is not None:
            index, count = found
            for rect in range(textpage.count_rects(index, count)):
                left, bottom, right, top = textpage.get_rect(rect)
                boxes.append((left, bottom, right, top))
    finally:
        searcher.close()
    return boxes


def _ocr_words(image_path: Path, limits: ExtractionLimits) -> list[tuple[str, Box]]:
    """Tesseract's words with their pixel boxes (x0, top, x1, bottom)."""
    done = subprocess.run(
        ["tesseract", str(image_path), "stdout", "-l", limits.ocr_language, "tsv"],
        capture_output=True, timeout=limits.ocr_timeout_seconds, check=False)
    if done.returncode != 0:
        raise ExtractionFailed("ocr_failed", done.stderr.decode(errors="replace")[-200:])
    words: list[tuple[str, Box]] = []
    reader = csv.DictReader(io.StringIO(done.stdout.decode("utf-8", errors="replace")),
                            delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        text = (row.get("text") or "").strip()
        if not text or row.get("level") != "5":
            continue
        x, y, w, h = (float(row[k]) for k in ("left", "top", "width", "height"))
        words.append((text, (x, y, x + w, y + h)))
    return words


def _locate_in_words(words: list[tuple[str, Box]], needle: str) -> list[Box]:
    """Pixel boxes of each run of OCR words that spells `needle`."""
    tokens = [_norm(t) for t in needle.split() if _norm(t)]
    if not tokens:
        return []
    normal = [_norm(w) for w, _ in words]
    boxes: list[Box] = []
    for start in range(len(words) - len(tokens) + 1):
        if all(tokens[i] == normal[start + i] for i in range(len(tokens))):
            run = [words[start + i][1] for i in range(len(tokens))]
            boxes.append((min(b[0] for b in run), min(b[1] for b in run),
                          max(b[2] for b in run), max(b[3] for b in run)))
    return boxes


def redact_pdf(path: Path, out_dir: Path, *, strings: list[str], boxes: list[Located],
               limits: ExtractionLimits) -> dict[str, Any]:
    """Write out_dir/redacted.pdf, redacted.txt and previews; describe what was blacked out."""
    from PIL import Image, ImageDraw

    out_dir.mkdir(parents=True, exist_ok=True)
    scale = RENDER_DPI / 72
    pending = {s for s in (s.strip() for s in strings) if s}
    located: dict[str, int] = dict.fromkeys(pending, 0)
    pages: list[Image.Image] = []
    pdf = pdfium.PdfDocument(path)
    try:
        count = len(pdf)
        if count > limits.max_pages:
            raise ExtractionFailed("too_many_pages", f"{count} > {limits.max_pages}")
        for index in range(count):
            page = pdf[index]
            try:
                height = page.get_height()
                image = page.render(scale=scale, grayscale=True).to_pil().convert("L")
                pixel_boxes: list[Box] = []
                textpage = page.get_textpage()
                try:
                    has_text = len(textpage.get_text_range().strip()) >= 8
                    for needle in pending:
                        found = _locate_in_text_layer(textpage, needle) if has_text else []
                        located[needle] += len(found)
                        pixel_boxes += [((x0 - PAD) * scale, (height - y1 - PAD) * scale,
                                         (x1 + PAD) * scale, (height - y0 + PAD) * scale)
                                        for x0, y0, x1, y1 in found]
                finally:
                    textpage.close()
                if not has_text and pending:
                    with tempfile.TemporaryDirectory(prefix="dms-redact-") as folder:
                        png = Path(folder) / "page.png"
                        image.save(png)
                        words = _ocr_words(png, limits)
                    for needle in pending:
                        found_px = _locate_in_words(words, needle)
                        located[needle] += len(found_px)
                        pad = PAD * scale
                        pixel_boxes += [(a - pad, b - pad, c + pad, d + pad)
                                        for a, b, c, d in found_px]
                for mark in boxes:
                    if mark.page == index:
                        x0, y0, x1, y1 = mark.box
                        pixel_boxes.append((x0 * scale, (height - y1) * scale,
                                            x1 * scale, (height - y0) * scale))
                draw = ImageDraw.Draw(image)
                for box in pixel_boxes:
                    draw.rectangle(box, fill=0)
                pages.append(image)
            finally:
                page.close()
    finally:
        pdf.close()
    missing = sorted(needle for needle, hits in located.items() if hits == 0)
    if missing:
        raise ExtractionFailed("redaction_not_located", f"{len(missing)} passage(s) not found")
    if not pages:
        raise ExtractionFailed("unreadable_pdf", "no pages")
    target = out_dir / REDACTED_PDF
    pages[0].save(target, "PDF", save_all=True, append_images=pages[1:],
                  resolution=RENDER_DPI, quality=90)
    texts: list[str] = []
    previews: list[str] = []
    for index, image in enumerate(pages):
        texts.append(ocr_image(image, limits, dpi=RENDER_DPI) if limits.ocr else "")
        if index < limits.preview_pages:
            preview = out_dir / f"preview-{index + 1}.png"
            small = image.copy()
            small.thumbnail((int(image.width * 0.75 * 72 / RENDER_DPI),
                             int(image.height * 0.75 * 72 / RENDER_DPI)))
            small.save(preview, compress_level=6)
            previews.append(str(preview))
    text_file = out_dir / REDACTED_TEXT
    text_file.write_text("\n\n".join(texts).strip(), encoding="utf-8")
    return {"ok": True, "pdf_file": str(target), "text_file": str(text_file),
            "previews": previews, "pages": len(pages),
            "located": sum(located.values()) + len(boxes)}


# --- from the API -------------------------------------------------------------------------------

async def redact_document(*, app: ClassifyApp, row: ReviewDocument,
                          redaction: RedactionIn) -> RedactedCopy:
    """Produce and store the redacted copy of a document's current version; 422 if impossible."""
    if media_type(row.content_type) != PDF:
        raise ApiError(422, "redaction_unsupported",
                       "Penghitaman saat ini hanya untuk dokumen PDF.")
    findings = row.findings or []
    strings: list[str] = []
    record: dict[str, Any] = {"findings": [], "passages": []}
    for index in redaction.findings:
        if not 0 <= index < len(findings):
            raise ApiError(422, "invalid_finding", f"Temuan nomor {index} tidak ada.")
        strings.append(str(findings[index]["value"]))
        record["findings"].append({"index": index, "kind": findings[index]["kind"],
                                   "legal_basis": redaction.findings_legal_basis})
    boxes: list[Located] = []
    text: str | None = None
    for passage in redaction.passages:
        if passage.box is not None and passage.page is not None:
            boxes.append(Located(passage.page - 1, passage.box))
            record["passages"].append({"page": passage.page, "box": list(passage.box),
                                       "legal_basis": passage.legal_basis})
        elif passage.start is not None and passage.end is not None and passage.end > passage.start:
            if text is None:
                text = await read_text_excerpt(store=app.core.store, text_key=row.text_key or "",
                                               max_chars=app.settings.extract_max_chars) or ""
            if passage.end > len(text):
                raise ApiError(422, "invalid_passage", "Rentang teks melewati akhir dokumen.")
            strings += [line for line in text[passage.start:passage.end].splitlines()
                        if line.strip()]
            record["passages"].append({"start": passage.start, "end": passage.end,
                                       "legal_basis": passage.legal_basis})
        else:
            raise ApiError(422, "invalid_passage", "Setiap bagian harus berupa rentang teks "
                           "(start, end) atau kotak pada halaman (page, box).")
    if not strings and not boxes:
        raise ApiError(422, "redaction_empty", "Pilih temuan atau tandai bagian yang dihitamkan.")
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="dms-redact-"))
    try:
        original = folder / "original"
        try:
            await download(app.core.store, row.object_key, original,
                           app.settings.extract_max_bytes)
            answer = await app.sandbox.run_job({
                "kind": "redact", "path": str(original), "out": str(folder / "out"),
                "strings": strings, "boxes": [[b.page, *b.box] for b in boxes],
                "limits": dataclasses.asdict(app.limits)})
        except ExtractionFailed as failure:
            if failure.code == "redaction_not_located":
                raise ApiError(422, "redaction_not_located",
                               "Sebagian teks yang akan dihitamkan tidak ditemukan pada halaman "
                               "dokumen; tandai dengan kotak pada halaman.") from failure
            raise ApiError(422, "redaction_failed",
                           f"Salinan yang dihitamkan tidak dapat dibuat ({failure.code}).") \
                from failure

        def key(name: str) -> str:
            return derived_key(row.office_code, row.document_id, row.version, name)

        pdf_key, text_key = key(REDACTED_PDF), key(REDACTED_TEXT)
        await app.core.store.put_stream(pdf_key, _file_chunks(Path(answer["pdf_file"])),
                                        content_type="application/pdf")
        await app.core.store.put_stream(text_key, _file_chunks(Path(answer["text_file"])),
                                        content_type=TEXT_CONTENT_TYPE)
        previews = []
        for number, preview in enumerate(answer["previews"], start=1):
            preview_key = key(f"redacted-previews/page-{number}.png")
            await app.core.store.put_stream(preview_key, _file_chunks(Path(preview)),
                                            content_type="image/png")
            previews.append(preview_key)
        record.update(pages=answer["pages"], preview_keys=previews)
        return RedactedCopy(object_key=pdf_key, text_key=text_key, record=record)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    file = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(file.read, 256 * 1024):
            yield chunk
    finally:
        await asyncio.to_thread(file.close)
