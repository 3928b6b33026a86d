"""Suggestions: rules with their reasons, the learned classifier, and the two together."""

from __future__ import annotations

from dms_classify.findings import find_findings
from dms_classify.suggest import TextClassifier, suggest


def rules(title: str, text: str = "", division: str | None = None) -> tuple[str, list[str]]:
    found = suggest(title=title, text=text, findings=find_findings(text),
                    division_name=division)
    return found.kip_category, found.reasons


def test_rules_pick_the_category_and_say_why() -> None:
    category, reasons = rules("Laporan Keuangan Bawaslu Kabupaten Banjar Tahun 2024")
    assert category == "berkala" and "Pasal 9" in reasons[0]
    assert rules("Peringatan dini banjir di lokasi TPS 12")[0] == "serta_merta"
    assert rules("Keputusan Ketua Bawaslu Nomor 12 Tahun 2024")[0] == "setiap_saat"
    assert rules("Dokumen tanpa petunjuk apa pun")[0] == "setiap_saat"  # Pasal 11 by default


def test_findings_weigh_towards_exemption() -> None:
    text = "Nama Pelapor: Budi Santoso\nNIK 6302011505900001"
    found = suggest(title="Formulir laporan", text=text, findings=find_findings(text))
    assert found.kip_category == "dikecualikan"
    assert found.legal_basis == "UU 14/2008 Pasal 17 huruf h"
    assert any("pelapor" in reason for reason in found.reasons)
    # Contact details on a notice suggest publishing with redaction, not exemption.
    notice = "Hubungi 0812-5123-4567 atau ppid@bawaslu.go.id"
    found = suggest(title="Pengumuman rekrutmen", text=notice, findings=find_findings(notice))
    assert found.kip_category == "setiap_saat" and found.redact_suggested
    assert found.legal_basis is None


def test_division_and_marker() -> None:
    category, reasons = rules("Nota dinas", "Sifat: RAHASIA",
                              division="Penanganan Pelanggaran dan Data Informasi")
    assert category == "dikecualikan"
    assert any("rahasia" in r for r in reasons) and any("divisi" in r for r in reasons)


def test_confidence_is_the_winning_share() -> None:
    found = suggest(title="Laporan kinerja", text="", findings=[])
    assert 0 < found.confidence <= 1
    assert found.confidence == max(found.scores.values())
    assert abs(sum(found.scores.values()) - 1) < 0.01


def test_the_learned_model_overrides_weak_rules_and_round_trips() -> None:
    texts = [f"Telaah staf nomor {i} tentang strategi internal" for i in range(30)]
    texts += [f"Jadwal kegiatan sosialisasi nomor {i} di kecamatan" for i in range(30)]
    labels = ["dikecualikan"] * 30 + ["setiap_saat"] * 30
    model = TextClassifier.loads(TextClassifier.train(texts, labels, ["telaah"] * 30
                                                      + ["jadwal"] * 30).dumps())
    assert model.samples == 60
    found = suggest(title="Telaah staf nomor 99", text="strategi internal", findings=[],
                    model=model)
    assert found.kip_category == "dikecualikan" and found.model_used
    assert found.document_type == "telaah"
    assert any("Model kantor" in reason for reason in found.reasons)
    # Without the model the same document falls to the default.
    assert suggest(title="Telaah staf nomor 99", text="strategi internal",
                   findings=[]).kip_category == "setiap_saat"


def test_a_model_needs_two_categories() -> None:
    import pytest

    with pytest.raises(ValueError, match="two categories"):
        TextClassifier.train(["a", "b"], ["berkala", "berkala"])
