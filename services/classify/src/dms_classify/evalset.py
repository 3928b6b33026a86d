"""A synthetic labelled set of Indonesian Bawaslu documents for evaluating the suggestions.

`python -m dms_classify.evalset` rewrites `data/eval_set.jsonl` (deterministic: a fixed seed).
The documents are made up from templates with varied wording, offices, names and numbers, and
with deliberately mixed signals (public notices that mention the word "pelapor", exemptions
without the usual keywords), so that the figure is not a template lookup. It is no substitute for
an office's real decisions; it shows that the pipeline learns and where the rules are weak.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OFFICES = ["Provinsi Kalimantan Selatan", "Kabupaten Tanah Laut", "Kabupaten Kotabaru",
           "Kabupaten Banjar", "Kabupaten Barito Kuala", "Kabupaten Tapin",
           "Kabupaten Hulu Sungai Selatan", "Kabupaten Hulu Sungai Tengah",
           "Kabupaten Hulu Sungai Utara", "Kabupaten Tabalong", "Kabupaten Tanah Bumbu",
           "Kabupaten Balangan", "Kota Banjarmasin", "Kota Banjarbaru"]
NAMES = ["Ahmad Fauzi", "Siti Rahmah", "Muhammad Rizki", "Nur Aini", "Budi Santoso",
         "Rina Marlina", "Hendra Gunawan", "Dewi Lestari", "Syahrani", "Fitriani",
         "Gusti Ayu", "Rahmadi", "Junaidi", "Normiati", "Akhmad Yani"]
KECAMATAN = ["Pulau Laut Utara", "Martapura", "Binuang", "Kandangan", "Barabai", "Amuntai",
             "Tanjung", "Batulicin", "Paringin", "Banjarmasin Utara", "Landasan Ulin",
             "Pelaihari", "Marabahan", "Rantau"]
YEARS = ["2022", "2023", "2024", "2025"]
MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember"]
FILLER = [
    "Kegiatan dilaksanakan sesuai ketentuan peraturan perundang-undangan yang berlaku.",
    "Demikian disampaikan untuk menjadi perhatian dan dilaksanakan sebagaimana mestinya.",
    "Bawaslu berkomitmen mewujudkan pemilu yang jujur dan adil.",
    "Koordinasi dilakukan bersama KPU, kepolisian dan pemerintah daerah setempat.",
    "Pengawasan partisipatif melibatkan masyarakat, pemantau dan organisasi kepemudaan.",
    "Dokumen ini disusun oleh sekretariat dan ditandatangani oleh ketua.",
    "Rapat dihadiri oleh anggota, kepala sekretariat dan para koordinator divisi.",
    "Tahapan pemilihan berjalan aman dan kondusif di seluruh kecamatan.",
]


def _nik(rng: random.Random) -> str:
    day = rng.randint(1, 28) + (40 if rng.random() < 0.5 else 0)
    return (f"63{rng.randint(1, 11):02d}{rng.randint(1, 20):02d}{day:02d}"
            f"{rng.randint(1, 12):02d}{rng.randint(60, 99):02d}{rng.randint(1, 9999):04d}")


def _phone(rng: random.Random) -> str:
    return f"08{rng.randint(11, 59)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"


def _fill(rng: random.Random, template: str) -> str:
    office = rng.choice(OFFICES)
    values = {
        "office": office, "name": rng.choice(NAMES), "name2": rng.choice(NAMES),
        "kec": rng.choice(KECAMATAN), "year": rng.choice(YEARS), "month": rng.choice(MONTHS),
        "n": str(rng.randint(2, 480)), "amount": f"{rng.randint(100, 9800):,}".replace(",", "."),
        "pct": f"{rng.randint(60, 99)},{rng.randint(0, 9)}", "nik": _nik(rng),
        "phone": _phone(rng), "tps": str(rng.randint(1, 40)),
        "no": f"{rng.randint(1, 300):03d}/{rng.choice(['PM', 'HK', 'KP', 'PP'])}.01/K.KS/"
              f"{rng.randint(1, 12):02d}/{rng.choice(YEARS)}",
    }
    return template.format(**values)


# (category, document_type, title templates, body templates)
TEMPLATES: list[tuple[str, str, list[str], list[str]]] = [
    ("berkala", "laporan_keuangan",
     ["Laporan Keuangan Bawaslu {office} Tahun {year}",
      "Laporan Realisasi Anggaran Semester I {year}", "DIPA Bawaslu {office} Tahun {year}",
      "Ringkasan Rencana Kerja dan Anggaran {year}"],
     ["Realisasi belanja pegawai mencapai Rp {amount} juta atau {pct} persen dari pagu.",
      "Pagu anggaran tahun {year} sebesar Rp {amount} juta dialokasikan untuk pengawasan.",
      "Neraca per 31 Desember {year} menunjukkan aset tetap senilai Rp {amount} juta.",
      "Belanja barang digunakan untuk operasional kantor dan kegiatan sosialisasi."]),
    ("berkala", "laporan_kinerja",
     ["Laporan Kinerja Instansi Pemerintah {year}", "LKjIP Bawaslu {office} {year}",
      "Rencana Strategis Bawaslu {office} 2020-2024", "Laporan Tahunan Bawaslu {office} {year}",
      "Capaian Program Kerja Tahun {year}"],
     ["Capaian indikator kinerja utama sebesar {pct} persen dari target yang ditetapkan.",
      "Sasaran strategis meningkatnya kualitas pengawasan pemilu tercapai.",
      "Evaluasi program menunjukkan {n} kegiatan terlaksana sepanjang tahun {year}.",
      "Indeks kerawanan pemilu di {office} menurun dibanding periode sebelumnya."]),
    ("berkala", "profil",
     ["Profil Bawaslu {office}", "Struktur Organisasi Sekretariat Bawaslu {office}",
      "Laporan Layanan Informasi Publik Tahun {year}", "Tugas dan Fungsi Divisi {year}"],
     ["Bawaslu {office} dipimpin oleh ketua dan dua anggota dengan masa jabatan lima tahun.",
      "Sepanjang {year} PPID menerima {n} permohonan informasi, seluruhnya dijawab tepat waktu.",
      "Sekretariat terdiri atas bagian administrasi, keuangan dan hukum.",
      "Alamat kantor dan jam layanan informasi publik tercantum dalam profil ini."]),
    ("serta_merta", "pengumuman_darurat",
     ["Pengumuman Penundaan Pemungutan Suara di Kecamatan {kec}",
      "Peringatan Dini Banjir di Lokasi TPS {tps} {kec}", "Informasi Keadaan Darurat {kec}",
      "Pemberitahuan Relokasi TPS Akibat Bencana", "Imbauan Keselamatan Petugas Pengawas"],
     ["Akibat banjir yang merendam {n} TPS di Kecamatan {kec}, pemungutan suara ditunda.",
      "Seluruh pengawas diminta segera melakukan evakuasi logistik ke tempat yang aman.",
      "Terjadi kerusuhan di sekitar kantor PPK {kec}; masyarakat diimbau menjauhi lokasi.",
      "Kebakaran gudang logistik mengancam keselamatan petugas dan warga sekitar.",
      "Masyarakat diminta waspada terhadap ancaman keselamatan selama proses rekapitulasi."]),
    ("setiap_saat", "keputusan",
     ["Keputusan Ketua Bawaslu {office} Nomor {no}",
      "Surat Keputusan Pembentukan Panwaslu Kecamatan {kec}",
      "SK Penetapan Pengawas TPS {year}", "Keputusan Bawaslu tentang Tim Seleksi {year}"],
     ["Menetapkan {n} orang sebagai pengawas TPS di Kecamatan {kec}.",
      "Keputusan ini berlaku sejak tanggal ditetapkan.",
      "Memutuskan: membentuk tim seleksi anggota Panwaslu Kecamatan periode {year}.",
      "Menimbang bahwa untuk kelancaran pengawasan perlu ditetapkan keputusan ketua."]),
    ("setiap_saat", "pengumuman",
     ["Pengumuman Rekrutmen Pengawas TPS {year}", "Siaran Pers Bawaslu {office}",
      "Pengumuman Hasil Seleksi Panwaslu Kecamatan {kec}",
      "Undangan Terbuka Sosialisasi Pengawasan Partisipatif"],
     ["Pendaftaran dibuka {n} hari, informasi lebih lanjut hubungi {phone}.",
      "Peserta yang lulus seleksi administrasi diumumkan pada laman resmi.",
      "Bawaslu mengajak masyarakat melaporkan dugaan pelanggaran melalui posko pengaduan.",
      "Pelapor dapat menyampaikan laporan secara langsung di kantor Bawaslu {office}."]),
    ("setiap_saat", "putusan",
     ["Putusan Penyelesaian Sengketa Proses Nomor {no}",
      "Pemberitahuan tentang Status Laporan Nomor {no}", "Putusan Pendahuluan Sengketa {year}"],
     ["Laporan dinyatakan tidak memenuhi syarat materiel dan tidak ditindaklanjuti.",
      "Majelis memutuskan mengabulkan permohonan pemohon untuk sebagian.",
      "Status laporan: dihentikan karena tidak cukup bukti.",
      "Putusan ini dibacakan dalam sidang terbuka untuk umum."]),
    ("setiap_saat", "berita_acara",
     ["Berita Acara Rapat Pleno Bawaslu {office}", "Notulen Rapat Koordinasi {month} {year}",
      "Risalah Rapat Evaluasi Pengawasan Tahapan Kampanye"],
     ["Rapat pleno dibuka pukul 09.00 WITA dan dihadiri seluruh anggota.",
      "Hasil rapat menyepakati jadwal patroli pengawasan masa tenang.",
      "Notulen ini dibuat untuk dipergunakan sebagaimana mestinya.",
      "Peserta rapat membahas {n} temuan hasil pengawasan di Kecamatan {kec}."]),
    ("setiap_saat", "hasil_pengawasan",
     ["Rekapitulasi Hasil Pengawasan Kampanye {year}", "Laporan Hasil Pengawasan Tahapan {kec}",
      "Data Pengawasan Daftar Pemilih {kec}", "Hasil Pengawasan Pemutakhiran Data Pemilih"],
     ["Jumlah pemilih dalam daftar pemilih tetap sebanyak {amount} orang.",
      "Pengawas menemukan {n} pemilih tidak memenuhi syarat di Kecamatan {kec}.",
      "Rekapitulasi suara tingkat kecamatan berjalan sesuai prosedur.",
      "Pengawasan kampanye tatap muka dilakukan di {n} titik."]),
    ("dikecualikan", "berkas_pelanggaran",
     ["Laporan Dugaan Pelanggaran Nomor {no}", "Kajian Dugaan Pelanggaran Politik Uang {kec}",
      "Formulir Model A Laporan {kec}", "Berkas Klarifikasi Terlapor {year}",
      "Hasil Penyelidikan Sentra Gakkumdu {office}"],
     ["Nama Pelapor: {name}\nNIK {nik}\nTelepon {phone}",
      "Klarifikasi terhadap saksi dilakukan secara tertutup.\nNama Saksi: {name2}",
      "Uraian kejadian: terlapor diduga membagikan uang kepada pemilih di {kec}.",
      "Kajian awal menyimpulkan laporan memenuhi syarat formil dan materiel.",
      "Penyidikan masih berlangsung; berkas belum dilimpahkan ke kejaksaan."]),
    ("dikecualikan", "data_pribadi",
     ["Data Pribadi Pegawai Sekretariat {year}", "Penilaian Kinerja Pegawai Semester {n}",
      "Rekam Medis Petugas Pengawas {kec}", "Daftar Gaji dan Tunjangan {month} {year}"],
     ["{name}, NIK {nik}, alamat {kec}, telepon {phone}.",
      "Riwayat kesehatan petugas dicatat untuk keperluan asuransi.",
      "Slip gaji pegawai memuat nomor rekening dan potongan pribadi.",
      "Nilai kinerja {name} tahun {year} adalah {pct}."]),
    ("dikecualikan", "rahasia",
     ["Nota Dinas Ketua {month} {year}", "Strategi Pengamanan Rekapitulasi {office}",
      "Memo Internal Koordinasi Penanganan {kec}", "Telaah Staf Divisi Hukum {year}"],
     ["Sifat: Rahasia", "Dokumen ini bersifat terbatas dan hanya untuk internal.",
      "Rencana penempatan personel pengamanan di {n} titik rawan.",
      "Pertimbangan hukum internal atas perkara yang sedang berjalan.",
      "Mohon tidak disebarluaskan sebelum rapat pleno."]),
]

COUNTS = {"berkala": 66, "serta_merta": 40, "setiap_saat": 90, "dikecualikan": 66}


def generate(seed: int = 14_2008) -> list[dict[str, str]]:
    """The labelled documents, in a fixed order."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible test set, not a secret
    documents: list[dict[str, str]] = []
    for category, count in COUNTS.items():
        groups = [t for t in TEMPLATES if t[0] == category]
        for index in range(count):
            _, document_type, titles, bodies = groups[index % len(groups)]
            # Some documents borrow a sentence of another category, as real ones do.
            sentences = rng.sample(bodies, k=min(len(bodies), rng.randint(2, 4)))
            if rng.random() < 0.3:
                other = rng.choice([t for t in TEMPLATES if t[0] != category])
                sentences.append(rng.choice(other[3]))
            sentences += rng.sample(FILLER, k=rng.randint(1, 3))
            rng.shuffle(sentences)
            title = _fill(rng, rng.choice(titles))
            # A few titles say nothing: the body must carry the decision.
            if rng.random() < 0.15:
                title = _fill(rng, rng.choice(["Dokumen {office} {year}", "Surat Nomor {no}",
                                               "Lampiran {month} {year}"]))
            documents.append({"title": title,
                              "text": "\n".join(_fill(rng, s) for s in sentences),
                              "kip_category": category, "document_type": document_type})
    rng.shuffle(documents)
    return documents


EVAL_SET = Path(__file__).parent / "data" / "eval_set.jsonl"


def main() -> None:
    documents = generate()
    with EVAL_SET.open("w", encoding="utf-8") as file:
        for document in documents:
            file.write(json.dumps(document, ensure_ascii=False) + "\n")
    print(f"{len(documents)} documents -> {EVAL_SET}")


if __name__ == "__main__":
    main()
