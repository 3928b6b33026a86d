"""Personal data and Bawaslu's own markers in Indonesian text, each with its place in the text.

Every finding carries character offsets into the extracted text (`start`, `end`), so the review
page can highlight it and a redaction can take it as is. The detectors prefer missing an odd
format to flagging ordinary numbers: a NIK must carry a real province code and a real birth
date, a bare 15-digit number counts as an NPWP only next to the word NPWP.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

# BPS province codes (the NIK's first two digits).
PROVINCE_CODES = frozenset({
    11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53,
    61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 94, 95, 96, 97,
})

KINDS = ("nik", "npwp", "phone", "email", "pelapor", "saksi", "rahasia", "terbatas")
# Findings that name a person: the grounds for Pasal 17 h (privacy) or a redaction.
PERSONAL_KINDS = frozenset({"nik", "npwp", "phone", "email", "pelapor", "saksi"})
MARKER_KINDS = frozenset({"rahasia", "terbatas"})


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    value: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_NIK = re.compile(r"(?<![\d.])(\d{16})(?!\d|[.,]\d)")
_NPWP_FORMATTED = re.compile(
    r"(?<!\d)(\d{2}\.\d{3}\.\d{3}\.\d-\d{3}\.\d{3}(?:\.\d)?|\d{4}\.\d{4}\.\d{4}\.\d{4})(?!\d)")
_NPWP_BARE = re.compile(r"\bNPWP\b[^\d\n]{0,20}(\d{15,16})(?!\d)", re.IGNORECASE)
_PHONE = re.compile(
    r"(?<![\d+])(?:"
    r"(?:\+62|62|0)[\s.-]?8\d{1,2}(?:[\s.-]?\d){6,9}"  # mobile: 08xx / +62 8xx
    r"|\(0\d{2,3}\)\s?\d{3,4}[\s.-]?\d{3,4}"  # landline with area code: (0511) 477 2345
    r"|0\d{2,3}-\d{6,8}"  # landline 0511-4772345
    r")(?![\d])")
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                    r"\.[A-Za-z]{2,24}\b")
# "Nama Pelapor: Budi Santoso", "Identitas saksi : ...", "Pelapor : Siti" up to the line's end.
_PERSON = re.compile(
    r"\b(?:(?:nama|identitas|data)\s+)?(pelapor|saksi)(?:\s+\d+)?\s*[:：]\s*([^\n]{2,120})",
    re.IGNORECASE)
_MARKER = re.compile(
    r"(?:\bsifat\s*[:：]?\s*|\bbersifat\s+|\b(?:dokumen|informasi|surat|klasifikasi)\s+)"
    r"(rahasia|terbatas)\b"
    r"|\b(?-i:(RAHASIA|TERBATAS))\b", re.IGNORECASE)  # a stamp: capitals on their own


def nik_detail(digits: str) -> str | None:
    """Why a 16-digit string is a plausible NIK ("perempuan, lahir 1990-01-05"), or None."""
    if len(digits) != 16 or not digits.isdigit():
        return None
    province, regency, district = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    day, month, year = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    if province not in PROVINCE_CODES or regency == 0 or district == 0:
        return None
    if digits[12:] == "0000":
        return None
    sex = "laki-laki"
    if day > 40:
        day, sex = day - 40, "perempuan"
    try:
        # Two-digit year: 2000 allows 29 February; the century is a guess for display only.
        date(2000 + year, month, day)
    except ValueError:
        return None
    century = 2000 if year <= date.today().year % 100 else 1900
    return f"{sex}, lahir {century + year:04d}-{month:02d}-{day:02d}, provinsi {province}"


def find_findings(text: str) -> list[Finding]:
    """Every finding in `text`, ordered by position, overlaps resolved in favour of the first."""
    found: list[Finding] = []
    for match in _NIK.finditer(text):
        detail = nik_detail(match.group(1))
        if detail is not None:
            found.append(Finding("nik", match.start(1), match.end(1), match.group(1), detail))
    for match in _NPWP_FORMATTED.finditer(text):
        found.append(Finding("npwp", match.start(1), match.end(1), match.group(1)))
    for match in _NPWP_BARE.finditer(text):
        found.append(Finding("npwp", match.start(1), match.end(1), match.group(1)))
    for match in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if 9 <= len(digits) <= 14:
            found.append(Finding("phone", match.start(), match.end(), match.group(0)))
    for match in _EMAIL.finditer(text):
        found.append(Finding("email", match.start(), match.end(), match.group(0)))
    for match in _PERSON.finditer(text):
        value = match.group(2).strip()
        if value and not value.startswith(("-", "…", "...")):
            end = match.start(2) + len(match.group(2).rstrip())
            found.append(Finding(match.group(1).lower(), match.start(2), end, value))
    for match in _MARKER.finditer(text):
        group = 1 if match.group(1) else 2
        found.append(Finding(match.group(group).lower(), match.start(group), match.end(group),
                             match.group(group)))
    return _without_overlaps(found)


def _without_overlaps(found: list[Finding]) -> list[Finding]:
    # Order of preference on overlap: the more specific kinds win (a NIK is not a phone number).
    rank = {kind: index for index, kind in enumerate(KINDS)}
    chosen: list[Finding] = []
    for finding in sorted(found, key=lambda f: (rank[f.kind], f.start)):
        if all(finding.end <= other.start or finding.start >= other.end for other in chosen
               if other.kind not in ("pelapor", "saksi") and finding.kind not in
               ("pelapor", "saksi")):
            chosen.append(finding)
    return sorted(chosen, key=lambda f: (f.start, f.end))


def summarise(findings: list[Finding]) -> dict[str, int]:
    """Count findings by kind (the `extracted` event's summary)."""
    return dict(sorted(Counter(f.kind for f in findings).items()))
