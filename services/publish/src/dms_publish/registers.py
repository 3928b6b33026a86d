"""The public registers (DESIGN.md §2): DIP and DIK entries, and their CSV and XLSX files.

Entries are built from publication rows here and nowhere else. A DIK entry is made
only of the consequence test's public fields: it has no access to a document's
title, filename or text, so it cannot show them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

# No stubs in the lockfile (types-openpyxl requested); the three names used are simple.
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from pydantic import BaseModel

from dms_common.events import DipFields

NO_DESCRIPTION = "Uraian publik informasi yang dikecualikan belum tersedia."
NO_CONSEQUENCE = "Lihat uji konsekuensi pada PPID kantor terkait."
INDEFINITE = "Tidak terbatas"
# Characters a spreadsheet would read as the start of a formula (CSV/formula injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class DipEntry(BaseModel):
    """One row of the Daftar Informasi Publik."""

    nomor: int
    document_id: UUID
    office_code: str
    office_name: str
    kip_category: str
    ringkasan_isi_informasi: str
    pejabat_unit_penguasa_informasi: str
    penanggung_jawab: str
    waktu_dan_tempat_pembuatan: str
    bentuk_informasi: str
    jangka_waktu_penyimpanan: str
    published_at: datetime
    url: str


class DikEntry(BaseModel):
    """One row of the Daftar Informasi yang Dikecualikan."""

    nomor: int
    office_code: str
    office_name: str
    informasi_yang_dikecualikan: str
    dasar_hukum: str
    ringkasan_konsekuensi: str
    jangka_waktu_pengecualian: str
    exempt_until: date | None
    ditetapkan_pada: datetime | None


DIP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("nomor", "Nomor"),
    ("office_name", "Kantor"),
    ("kip_category", "Kategori"),
    ("ringkasan_isi_informasi", "Ringkasan isi informasi"),
    ("pejabat_unit_penguasa_informasi", "Pejabat/unit yang menguasai informasi"),
    ("penanggung_jawab", "Penanggung jawab pembuatan/penerbitan informasi"),
    ("waktu_dan_tempat_pembuatan", "Waktu dan tempat pembuatan informasi"),
    ("bentuk_informasi", "Bentuk informasi yang tersedia"),
    ("jangka_waktu_penyimpanan", "Jangka waktu penyimpanan (retensi)"),
    ("url", "Tautan"),
)
DIK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("nomor", "Nomor"),
    ("office_name", "Kantor"),
    ("informasi_yang_dikecualikan", "Informasi yang dikecualikan"),
    ("dasar_hukum", "Dasar hukum pengecualian"),
    ("ringkasan_konsekuensi", "Konsekuensi apabila dibuka"),
    ("jangka_waktu_pengecualian", "Jangka waktu pengecualian"),
)


def dip_entry(*, nomor: int, document_id: UUID, office_code: str, office_name: str,
              kip_category: str, title: str, dip: dict[str, Any] | None,
              published_at: datetime, url: str) -> DipEntry:
    """A DIP row for a published document; its summary falls back to the public title."""
    fields = DipFields.model_validate(dip or {})
    return DipEntry(
        nomor=nomor, document_id=document_id, office_code=office_code, office_name=office_name,
        kip_category=kip_category, ringkasan_isi_informasi=fields.summary or title,
        pejabat_unit_penguasa_informasi=fields.holder_unit,
        penanggung_jawab=fields.responsible,
        waktu_dan_tempat_pembuatan=fields.created_place_time,
        bentuk_informasi=", ".join(fields.available_forms),
        jangka_waktu_penyimpanan=fields.retention, published_at=published_at, url=url)


def dik_entry(*, nomor: int, office_code: str, office_name: str,
              public_description: str | None, legal_basis: str | None,
              consequence_summary: str | None, exempt_until: date | None,
              decided_at: datetime | None) -> DikEntry:
    """A DIK row from the public fields of an exemption (never the document itself)."""
    return DikEntry(
        nomor=nomor, office_code=office_code, office_name=office_name,
        informasi_yang_dikecualikan=(public_description or "").strip() or NO_DESCRIPTION,
        dasar_hukum=legal_basis or "-",
        ringkasan_konsekuensi=(consequence_summary or "").strip() or NO_CONSEQUENCE,
        jangka_waktu_pengecualian=(f"Sampai {format_day(exempt_until)}" if exempt_until
                                   else INDEFINITE),
        exempt_until=exempt_until, ditetapkan_pada=decided_at)


def format_day(value: date) -> str:
    return f"{value.day:02d}-{value.month:02d}-{value.year}"


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Neutralise formulas: a register opened in a spreadsheet must not run anything.
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def table(entries: Sequence[BaseModel], columns: Sequence[tuple[str, str]]) -> list[list[str]]:
    """The register as rows of text: a header row, then one row per entry."""
    rows = [[label for _, label in columns]]
    for entry in entries:
        data = entry.model_dump()
        rows.append([_cell(data[name]) for name, _ in columns])
    return rows


def to_csv(rows: list[list[str]]) -> bytes:
    """CSV with a UTF-8 BOM, so spreadsheet programs read the Indonesian text right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode()


def to_xlsx(rows: list[list[str]], *, sheet: str) -> bytes:
    """An XLSX workbook with one sheet holding the register."""
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet[:31]
    for row in rows:
        ws.append(row)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for index, _ in enumerate(rows[0] if rows else [], start=1):
        width = max((len(r[index - 1]) for r in rows), default=10)
        ws.column_dimensions[get_column_letter(index)].width = min(max(width, 8), 60)
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
