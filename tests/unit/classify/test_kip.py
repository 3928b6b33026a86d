"""The consequence test, the legal basis and the DIP columns: one message per problem."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dms_classify.kip import check_consequence_test, check_dip, check_legal_basis
from dms_classify.schemas import ConsequenceTestIn, DipIn, LegalBasisIn

TODAY = date(2025, 6, 1)
COMPLETE: dict[str, Any] = {
    "exempt_information": "Identitas pelapor dugaan pelanggaran politik uang",
    "legal_basis": {"instrument": "uu14_pasal17", "letter": "h"},
    "consequence": "Membuka identitas pelapor membahayakan keselamatannya",
    "public_interest": "Perlindungan pelapor lebih besar dari kepentingan membuka identitas",
    "indefinite_reason": "Rahasia pribadi tidak kedaluwarsa",
    "place": "Kotabaru",
}


def check(**changes: Any) -> tuple[str | None, list[str]]:
    body = {**COMPLETE, **changes}
    basis, problems = check_consequence_test(ConsequenceTestIn.model_validate(body), today=TODAY)
    return (basis.text if basis else None), problems


def test_a_complete_test_passes() -> None:
    assert check() == ("UU 14/2008 Pasal 17 huruf h", [])


def test_every_missing_field_is_named() -> None:
    basis, problems = check_consequence_test(ConsequenceTestIn(), today=TODAY)
    assert basis is None
    assert len(problems) == 5
    for word in ("Uraian informasi", "Dasar hukum", "Konsekuensi", "kepentingan publik",
                 "Tempat"):
        assert any(word in problem for problem in problems), word
    assert check_consequence_test(None, today=TODAY)[1] == [
        "Informasi yang dikecualikan wajib disertai uji konsekuensi."]


def test_pasal_17_a_to_f_needs_an_end_date() -> None:
    basis, problems = check(legal_basis={"instrument": "uu14_pasal17", "letter": "a"})
    assert basis is None
    assert problems == ["Pengecualian berdasarkan UU 14/2008 Pasal 17 huruf a wajib memiliki "
                        "jangka waktu (Pasal 20 ayat (1) UU 14/2008): isi tanggal berakhirnya."]
    assert check(legal_basis={"instrument": "uu14_pasal17", "letter": "f"},
                 exempt_until="2027-01-01")[1] == []
    _, past = check(legal_basis={"instrument": "uu14_pasal17", "letter": "b"},
                    exempt_until="2025-06-01")
    assert past == ["Jangka waktu pengecualian harus berakhir setelah hari ini."]


def test_g_to_j_may_be_indefinite_with_a_reason() -> None:
    assert check(legal_basis={"instrument": "uu14_pasal17", "letter": "j"})[1] == []
    _, problems = check(legal_basis={"instrument": "uu14_pasal17", "letter": "g"},
                        indefinite_reason="  ")
    assert problems == ["Pengecualian tanpa batas waktu wajib disertai alasannya."]
    assert check(indefinite_reason=None, exempt_until="2030-12-31")[1] == []


@pytest.mark.parametrize(("basis", "text"), [
    ({"instrument": "uu14_pasal17", "letter": "C"}, "UU 14/2008 Pasal 17 huruf c"),
    ({"instrument": "perbawaslu_pasal18", "letter": "b"},
     "Perbawaslu 10/2019 jo. 1/2022 Pasal 18 ayat (2) huruf b"),
    ({"instrument": "other", "citation": "Undang-Undang Nomor 7 Tahun 2017 tentang Pemilihan "
                                         "Umum Pasal 93"},
     "Undang-Undang Nomor 7 Tahun 2017 tentang Pemilihan Umum Pasal 93"),
    ({"instrument": "other", "citation": "UU 27/2022 tentang Pelindungan Data Pribadi Pasal 4"},
     "UU 27/2022 tentang Pelindungan Data Pribadi Pasal 4"),
])
def test_valid_legal_bases(basis: dict[str, str], text: str) -> None:
    found, problems = check_legal_basis(LegalBasisIn.model_validate(basis))
    assert problems == [] and found is not None and found.text == text


@pytest.mark.parametrize("basis", [
    {"instrument": "uu14_pasal17", "letter": "k"},
    {"instrument": "uu14_pasal17"},
    {"instrument": "perbawaslu_pasal18", "letter": "d"},
    {"instrument": "other", "citation": "undang-undang"},
    {"instrument": "other", "citation": "UU Pemilu"},
    {"instrument": "other", "citation": "Undang-Undang Nomor 7 Tahun 2017"},  # no article
    {"instrument": "other"},
])
def test_invalid_legal_bases(basis: dict[str, str]) -> None:
    found, problems = check_legal_basis(LegalBasisIn.model_validate(basis))
    assert found is None and len(problems) == 1


def test_dip_columns() -> None:
    full = DipIn(summary="Laporan", holder_unit="Divisi Hukum", responsible="Sekretaris",
                 created_place_time="Banjarbaru, 2024", available_forms=["softcopy"],
                 retention="5 tahun")
    assert check_dip(full) == []
    problems = check_dip(DipIn(summary="Laporan"))
    assert len(problems) == 5
    assert any("bentuk informasi" in p for p in problems)
    assert len(check_dip(None)) == 1


@pytest.mark.parametrize(("text", "expected"), [
    ("Pasal 17 huruf h", "UU 14/2008 Pasal 17 huruf h"),
    ("UU 14/2008 Pasal 17 huruf a", "UU 14/2008 Pasal 17 huruf a"),
    ("Pasal 17 huruf j UU 14/2008", "UU 14/2008 Pasal 17 huruf j"),
    ("Perbawaslu 10/2019 jo. 1/2022 Pasal 18 ayat (2) huruf c",
     "Perbawaslu 10/2019 jo. 1/2022 Pasal 18 ayat (2) huruf c"),
    ("Undang-Undang Nomor 27 Tahun 2022 tentang Pelindungan Data Pribadi Pasal 4",
     "Undang-Undang Nomor 27 Tahun 2022 tentang Pelindungan Data Pribadi Pasal 4"),
])
def test_legal_basis_as_text(text: str, expected: str) -> None:
    found, problems = check_legal_basis(text)
    assert problems == [] and found is not None and found.text == expected


@pytest.mark.parametrize("text", ["Pasal 17 huruf k", "Perbawaslu Pasal 18 ayat (2) huruf d",
                                  "rahasia", "Pasal 17"])
def test_invalid_legal_basis_as_text(text: str) -> None:
    assert check_legal_basis(text)[0] is None
