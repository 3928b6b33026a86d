"""Personal data in Indonesian text: true positives with their offsets, and look-alikes."""

from __future__ import annotations

import pytest

from dms_classify.findings import find_findings, nik_detail, summarise


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.value) for f in find_findings(text)]


@pytest.mark.parametrize(("nik", "detail"), [
    ("6302011505900001", "laki-laki, lahir 1990-05-15, provinsi 63"),
    ("6371055501850002", "perempuan, lahir 1985-01-15, provinsi 63"),  # day 55 = 15 + 40
    ("3174012902000003", "laki-laki, lahir 2000-02-29, provinsi 31"),
    ("1101017112990004", "perempuan, lahir 1999-12-31, provinsi 11"),
])
def test_valid_nik(nik: str, detail: str) -> None:
    assert nik_detail(nik) == detail
    text = f"Pelapor ber-NIK {nik} datang ke kantor."
    [finding] = [f for f in find_findings(text) if f.kind == "nik"]
    assert text[finding.start:finding.end] == nik and finding.detail == detail


@pytest.mark.parametrize("number", [
    "1002011505900001",  # province 10 does not exist
    "9902011505900001",  # nor 99
    "6300011505900001",  # regency 00
    "6302001505900001",  # district 00
    "6302013205900001",  # day 32
    "6302017205900001",  # day 72 (= 32 + 40)
    "6302011513900001",  # month 13
    "6302013002900001",  # 30 February
    "6302011505900000",  # serial 0000
    "1234567890123456",
])
def test_invalid_nik_is_ignored(number: str) -> None:
    assert nik_detail(number) is None
    assert kinds(f"Nomor rekening {number}") == []


def test_nik_inside_a_longer_number_is_not_a_nik() -> None:
    assert kinds("Kode billing 163020115059000012") == []
    assert kinds("No. 6302011505900001.5") == []


def test_npwp_formats() -> None:
    text = "NPWP 01.234.567.8-901.000 dan NPWP: 012345678901000; lama 0123.4567.8901.2345"
    found = find_findings(text)
    assert [(f.kind, f.value) for f in found] == [
        ("npwp", "01.234.567.8-901.000"), ("npwp", "012345678901000"),
        ("npwp", "0123.4567.8901.2345")]
    assert all(text[f.start:f.end] == f.value for f in found)
    # A bare 15-digit number without the word NPWP near it is not flagged.
    assert kinds("Nomor surat 012345678901000") == []


@pytest.mark.parametrize("phone", [
    "081234567890", "0812-3456-7890", "+62 812 3456 7890", "+6281234567890", "62812345678",
    "(0511) 477 2345", "0511-4772345",
])
def test_phone_numbers(phone: str) -> None:
    text = f"Hubungi {phone} untuk informasi."
    [finding] = find_findings(text)
    assert finding.kind == "phone" and text[finding.start:finding.end] == phone


@pytest.mark.parametrize("text", [
    "Tahun anggaran 2024 sebanyak 1.250.000 pemilih",
    "Pasal 17 huruf h UU 14/2008",
    "Nomor surat 081/BAWASLU-KS/2024",
    "Jumlah suara 0812",
    "Tanggal 12-08-2024",
])
def test_no_phone_in_ordinary_numbers(text: str) -> None:
    assert kinds(text) == []


def test_email() -> None:
    text = "Kirim ke ppid.kalsel@bawaslu.go.id, tembusan siti_a+kip@mail.co.id."
    assert kinds(text) == [("email", "ppid.kalsel@bawaslu.go.id"),
                           ("email", "siti_a+kip@mail.co.id")]
    assert kinds("Akun @bawaslu_kalsel di media sosial") == []


def test_reporter_and_witness_identity() -> None:
    text = ("FORMULIR LAPORAN\nNama Pelapor: Budi Santoso\nIdentitas saksi 1 : Siti Rahmah, "
            "Banjarbaru\nSaksi: -\n")
    found = find_findings(text)
    assert [(f.kind, f.value) for f in found] == [
        ("pelapor", "Budi Santoso"), ("saksi", "Siti Rahmah, Banjarbaru")]
    assert text[found[0].start:found[0].end] == "Budi Santoso"
    # The words alone, without an identity after them, are no finding.
    assert kinds("Pelapor menyampaikan keberatan; saksi tidak hadir.") == []


def test_secrecy_markers() -> None:
    assert kinds("Sifat: RAHASIA") == [("rahasia", "RAHASIA")]
    assert kinds("Dokumen ini bersifat terbatas") == [("terbatas", "terbatas")]
    assert kinds("TERBATAS\nNotulen rapat") == [("terbatas", "TERBATAS")]
    # Ordinary uses of the words are not markers.
    assert kinds("Kuota peserta terbatas, waktu pendaftaran terbatas.") == []
    assert kinds("Pemilihan dilakukan secara langsung, umum, bebas, rahasia") == []


def test_findings_in_one_letter_are_ordered_and_counted() -> None:
    text = ("Sifat: Rahasia\nNama Pelapor: Ahmad Fauzi\nNIK 6303014402880003\n"
            "Telp 0813 5123 4567, e-mail ahmad.f@gmail.com")
    found = find_findings(text)
    assert [f.kind for f in found] == ["rahasia", "pelapor", "nik", "phone", "email"]
    assert all(text[f.start:f.end] == f.value for f in found)
    assert summarise(found) == {"email": 1, "nik": 1, "pelapor": 1, "phone": 1, "rahasia": 1}
    assert find_findings("") == []
