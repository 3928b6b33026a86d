"""Real office files and scans for tests, made with the same libraries the service reads with."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    import openpyxl  # type: ignore[import-untyped]

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def make_odt(paragraphs: list[str]) -> bytes:
    from odf.opendocument import OpenDocumentText  # type: ignore[import-untyped]
    from odf.text import P  # type: ignore[import-untyped]

    document = OpenDocumentText()
    for text in paragraphs:
        document.text.addElement(P(text=text))
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def make_ods(rows: list[list[str]], name: str = "Rekap") -> bytes:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow  # type: ignore[import-untyped]
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    sheet = Table(name=name)
    for values in rows:
        row = TableRow()
        for value in values:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=value))
            row.addElement(cell)
        sheet.addElement(row)
    document.spreadsheet.addElement(sheet)
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def text_image(lines: list[str], *, size: int = 36) -> Image.Image:
    """A white page with black text lines, as a scanner would give."""
    font = ImageFont.load_default(size=size)
    image = Image.new("L", (1700, 200 + len(lines) * size * 2), 255)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((100, 100 + index * size * 2), line, fill=0, font=font)
    return image


def make_png(lines: list[str]) -> bytes:
    out = io.BytesIO()
    text_image(lines).save(out, "PNG")
    return out.getvalue()


def make_scanned_pdf(pages: list[list[str]]) -> bytes:
    """A PDF of page images only: no text layer, as from a scanner."""
    images = [text_image(lines).convert("RGB") for lines in pages]
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=150)
    return out.getvalue()
