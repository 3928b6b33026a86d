"""The public search page in real Chromium through the gateway: a document uploaded and
published by an office admin is found by a synonym, its snippet highlighted and escaped,
a facet narrows the hits, a suggestion appears as one types; axe-core on each page."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import expect

from tests.support.browser import browser_page, check_page, chromium
from tests.support.pdf import make_pdf
from tests.support.stack import create_user, eventually, gateway_client

TEST = "test_search_page"
OFFICE = "6303"
DIP = {"summary": "Hasil pengawasan pemilihan", "holder_unit": "Divisi Pencegahan",
       "responsible": "Ketua", "created_place_time": "Martapura, 2024",
       "available_forms": ["softcopy"], "retention": "5 tahun"}


async def test_public_search_page_finds_highlights_filters_and_suggests() -> None:
    tag = f"qz{uuid.uuid4().hex[:8]}"
    title = f"Pengawasan <b>pemilihan</b> kepala daerah {tag}"
    async with gateway_client() as client:
        admin = await create_user(client, role="office_admin", office=OFFICE)
        pdf = make_pdf([f"Laporan {tag}", "Hasil pengawasan pemilihan kepala daerah Banjar."])
        uploaded = await client.post("/api/v1/documents", headers=admin.headers,
                                     files={"file": ("laporan.pdf", pdf, "application/pdf")},
                                     data={"title": title})
        assert uploaded.status_code == 201, uploaded.text
        doc = uploaded.json()["id"]

        async def decided() -> bool:
            answer = await client.post(f"/api/v1/review/documents/{doc}/decisions",
                                       headers=admin.headers,
                                       json={"kip_category": "berkala", "dip": DIP})
            return answer.status_code == 201

        await eventually(decided, what="the decision to be accepted", timeout=120)

        async def public_hit() -> bool:
            found = await client.get("/api/v1/search", params={"q": f"pilkada {tag}"})
            return any(hit["id"] == doc for hit in found.json()["hits"])

        await eventually(public_hit, what="the document in public search", timeout=120)

    async with chromium() as browser, browser_page(browser) as page:
        await page.goto("/cari")
        await check_page(page, test_name=TEST, name="01-cari-kosong")
        await page.get_by_label("Kata kunci").fill(f'pilkada "{tag}"')
        await page.get_by_role("button", name="Cari").click()
        hit = page.locator(".hits > li", has_text=tag)
        await expect(hit).to_have_count(1)
        link = hit.get_by_role("link")
        await expect(link).to_have_attribute("href", f"/dokumen/{doc}")
        # The title's markup is text; only the highlight is markup.
        await expect(link).to_have_text(title)
        assert await hit.locator("b").count() == 0
        await expect(hit.locator("mark").first).to_be_visible()
        await check_page(page, test_name=TEST, name="02-hasil")

        await page.locator(".facet", has_text="Kategori").get_by_role(
            "link", name="Informasi Berkala").click()
        await expect(page).to_have_url(re.compile(r"category=berkala"))
        await expect(page.locator(".hits > li", has_text=tag)).to_have_count(1)
        await page.locator(".facet", has_text="Kantor").get_by_role("link").first.click()
        await expect(page).to_have_url(re.compile(r"office=6303"))
        await expect(page.locator(".hits > li", has_text=tag)).to_have_count(1)
        await check_page(page, test_name=TEST, name="03-saringan")
        # A chosen value links to its removal.
        await page.locator(".facet", has_text="Kategori").locator(
            'a[aria-current="true"]').click()
        await expect(page).not_to_have_url(re.compile(r"category="))

        await page.goto("/cari")
        await page.get_by_label("Kata kunci").press_sequentially(f"kepala daerah {tag[:7]}",
                                                                 delay=30)
        option = page.locator(f'#saran-judul option[value="{title}"]')
        await expect(option).to_have_count(1, timeout=10_000)
