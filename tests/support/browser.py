"""Real Chromium for page tests: Debian's `chromium` driven by Playwright, checked by axe-core.

`browser_page` (a fixture in tests/conftest.py) opens a fresh context on the gateway;
`check_page` keeps a screenshot of the page as a test artifact and fails on any serious or
critical accessibility violation that axe-core finds.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright

from tests.support.servers import ROOT
from tests.support.stack import GATEWAY

CHROMIUM = os.environ.get("DMS_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "var" / "test-artifacts"
BLOCKING_IMPACTS = {"serious", "critical"}


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium (the system's; Playwright cannot download its own here)."""
    if shutil.which(CHROMIUM) is None:
        raise AssertionError(f"Chromium not found at {CHROMIUM}: run `make test-deps`")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def browser_page(browser: Browser, *, base_url: str = GATEWAY) -> AsyncIterator[Page]:
    """A fresh context (no cookies) and page on the gateway, on a phone-to-desktop width."""
    context = await browser.new_context(base_url=base_url, locale="id-ID",
                                        timezone_id="Asia/Makassar",
                                        viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    try:
        yield page
    finally:
        await context.close()


def artifact_dir(test_name: str) -> Path:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _describe(violation: dict[str, Any]) -> str:
    targets = [", ".join(node.get("target", [])) for node in violation.get("nodes", [])[:3]]
    return f"{violation['impact']}: {violation['id']} — {violation['help']} at {targets}"


async def check_page(page: Page, *, test_name: str, name: str) -> list[dict[str, Any]]:
    """Screenshot the page and fail on serious or critical axe-core violations.

    Returns every violation found (minor and moderate ones included) for the caller to log.
    """
    from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]

    shot = artifact_dir(test_name) / f"{name}.png"
    await page.screenshot(path=str(shot), full_page=True)
    results = await Axe().run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    assert not blocking, f"accessibility violations on {name} ({page.url}):\n" + "\n".join(
        _describe(v) for v in blocking)
    return violations


async def log_in(page: Page, username: str, password: str, *, next_path: str = "/staf/") -> None:
    """Log in through the staff login page (`/staf/masuk`) and land on `next_path`."""
    await page.goto(f"/staf/masuk?next={next_path}")
    await page.get_by_label("Nama pengguna").fill(username)
    await page.get_by_label("Kata sandi").fill(password)
    await page.get_by_role("button", name="Masuk").click()
    await page.wait_for_url(f"**{next_path}*")
