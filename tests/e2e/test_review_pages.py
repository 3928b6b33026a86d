"""The administrators' review pages in real Chromium through the gateway: open the queue,
classify one document as `setiap_saat` and one as `dikecualikan` with its consequence test;
axe-core on each page."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.async_api import expect

from tests.support.browser import browser_page, check_page, chromium, log_in
from tests.support.pdf import make_pdf
from tests.support.stack import create_user, eventually, gateway_client

TEST = "test_review_pages"
OFFICE = "6305"  # Kabupaten Tapin


async def test_admin_classifies_from_the_queue() -> None:
    tag = uuid.uuid4().hex[:8]
    public_title = f"Pengumuman hasil seleksi {tag}"
    secret_title = f"Laporan dugaan pelanggaran {tag}"
    async with gateway_client() as client:
        admin = await create_user(client, role="office_admin", office=OFFICE)
        ids: dict[str, str] = {}
        # The tag makes each run's files new to ingest (it refuses duplicates by content).
        for title, lines in ((public_title, [f"Pengumuman hasil seleksi pengawas TPS {tag}"]),
                             (secret_title, ["Nama Pelapor: Ahmad Fauzi",
                                             f"Kejadian politik uang di Binuang {tag}"])):
            uploaded = await client.post(
                "/api/v1/documents", headers=admin.headers,
                files={"file": (f"{tag}.pdf", make_pdf(lines), "application/pdf")},
                data={"title": title, "document_date": "2024-11-20"})
            assert uploaded.status_code == 201, uploaded.text
            ids[title] = uploaded.json()["id"]

        async def extracted() -> dict[str, Any] | None:
            found = await client.get(f"/api/v1/review/documents/{ids[secret_title]}",
                                     headers=admin.headers)
            body: dict[str, Any] = found.json()
            return body if found.status_code == 200 and body["status"] == "extracted" else None

        document = await eventually(extracted, what="classify to extract the report")
        assert [f["kind"] for f in document["findings"]] == ["pelapor"]

    async with chromium() as browser, browser_page(browser) as page:
        await log_in(page, admin.username, admin.password)
        await page.goto(f"/admin/?q={tag}")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Antrean klasifikasi")
        await expect(page.locator("tbody tr")).to_have_count(2)
        await check_page(page, test_name=TEST, name="01-antrean")

        # A public notice: setiap saat, with its DIP columns.
        await page.get_by_role("link", name=public_title).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(public_title)
        await check_page(page, test_name=TEST, name="02-dokumen-publik")
        await page.get_by_label("Kategori informasi").select_option("setiap_saat")
        await page.get_by_label("Ringkasan isi informasi").fill("Hasil seleksi pengawas TPS")
        await page.get_by_label("Pejabat/unit yang menguasai informasi").fill("Sekretariat")
        await page.get_by_label("Penanggung jawab pembuatan/penerbitan").fill("Ketua")
        await page.get_by_label("Waktu dan tempat pembuatan").fill("Rantau, November 2024")
        await page.get_by_label("softcopy").check()
        await page.get_by_label("Jangka waktu penyimpanan (retensi)").fill("5 tahun")
        await page.get_by_role("button", name="Simpan keputusan").click()
        await expect(page.get_by_role("status")).to_contain_text("Keputusan tersimpan")
        await expect(page.get_by_role("heading", name="Riwayat keputusan")).to_be_visible()
        await check_page(page, test_name=TEST, name="03-tersimpan-publik")

        # A report naming its reporter: exempt, with the consequence test.
        await page.goto(f"/admin/?q={tag}")
        await page.get_by_role("link", name=secret_title).click()
        await expect(page.locator("mark", has_text="Ahmad Fauzi").first).to_be_visible()
        await expect(page.get_by_text("Pasal 17 huruf h").first).to_be_visible()
        await check_page(page, test_name=TEST, name="04-dokumen-dikecualikan")
        await page.get_by_label("Kategori informasi").select_option("dikecualikan")
        await page.get_by_role("button", name="Simpan keputusan").click()
        await expect(page.get_by_role("alert")).to_contain_text("Dasar hukum pengecualian")
        await check_page(page, test_name=TEST, name="05-uji-belum-lengkap")
        await page.get_by_label("Informasi yang dikecualikan").fill(
            "Identitas pelapor dugaan pelanggaran")
        await page.get_by_label("Dasar hukum", exact=True).select_option("uu14_pasal17")
        await page.get_by_label("Huruf").select_option("h")
        await page.get_by_label("Konsekuensi apabila informasi dibuka").fill(
            "Membahayakan keselamatan pelapor")
        await page.get_by_label("Pertimbangan kepentingan publik").fill(
            "Perlindungan pelapor lebih besar dari manfaat membukanya")
        await page.get_by_label("Alasan tanpa batas waktu").fill("Rahasia pribadi")
        await page.get_by_label("Tempat penetapan").fill("Rantau")
        await page.get_by_role("button", name="Simpan keputusan").click()
        await expect(page.get_by_role("status")).to_contain_text("Keputusan tersimpan")
        await expect(page.get_by_text("Dasar hukum: UU 14/2008 Pasal 17 huruf h")).to_be_visible()
        await check_page(page, test_name=TEST, name="06-tersimpan-dikecualikan")

        await page.goto(f"/admin/?q={tag}")
        await expect(page.locator("tbody tr")).to_have_count(0)

    async with gateway_client() as client:
        for title, category in ((public_title, "setiap_saat"), (secret_title, "dikecualikan")):
            history = await client.get(f"/api/v1/review/documents/{ids[title]}/decisions",
                                       headers=admin.headers)
            assert [d["kip_category"] for d in history.json()] == [category]
