"""The KIP rules a decision must satisfy (UU 14/2008, DESIGN.md §2), as pure functions.

Each check returns every problem it finds, one Indonesian message per missing or invalid field,
so that an administrator fixes a form in one pass rather than one refusal at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from dms_classify.schemas import ConsequenceTestIn, DipIn, LegalBasisIn


class Instrument(StrEnum):
    UU14_PASAL17 = "uu14_pasal17"
    PERBAWASLU_PASAL18 = "perbawaslu_pasal18"
    OTHER = "other"


# Pasal 17 a–f: UU 14/2008 Pasal 20(1) makes these exemptions time-limited.
TIME_LIMITED_LETTERS = frozenset("abcdef")
_LETTERS = {Instrument.UU14_PASAL17: "abcdefghij", Instrument.PERBAWASLU_PASAL18: "abc"}
# "Undang-Undang Nomor 7 Tahun 2017 tentang Pemilihan Umum Pasal 93" and the like: a kind of
# statute, its number and year, and the article.
_STATUTE_KIND = re.compile(
    r"\b(undang-undang|uu|peraturan pemerintah|pp|peraturan presiden|perpres|peraturan "
    r"(?:bawaslu|kpu|menteri|daerah|mahkamah agung)|perbawaslu|perma|perda|permen)\b",
    re.IGNORECASE)
_NUMBER_YEAR = re.compile(r"\b(?:nomor|no\.?)\s*\d+\s*(?:tahun|/)\s*\d{4}\b|\b\d+/\d{4}\b",
                          re.IGNORECASE)
_ARTICLE = re.compile(r"\bpasal\s+\d+", re.IGNORECASE)


@dataclass(frozen=True)
class LegalBasis:
    instrument: Instrument
    letter: str | None
    citation: str | None

    @property
    def text(self) -> str:
        """The basis as shown in the DIK register and carried by the event."""
        if self.instrument is Instrument.UU14_PASAL17:
            return f"UU 14/2008 Pasal 17 huruf {self.letter}"
        if self.instrument is Instrument.PERBAWASLU_PASAL18:
            return f"Perbawaslu 10/2019 jo. 1/2022 Pasal 18 ayat (2) huruf {self.letter}"
        return str(self.citation)

    @property
    def time_limited(self) -> bool:
        return self.instrument is Instrument.UU14_PASAL17 and self.letter in TIME_LIMITED_LETTERS


_PASAL_17 = re.compile(r"^(?:UU\s*(?:Nomor\s*)?14(?:/|\s*Tahun\s*)2008\s*)?Pasal\s*17\s*"
                       r"(?:huruf\s*)?([a-z])\b(?:\s*UU\s*(?:Nomor\s*)?14(?:/|\s*Tahun\s*)2008)?"
                       r"\.?$", re.IGNORECASE)
_PASAL_18 = re.compile(r"^Perbawaslu\b.*Pasal\s*18\s*(?:ayat\s*)?\(?2\)?\s*(?:huruf\s*)?"
                       r"([a-z])\b\.?$", re.IGNORECASE)


def parse_legal_basis(text: str) -> LegalBasisIn:
    """Read a legal basis typed as text into its structured form."""
    text = " ".join(text.split())
    if match := _PASAL_17.match(text):
        return LegalBasisIn(instrument="uu14_pasal17", letter=match.group(1).lower())
    if match := _PASAL_18.match(text):
        return LegalBasisIn(instrument="perbawaslu_pasal18", letter=match.group(1).lower())
    return LegalBasisIn(instrument="other", citation=text)


def check_legal_basis(basis: LegalBasisIn | str | None,
                      ) -> tuple[LegalBasis | None, list[str]]:
    """Validate a legal basis: Pasal 17 a–j, Perbawaslu Pasal 18(2) a–c, or a full citation."""
    if isinstance(basis, str):
        basis = parse_legal_basis(basis) if basis.strip() else None
    if basis is None:
        return None, ["Dasar hukum pengecualian wajib diisi (Pasal 17 huruf a–j UU 14/2008, "
                      "Pasal 18 ayat (2) huruf a–c Perbawaslu 10/2019 jo. 1/2022, atau "
                      "undang-undang lain yang dikutip lengkap)."]
    instrument = Instrument(basis.instrument)
    if instrument is Instrument.OTHER:
        citation = (basis.citation or "").strip()
        if not (_STATUTE_KIND.search(citation) and _NUMBER_YEAR.search(citation)
                and _ARTICLE.search(citation)):
            return None, ["Dasar hukum lain harus dikutip lengkap: jenis peraturan, nomor dan "
                          "tahun, serta pasalnya (mis. \"Undang-Undang Nomor 7 Tahun 2017 "
                          "tentang Pemilihan Umum Pasal 93\")."]
        return LegalBasis(instrument, None, citation), []
    letter = (basis.letter or "").strip().lower()
    allowed = _LETTERS[instrument]
    if len(letter) != 1 or letter not in allowed:
        where = ("Pasal 17 UU 14/2008" if instrument is Instrument.UU14_PASAL17
                 else "Pasal 18 ayat (2) Perbawaslu 10/2019 jo. 1/2022")
        return None, [f"Huruf dasar hukum harus salah satu dari {allowed[0]}–{allowed[-1]} "
                      f"pada {where}."]
    return LegalBasis(instrument, letter, None), []


def check_consequence_test(test: ConsequenceTestIn | None, *,
                           today: date) -> tuple[LegalBasis | None, list[str]]:
    """Validate the uji konsekuensi of an exemption; its legal basis and every problem."""
    if test is None:
        return None, ["Informasi yang dikecualikan wajib disertai uji konsekuensi."]
    problems: list[str] = []
    if not test.exempt_information.strip():
        problems.append("Uraian informasi yang dikecualikan (untuk DIK, tanpa menyebut nama "
                        "atau isi dokumen) wajib diisi.")
    basis, basis_problems = check_legal_basis(test.legal_basis)
    problems += basis_problems
    if not test.consequence.strip():
        problems.append("Konsekuensi yang timbul apabila informasi dibuka wajib diisi.")
    if not test.public_interest.strip():
        problems.append("Pertimbangan kepentingan publik yang lebih besar wajib diisi.")
    if test.exempt_until is not None and test.exempt_until <= today:
        problems.append("Jangka waktu pengecualian harus berakhir setelah hari ini.")
    if basis is not None and basis.time_limited and test.exempt_until is None:
        problems.append(f"Pengecualian berdasarkan {basis.text} wajib memiliki jangka waktu "
                        "(Pasal 20 ayat (1) UU 14/2008): isi tanggal berakhirnya.")
    elif (basis is not None and test.exempt_until is None
          and not (test.indefinite_reason or "").strip()):
        problems.append("Pengecualian tanpa batas waktu wajib disertai alasannya.")
    if not test.place.strip():
        problems.append("Tempat penetapan uji konsekuensi wajib diisi.")
    return (basis if not problems else None), problems


_DIP_LABELS = {
    "summary": "ringkasan isi informasi",
    "holder_unit": "pejabat/unit yang menguasai informasi",
    "responsible": "penanggung jawab pembuatan/penerbitan",
    "created_place_time": "waktu dan tempat pembuatan",
    "retention": "jangka waktu penyimpanan (retensi)",
}


def check_dip(dip: DipIn | None) -> list[str]:
    """Validate the DIP columns a public decision must fill."""
    if dip is None:
        return ["Informasi publik wajib dilengkapi kolom DIP (ringkasan, unit, penanggung jawab, "
                "waktu dan tempat, bentuk, retensi)."]
    problems = [f"Kolom DIP \"{label}\" wajib diisi." for name, label in _DIP_LABELS.items()
                if not str(getattr(dip, name)).strip()]
    if not dip.available_forms:
        problems.append("Kolom DIP \"bentuk informasi yang tersedia\" wajib diisi "
                        "(mis. softcopy, hardcopy).")
    return problems
