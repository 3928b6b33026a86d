"""The page session in real Chromium through the gateway: once the ten-minute access cookie is
gone, the staff pages, the administrators' pages (classify) and the upload script carry on with
the refresh cookie, without a login form; a replayed refresh cookie ends at the login page."""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.async_api import BrowserContext, Page, expect

from tests.support.browser import browser_page, chromium, log_in
from tests.support.pdf import make_pdf
from tests.support.refresh import age_rotations_on_the_stack
from tests.support.stack import create_user, gateway_client

ACCESS, REFRESH, REFRESHED = "dms_access", "dms_refresh", "dms_refreshed"


async def cookie(context: BrowserContext, name: str) -> str | None:
    return next((c["value"] for c in await context.cookies() if c["name"] == name), None)


async def time_passes(context: BrowserContext) -> None:
    """What the browser forgets by itself over ten minutes: the access cookie and the marker."""
    await context.clear_cookies(name=ACCESS)
    await context.clear_cookies(name=REFRESHED)


async def assert_no_login_form(page: Page) -> None:
    assert "/staf/masuk" not in page.url, page.url
    await expect(page.locator("form[action='/staf/masuk']")).to_have_count(0)


async def test_pages_and_uploads_outlive_the_access_cookie(tmp_path: Path) -> None:
    async with gateway_client() as client:
        admin = await create_user(client, role="office_admin", office="6309")
    title = f"Laporan sesi {uuid.uuid4().hex[:8]}"
    pdf = tmp_path / f"{title.replace(' ', '_')}.pdf"
    pdf.write_bytes(make_pdf([title, "Berkas diunggah setelah token akses berakhir"]))

    async with chromium() as browser, browser_page(browser) as page:
        context = page.context
        await log_in(page, admin.username, admin.password)
        first_refresh = await cookie(context, REFRESH)
        assert first_refresh and await cookie(context, ACCESS)

        await time_passes(context)
        await page.goto("/staf/?q=laporan")
        await page.wait_for_url("**/staf/?q=laporan")
        await assert_no_login_form(page)
        assert await cookie(context, ACCESS)
        assert await cookie(context, REFRESH) not in (None, first_refresh)

        # classify's pages cannot see the /staf/ refresh cookie: they go through /staf/sesi.
        await time_passes(context)
        await page.goto("/admin/")
        await page.wait_for_url("**/admin/")
        await assert_no_login_form(page)
        await expect(page.get_by_role("heading", level=1)).to_be_visible()

        # The upload page is open when the access cookie runs out: the file still goes in.
        await page.goto("/staf/unggah")
        await time_passes(context)
        await page.set_input_files("#berkas", [str(pdf)])
        await page.get_by_role("button", name="Unggah", exact=True).click()
        accepted = page.locator("#hasil li", has_text=pdf.name)
        await expect(accepted).to_have_attribute("data-result", "ok", timeout=30_000)
        assert await cookie(context, ACCESS)

        await page.goto("/staf/")
        await expect(page.locator("tbody tr", has_text=title)).to_have_count(1)


async def test_a_replayed_refresh_cookie_lands_on_the_login_page() -> None:
    async with gateway_client() as client:
        staff = await create_user(client, role="staff", office="6309")
    async with chromium() as browser, browser_page(browser) as page:
        context = page.context
        await log_in(page, staff.username, staff.password)
        stolen = await cookie(context, REFRESH)
        await time_passes(context)
        await page.goto("/staf/")
        await assert_no_login_form(page)

        await context.clear_cookies(name=REFRESH)
        assert stolen is not None
        await context.add_cookies([{"name": REFRESH, "value": stolen, "domain": "127.0.0.1",
                                    "path": "/staf/", "httpOnly": True, "sameSite": "Strict"}])
        await time_passes(context)
        age_rotations_on_the_stack(staff.username)  # past the grace a second tab gets
        await page.goto("/staf/unggah")
        await page.wait_for_url("**/staf/masuk?next=%2Fstaf%2Funggah")
        await expect(page.get_by_label("Nama pengguna")).to_be_visible()
        assert await cookie(context, REFRESH) is None

        # The replay ended the session family: a fresh login is the only way back in.
        await log_in(page, staff.username, staff.password, next_path="/staf/unggah")
        await assert_no_login_form(page)
