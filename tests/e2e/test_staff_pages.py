"""The staff pages in real Chromium through the gateway: log in, upload a PDF and see it listed
with its status, see a renamed .exe refused, open the document's page; axe-core on each page."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from playwright.async_api import expect

from tests.support.browser import browser_page, check_page, chromium, log_in
from tests.support.pdf import make_pdf
from tests.support.stack import create_user, gateway_client

TEST = "test_staff_pages"


async def test_staff_log_in_upload_and_see_status(tmp_path: Path) -> None:
    async with gateway_client() as client:
        staff = await create_user(client, role="staff", office="6309")
    title = f"Laporan pengawasan {uuid.uuid4().hex[:8]}"
    pdf = tmp_path / f"{title.replace(' ', '_')}.pdf"
    pdf.write_bytes(make_pdf([title, "Hasil pengawasan tahapan kampanye"]))
    exe = tmp_path / "aplikasi.pdf"
    exe.write_bytes(b"MZ\x90\x00\x03" + os.urandom(30_000))

    async with chromium() as browser, browser_page(browser) as page:
        await page.goto("/staf/")
        assert "/staf/masuk?next=" in page.url
        await check_page(page, test_name=TEST, name="01-masuk")
        await log_in(page, staff.username, staff.password)
        await check_page(page, test_name=TEST, name="02-dokumen-kosong")

        await page.goto("/staf/unggah")
        await check_page(page, test_name=TEST, name="03-unggah")
        await page.set_input_files("#berkas", [str(pdf), str(exe)])
        await page.get_by_role("button", name="Unggah", exact=True).click()
        accepted = page.locator("#hasil li", has_text=pdf.name)
        refused = page.locator("#hasil li", has_text="aplikasi.pdf")
        await expect(accepted).to_have_attribute("data-result", "ok", timeout=30_000)
        await expect(refused).to_have_attribute("data-result", "ditolak", timeout=30_000)
        await expect(refused).to_contain_text("Jenis berkas tidak diizinkan")
        await expect(refused).to_contain_text("application/x-msdownload")
        await expect(accepted.locator("progress")).to_have_attribute("value", "100")
        await check_page(page, test_name=TEST, name="04-hasil-unggah")

        await page.goto("/staf/")
        row = page.locator("tbody tr", has_text=title)
        await expect(row).to_have_count(1)
        status = await row.locator(".badge").get_attribute("data-status")
        assert status in {"received", "extracted", "extraction_failed"}, status
        assert await page.locator("tbody tr", has_text="aplikasi").count() == 0
        await check_page(page, test_name=TEST, name="05-dokumen")

        await row.get_by_role("link").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(title)
        await expect(page.get_by_text("Unduh versi 1")).to_be_visible()
        await expect(page.locator("ol li").first).to_contain_text("Diunggah")
        await check_page(page, test_name=TEST, name="06-satu-dokumen")

        await page.get_by_role("link", name="Ganti kata sandi").click()
        await page.wait_for_url("**/staf/sandi")
        await expect(page.get_by_label("Kata sandi baru", exact=True)).to_be_visible()
        await check_page(page, test_name=TEST, name="07-ganti-sandi")

        await page.get_by_role("button", name="Keluar").first.click()
        await page.wait_for_url("**/staf/masuk")
        await page.goto("/staf/")
        assert "/staf/masuk?next=" in page.url
