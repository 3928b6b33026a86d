"""In-page previews of published documents, read from objects classify derives.

Key convention (relied upon here, produced by classify), under the version's prefix
`{office}/{document_id}/{version}/derived/`:
- page images of a document published without redaction: `previews/page-{n}.png` (n from 1);
- page images of a redacted publication: `redacted-previews/page-{n}.png` — and only those:
  a redacted publication never falls back to the unredacted pages;
- a table (CSV/XLSX/ODS) of a document published without redaction: `table.json`, shaped
  `{"sheets": [{"name": str, "rows": [[cell]], "truncated": bool}]}` (the first row of the
  first sheet is its header) or `{"columns": [str], "rows": [[cell]], "truncated": bool}`.
  A redacted publication has no table object: only what survived redaction is shown.
When no table object exists, the table is read from the public file itself (which is
the redacted copy when there is one), up to a size limit.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from dms_common.storage import ObjectNotFound, ObjectStore, derived_key
from dms_publish.models import Publication

MAX_PAGES = 50
MAX_ROWS = 200
MAX_COLUMNS = 30
MAX_TABLE_SOURCE_BYTES = 5 * 1024 * 1024
_PAGE = re.compile(r"page-(\d{1,4})\.png$")
CSV_TYPES = {"text/csv", "application/csv", "text/plain"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _pages_folder(row: Publication) -> str:
    return "redacted-previews/" if row.redacted_object_key else "previews/"


def page_key(row: Publication, page: int) -> str:
    """Where the public image of page `page` of this publication lives."""
    return derived_key(row.office_code, row.document_id, row.version,
                       f"{_pages_folder(row)}page-{page}.png")


def table_key(row: Publication) -> str | None:
    """The table classify derived from the original, or None for a redacted publication."""
    if row.redacted_object_key:
        return None
    return derived_key(row.office_code, row.document_id, row.version, "table.json")


async def list_pages(store: ObjectStore, row: Publication) -> list[int]:
    """The page numbers that have a public image, in order."""
    folder = page_key(row, 1).rsplit("/", 1)[0] + "/"
    pages: list[int] = []
    async for info in store.list_objects(folder):
        rest = info.key[len(folder):]
        match = _PAGE.fullmatch(rest)
        if match:
            pages.append(int(match.group(1)))
    return sorted(pages)[:MAX_PAGES]


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False
    # Per column: the numbers in it when every non-empty cell is one (for the chart).
    numeric: dict[int, list[float]] = field(default_factory=dict)


def normalise_table(data: Any) -> Table | None:
    """Validate a table object; None if it is not one."""
    if not isinstance(data, dict):
        return None
    sheets = data.get("sheets")
    if isinstance(sheets, list) and sheets and isinstance(sheets[0], dict):
        sheet_rows = sheets[0].get("rows")
        if not isinstance(sheet_rows, list) or not sheet_rows or \
                not isinstance(sheet_rows[0], list):
            return None
        data = {"columns": sheet_rows[0], "rows": sheet_rows[1:],
                "truncated": bool(sheets[0].get("truncated")) or len(sheets) > 1}
    columns, rows = data.get("columns"), data.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        return None
    width = min(len(columns), MAX_COLUMNS)
    clean_rows = [[_scalar(cell) for cell in row[:width]] + [None] * (width - len(row[:width]))
                  for row in rows[:MAX_ROWS] if isinstance(row, list)]
    table = Table(columns=[str(c) for c in columns[:width]], rows=clean_rows,
                  truncated=bool(data.get("truncated")) or len(rows) > MAX_ROWS
                  or len(columns) > MAX_COLUMNS)
    table.numeric = numeric_columns(table)
    return table


def _scalar(value: Any) -> str | float | int | None:
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    return str(value)


def numeric_columns(table: Table) -> dict[int, list[float]]:
    """Columns whose every non-empty cell is a number (so they can be charted)."""
    found: dict[int, list[float]] = {}
    for index in range(len(table.columns)):
        values: list[float] = []
        for row in table.rows:
            number = as_number(row[index])
            if number is None:
                if row[index] not in (None, ""):
                    break
                continue
            values.append(number)
        else:
            if values:
                found[index] = values
    return found


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace(" ", "")
    # Indonesian number format: 1.234,5 ; also plain 1234.5
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?", text):
        text = text.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"-?\d+,\d+", text):
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def is_tabular(content_type: str | None, filename: str | None) -> bool:
    name = (filename or "").lower()
    return (content_type or "").split(";")[0] in CSV_TYPES | {XLSX_TYPE} or name.endswith(
        (".csv", ".xlsx"))


async def load_table(store: ObjectStore, row: Publication) -> Table | None:
    """The publication's table: the derived object, else parsed from the public file."""
    derived = table_key(row)
    try:
        if derived is not None:
            async with await store.open(derived) as reader:
                if reader.size <= MAX_TABLE_SOURCE_BYTES:
                    raw = b"".join([chunk async for chunk in reader.iterate()])
                    table = normalise_table(json.loads(raw))
                    if table is not None:
                        return table
    except (ObjectNotFound, ValueError):
        pass
    if not is_tabular(row.content_type, row.filename) or row.public_object_key is None:
        return None
    try:
        async with await store.open(row.public_object_key) as reader:
            if reader.size > MAX_TABLE_SOURCE_BYTES:
                return None
            media = reader.content_type or row.content_type or ""
            raw = b"".join([chunk async for chunk in reader.iterate()])
    except ObjectNotFound:
        return None
    return parse_table(raw, media, row.filename)


def parse_table(raw: bytes, content_type: str, filename: str | None) -> Table | None:
    """Read the first rows of a CSV or XLSX file as a table; None if it cannot be read."""
    if raw[:4] == b"PK\x03\x04":
        return _parse_xlsx(raw)
    if raw.startswith(b"%PDF"):
        return None
    text = raw.decode("utf-8-sig", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
        reader = csv.reader(io.StringIO(text), dialect)
    except csv.Error:
        reader = csv.reader(io.StringIO(text))
    rows = []
    for line in reader:
        rows.append(line)
        if len(rows) > MAX_ROWS + 1:
            break
    if not rows:
        return None
    return normalise_table({"columns": rows[0], "rows": rows[1:]})


def _parse_xlsx(raw: bytes) -> Table | None:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:
        return None
    try:
        sheet = book.worksheets[0]
        rows: list[list[Any]] = []
        for values in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2,
                                      max_col=MAX_COLUMNS + 1):
            rows.append(["" if v is None else v for v in values])
    finally:
        book.close()
    if not rows:
        return None
    return normalise_table({"columns": rows[0], "rows": rows[1:]})
