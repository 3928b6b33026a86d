"""The public portal in real Chromium: home, DIP, a document, its preview, its download.

A data table (CSV) is uploaded, decided `setiap_saat` by its office admin and published; then a
browser with no account opens the portal, goes to the DIP, opens the document, sees its preview
(the table and its chart) and downloads it. Each page is screenshotted into
var/test-artifacts/ and checked with axe-core (no serious or critical violation).
"""

from __future__ import annotations

import uuid
from functools import partial

import httpx

from tests.support.browser import browser_page, check_page, chromium
from tests.support.stack import create_user, eventually, gateway_client

OFFICE = "6372"
DIP = {"summary": "Rekapitulasi pengawasan kampanye per kecamatan",
       "holder_unit": "Divisi Pencegahan, Partisipasi Masyarakat dan Hubungan Masyarakat",
       "responsible": "Koordinator Divisi Pencegahan", "created_place_time": "Banjarbaru, 2026",
       "available_forms": ["softcopy"], "retention": "5 tahun"}


def _summary(tag: str) -> str:
    return f"{DIP['summary']} {tag}"


async def _published_table(client: httpx.AsyncClient, tag: str) -> tuple[str, bytes]:
    admin = (await create_user(client, role="office_admin", office=OFFICE)).headers
    rows = ["kecamatan,jumlah_pengawasan"] + [f"Kecamatan {n} {tag},{n * 7 % 23 + 3}"
                                             for n in range(1, 9)]
    body = ("\n".join(rows) + "\n").encode()
    uploaded = await client.post(
        "/api/v1/documents", headers=admin,
        data={"title": f"Rekap pengawasan kampanye {tag}", "document_date": "2026-10-01"},
        files={"file": (f"rekap-{tag}.csv", body, "text/csv")})
    assert uploaded.status_code == 201, uploaded.text
    document_id = str(uploaded.json()["id"])

    async def settled() -> bool:
        got = await client.get(f"/api/v1/documents/{document_id}", headers=admin)
        return got.json()["status"] in ("extracted", "extraction_failed")

    await eventually(settled, what="extraction", timeout=90)
    decided = await client.post(f"/api/v1/review/documents/{document_id}/decisions",
                                headers=admin, json={"kip_category": "setiap_saat",
                                                     "dip": {**DIP, "summary": _summary(tag)}})
    assert decided.status_code == 201, decided.text

    async def published(doc: str) -> bool:
        return (await client.get(f"/api/v1/public/documents/{doc}")).status_code == 200

    await eventually(partial(published, document_id), what="publication", timeout=90)
    return document_id, body


async def test_a_visitor_finds_previews_and_downloads_a_public_document() -> None:
    tag = uuid.uuid4().hex[:8]
    name = "test_portal_browser"
    async with gateway_client() as client:
        document_id, body = await _published_table(client, tag)

    async with chromium() as browser, browser_page(browser) as page:
        await page.goto("/")
        await page.wait_for_load_state("networkidle")
        assert await page.locator("h1").count() == 1
        await check_page(page, test_name=name, name="1-beranda")

        await page.get_by_role("navigation", name="Navigasi utama").get_by_role(
            "link", name="DIP", exact=True).click()
        await page.wait_for_url("**/dip*")
        await page.get_by_role("navigation", name="Kategori informasi").get_by_role(
            "link", name="Setiap saat").click()
        await page.wait_for_load_state("networkidle")
        await check_page(page, test_name=name, name="2-dip")

        link = page.get_by_role("link", name=_summary(tag))
        await link.click()
        await page.wait_for_url(f"**/dokumen/{document_id}*")
        await page.wait_for_load_state("networkidle")
        assert tag in await page.locator("h1").inner_text()
        preview = page.get_by_role("region", name="Tabel data")
        assert await preview.locator("tbody tr").count() == 8
        assert await page.locator("figure svg").count() >= 1, "no chart beside the table"
        await check_page(page, test_name=name, name="3-dokumen")

        async with page.expect_download() as waiting:
            await page.get_by_role("link", name="Unduh dokumen").click()
        download = await waiting.value
        saved = await download.path()
        assert saved is not None
        with open(saved, "rb") as handle:  # noqa: ASYNC230 - a small local file
            assert handle.read() == body
