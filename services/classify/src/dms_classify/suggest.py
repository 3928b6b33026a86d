"""Suggestions: which KIP category and document type a document probably has, and why.

Two voices: rules (keywords in the title and text, the personal-data findings, the division)
that every office gets from the first document, and a text classifier learned from the office's
own past decisions once it has made enough of them. Each contributes a score per category; the
suggestion is the best one, with its confidence and the reasons that fired. A suggestion is only
ever shown to an administrator: nothing is classified without a decision.
"""

from __future__ import annotations

import io
import pickle
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from dms_classify.findings import MARKER_KINDS, PERSONAL_KINDS, Finding

CATEGORIES = ("berkala", "serta_merta", "setiap_saat", "dikecualikan")
# How much the learned classifier weighs against the rules once an office has made enough
# decisions; a model trained on a handful weighs proportionally less.
MODEL_WEIGHT = 0.6
MODEL_FULL_WEIGHT_SAMPLES = 60


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    category: str
    weight: float
    reason: str
    document_type: str | None = None
    legal_basis: str | None = None


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


RULES: tuple[Rule, ...] = (
    Rule("laporan_keuangan", _words(r"laporan keuangan", r"realisasi anggaran", r"DIPA",
                                    r"rencana kerja (?:dan )?anggaran", r"RKA-?K/L"),
         "berkala", 2.0, "Informasi keuangan/anggaran wajib diumumkan berkala (Pasal 9)",
         "laporan_keuangan"),
    Rule("laporan_kinerja", _words(r"laporan kinerja", r"LAKIP", r"LKjIP", r"rencana strategis",
                                   r"renstra", r"laporan tahunan", r"program kerja"),
         "berkala", 2.0, "Laporan kinerja/program diumumkan berkala (Pasal 9)", "laporan_kinerja"),
    Rule("profil", _words(r"profil (?:lembaga|kantor|bawaslu)", r"struktur organisasi",
                          r"tugas dan fungsi", r"LHKPN", r"laporan akses informasi"),
         "berkala", 1.5, "Profil dan laporan layanan informasi bersifat berkala", "profil"),
    Rule("darurat", _words(r"bencana", r"banjir", r"kebakaran", r"kerusuhan", r"keadaan darurat",
                           r"peringatan dini", r"evakuasi", r"wabah", r"ancaman keselamatan"),
         "serta_merta", 2.5, "Menyangkut keselamatan/ketertiban umum: diumumkan serta merta "
         "(Pasal 10)", "pengumuman_darurat"),
    Rule("keputusan", _words(r"surat keputusan", r"keputusan (?:ketua|bawaslu)", r"SK"),
         "setiap_saat", 1.5, "Keputusan lembaga tersedia setiap saat (Pasal 11)", "keputusan"),
    Rule("pengumuman", _words(r"pengumuman", r"siaran pers", r"undangan terbuka"),
         "setiap_saat", 1.0, "Pengumuman tersedia setiap saat (Pasal 11)", "pengumuman"),
    Rule("putusan", _words(r"putusan (?:penyelesaian )?sengketa", r"putusan pendahuluan",
                           r"status laporan", r"pemberitahuan tentang status"),
         "setiap_saat", 1.5,
         "Putusan dan status penanganan yang telah selesai tersedia setiap saat",
         "putusan"),
    Rule("berita_acara", _words(r"berita acara", r"notulen", r"risalah rapat"),
         "setiap_saat", 1.0, "Berita acara/risalah kegiatan tersedia setiap saat", "berita_acara"),
    Rule("rekapitulasi", _words(r"rekapitulasi", r"daftar pemilih", r"hasil pengawasan"),
         "setiap_saat", 1.0, "Hasil pengawasan dan rekapitulasi tersedia setiap saat",
         "hasil_pengawasan"),
    Rule("penanganan_pelanggaran", _words(r"laporan dugaan pelanggaran", r"kajian dugaan",
                                          r"klarifikasi terhadap", r"penyelidikan", r"penyidikan",
                                          r"formulir model A", r"sentra gakkumdu"),
         "dikecualikan", 2.0, "Berkas penanganan pelanggaran yang sedang berjalan dapat "
         "menghambat penegakan hukum (Pasal 17 a)", "berkas_pelanggaran",
         "UU 14/2008 Pasal 17 huruf a"),
    Rule("kepegawaian", _words(r"rekam medis", r"riwayat kesehatan", r"penilaian kinerja pegawai",
                               r"data pribadi pegawai", r"slip gaji"),
         "dikecualikan", 2.0, "Memuat rahasia pribadi (Pasal 17 h)", "data_pribadi",
         "UU 14/2008 Pasal 17 huruf h"),
)

_FINDING_REASON = {
    "nik": "NIK", "npwp": "NPWP", "phone": "nomor telepon", "email": "alamat e-mail",
    "pelapor": "identitas pelapor", "saksi": "identitas saksi",
}


# A NIK names a person; an office's own contact phone or e-mail on a notice usually does not.
_PERSONAL_WEIGHT = {"nik": 1.5, "npwp": 1.0, "phone": 0.4, "email": 0.4}


@dataclass
class Suggestion:
    kip_category: str
    confidence: float
    document_type: str | None = None
    legal_basis: str | None = None
    redact_suggested: bool = False
    reasons: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    model_used: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rule_scores(*, title: str, text: str, findings: Sequence[Finding],
                division_name: str | None = None,
                ) -> tuple[dict[str, float], list[str], str | None, str | None]:
    """Score each category by the rules: (scores, reasons, document_type, legal_basis)."""
    scores = dict.fromkeys(CATEGORIES, 0.0)
    scores["setiap_saat"] = 0.5  # Pasal 11: what nothing else claims is available at any time
    reasons: list[str] = []
    document_type: str | None = None
    legal_basis: str | None = None
    best_type_weight = 0.0
    haystack = f"{title}\n{text[:50_000]}"
    for rule in RULES:
        in_title = rule.pattern.search(title) is not None
        hits = len(rule.pattern.findall(haystack))
        if not hits:
            continue
        weight = rule.weight * (1.5 if in_title else 1.0) * min(1.0 + 0.2 * (hits - 1), 2.0)
        scores[rule.category] += weight
        reasons.append(f"Kata kunci {rule.name!r}: {rule.reason}")
        if rule.document_type and weight > best_type_weight:
            document_type, best_type_weight = rule.document_type, weight
        if rule.legal_basis and legal_basis is None:
            legal_basis = rule.legal_basis
    kinds = {f.kind for f in findings}
    personal = sorted(kinds & PERSONAL_KINDS)
    if {"pelapor", "saksi"} & kinds:
        scores["dikecualikan"] += 3.0
        legal_basis = "UU 14/2008 Pasal 17 huruf h"
        reasons.append("Memuat identitas pelapor/saksi: dikecualikan (Pasal 17 h) atau "
                       "diumumkan dengan penghitaman")
    elif personal:
        scores["dikecualikan"] += sum(_PERSONAL_WEIGHT[k] for k in personal)
        legal_basis = legal_basis or "UU 14/2008 Pasal 17 huruf h"
        reasons.append("Memuat data pribadi (" + ", ".join(_FINDING_REASON[k] for k in personal)
                       + "): pertimbangkan pengecualian Pasal 17 h atau penghitaman")
    for marker in sorted(kinds & MARKER_KINDS):
        scores["dikecualikan"] += 2.0
        reasons.append(f"Ditandai {marker!r} oleh pembuatnya")
    if division_name and re.search(r"penanganan pelanggaran", division_name, re.IGNORECASE):
        scores["dikecualikan"] += 0.5
        reasons.append("Berasal dari divisi Penanganan Pelanggaran")
    return scores, reasons, document_type, legal_basis


def _normalised(scores: dict[str, float]) -> dict[str, float]:
    total = sum(scores.values()) or 1.0
    return {k: round(v / total, 4) for k, v in scores.items()}


def suggest(*, title: str, text: str, findings: Sequence[Finding],
            division_name: str | None = None, model: TextClassifier | None = None) -> Suggestion:
    """Suggest a category and type for one document, with confidence and reasons."""
    raw, reasons, document_type, legal_basis = rule_scores(
        title=title, text=text, findings=findings, division_name=division_name)
    scores = _normalised(raw)
    model_used = False
    if model is not None:
        learned = model.probabilities(f"{title}\n{text}")
        weight = MODEL_WEIGHT * min(1.0, model.samples / MODEL_FULL_WEIGHT_SAMPLES)
        scores = {c: (1 - weight) * scores[c] + weight * learned.get(c, 0.0)
                  for c in CATEGORIES}
        best = max(learned, key=learned.__getitem__)
        reasons.append(f"Model kantor (dilatih dari {model.samples} keputusan) menilai "
                       f"{best!r} dengan keyakinan {learned[best]:.0%}")
        model_used = True
    category = max(CATEGORIES, key=lambda c: scores[c])
    if model is not None and document_type is None:
        document_type = model.document_type(f"{title}\n{text}")
    personal = any(f.kind in PERSONAL_KINDS for f in findings)
    return Suggestion(
        kip_category=category, confidence=round(scores[category], 4),
        document_type=document_type,
        legal_basis=legal_basis if category == "dikecualikan" else None,
        redact_suggested=personal and category != "dikecualikan", reasons=reasons,
        scores={c: round(v, 4) for c, v in scores.items()}, model_used=model_used)


# --- the learned classifier -------------------------------------------------------------------

class TextClassifier:
    """TF-IDF + logistic regression over an office's decided documents."""

    def __init__(self, category_model: Any, type_model: Any | None, samples: int) -> None:
        self.category_model = category_model
        self.type_model = type_model
        self.samples = samples

    @classmethod
    def train(cls, texts: Sequence[str], categories: Sequence[str],
              document_types: Sequence[str | None] | None = None) -> TextClassifier:
        """Fit on labelled texts; needs at least two categories."""
        if len(set(categories)) < 2:
            raise ValueError("a classifier needs decisions of at least two categories")
        category_model = _pipeline().fit(list(texts), list(categories))
        type_model = None
        if document_types is not None:
            typed = [(t, d) for t, d in zip(texts, document_types, strict=True) if d]
            if len({d for _, d in typed}) >= 2:
                type_model = _pipeline().fit([t for t, _ in typed], [d for _, d in typed])
        return cls(category_model, type_model, len(texts))

    def probabilities(self, text: str) -> dict[str, float]:
        proba = self.category_model.predict_proba([text])[0]
        return {str(c): float(p) for c, p in zip(self.category_model.classes_, proba,
                                                  strict=True)}

    def predict(self, texts: Iterable[str]) -> list[str]:
        return [str(label) for label in self.category_model.predict(list(texts))]

    def document_type(self, text: str) -> str | None:
        if self.type_model is None:
            return None
        return str(self.type_model.predict([text])[0])

    def dumps(self) -> bytes:
        buffer = io.BytesIO()
        pickle.dump(self, buffer, protocol=pickle.HIGHEST_PROTOCOL)
        return buffer.getvalue()

    @staticmethod
    def loads(data: bytes) -> TextClassifier:
        # Only ever bytes this service wrote into its own schema.
        model = pickle.loads(data)  # noqa: S301
        if not isinstance(model, TextClassifier):
            raise TypeError("not a TextClassifier")
        return model


def _pipeline() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]

    return make_pipeline(
        TfidfVectorizer(lowercase=True, ngram_range=(1, 2), min_df=1, max_features=50_000,
                        sublinear_tf=True, strip_accents="unicode"),
        LogisticRegression(max_iter=2000, class_weight="balanced", C=5.0))
