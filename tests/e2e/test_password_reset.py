"""An admin's password reset locks the user out of every service until they set their own.

The flag travels on `dms.identity.changed`: search, which never sees ingest's tables, refuses the
user's still-valid token within seconds; the staff pages send them to the password page, and a
new password opens everything again.
"""

from __future__ import annotations

import re

import httpx

from tests.support.stack import create_user, eventually, gateway_client, login

NEW_PASSWORD = "Sandi-Baru-Sekali-2026"


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the form carries no CSRF token"
    return found.group(1)


async def test_a_reset_password_closes_every_service_until_it_is_replaced() -> None:
    async with gateway_client() as client:
        admin = await create_user(client, role="office_admin", office="6304")
        staff = await create_user(client, role="staff", office="6304")

        async def search_status(headers: dict[str, str]) -> int:
            return (await client.get("/api/v1/search/internal", params={"q": "rekap"},
                                     headers=headers)).status_code

        assert await search_status(staff.headers) == 200
        reset = await client.post(f"/api/v1/users/{staff.id}/password-reset",
                                  headers=admin.headers)
        assert reset.status_code == 200, reset.text
        temporary = reset.json()["temporary_password"]

        async def search_refuses() -> bool:
            return await search_status(staff.headers) == 403

        await eventually(search_refuses, what="search refusing the reset user's token",
                         timeout=30)
        refused = await client.get("/api/v1/search/internal", params={"q": "rekap"},
                                   headers=staff.headers)
        assert refused.json()["code"] == "password_change_required"

        # The pages: logging in with the temporary password leads to the password page, and
        # every other page leads back there.
        page = await client.get("/staf/masuk")
        logged_in = await client.post("/staf/masuk", data={
            "csrf_token": _csrf(page), "username": staff.username, "password": temporary,
            "next": "/staf/unggah"})
        assert logged_in.status_code == 303
        assert logged_in.headers["location"] == "/staf/sandi?next=%2Fstaf%2Funggah"
        elsewhere = await client.get("/staf/", headers={"Accept": "text/html"})
        assert elsewhere.status_code == 303
        assert elsewhere.headers["location"].startswith("/staf/sandi?next=")
        form = await client.get("/staf/sandi")
        assert form.status_code == 200 and "diatur ulang oleh admin" in form.text
        mismatch = await client.post("/staf/sandi", data={
            "csrf_token": _csrf(form), "old_password": temporary, "new_password": NEW_PASSWORD,
            "repeated": NEW_PASSWORD + "x", "next": "/staf/unggah"})
        assert mismatch.status_code == 422 and "tidak sama" in mismatch.text
        changed = await client.post("/staf/sandi", data={
            "csrf_token": _csrf(form), "old_password": temporary, "new_password": NEW_PASSWORD,
            "repeated": NEW_PASSWORD, "next": "/staf/unggah"})
        assert changed.status_code == 303, changed.text
        assert changed.headers["location"] == "/staf/unggah"
        assert (await client.get("/staf/unggah")).status_code == 200

        fresh = await login(client, staff.username, NEW_PASSWORD)

        async def search_answers() -> bool:
            return await search_status(fresh) == 200

        await eventually(search_answers, what="search serving the new password's token",
                         timeout=30)
