"""The page kit: escaping, CSRF double submit and readable error pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from dms_common.errors import ApiError, install_error_handlers
from dms_common.pages import (
    CSRF_COOKIE,
    CsrfProtected,
    NavItem,
    format_date,
    format_size,
    install_page_errors,
    make_templates,
    render,
)

PAGE = """{% extends "layout.html" %}
{% block title %}Uji{% endblock %}
{% block main %}<h1>{{ heading }}</h1>
<form method="post" action="/kirim">
<input type="hidden" name="csrf_token" value="{{ csrf_token }}"><button>Kirim</button>
</form>{% endblock %}
"""


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    (tmp_path / "page.html").write_text(PAGE)
    app = FastAPI()
    install_error_handlers(app)
    install_page_errors(app)
    app.state.templates = make_templates(tmp_path, site_title="DMS Uji",
                                         nav=[NavItem("/halaman", "Halaman")])

    @app.get("/halaman", response_class=HTMLResponse)
    async def page(request: Request, heading: str = "Judul") -> HTMLResponse:
        return render(request, "page.html", {"heading": heading})

    @app.post("/kirim")
    async def submit(_: CsrfProtected) -> dict[str, bool]:
        return {"ok": True}

    @app.get("/rahasia")
    async def secret() -> None:
        raise ApiError(401, "unauthenticated", "Silakan masuk.")

    @app.get("/api/v1/rahasia")
    async def api_secret() -> None:
        raise ApiError(404, "not_found", "Dokumen tidak ditemukan.")

    return TestClient(app)


def test_values_are_escaped_and_headers_forbid_inline_scripts(client: TestClient) -> None:
    response = client.get("/halaman", params={"heading": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert 'aria-current="page"' in response.text


def test_form_posts_need_the_token_of_their_cookie(client: TestClient) -> None:
    page = client.get("/halaman")
    token = page.cookies[CSRF_COOKIE]
    assert f'value="{token}"' in page.text
    assert client.post("/kirim", data={"csrf_token": token}).json() == {"ok": True}
    assert client.post("/kirim", headers={"X-CSRF-Token": token}).status_code == 200

    refused = client.post("/kirim", data={"csrf_token": "x" * 43})
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    assert client.post("/kirim", data={}).status_code == 403
    client.cookies.clear()
    assert client.post("/kirim", data={"csrf_token": token}).status_code == 403


def test_a_second_page_keeps_the_same_token(client: TestClient) -> None:
    first = client.get("/halaman")
    second = client.get("/halaman")
    assert CSRF_COOKIE not in second.cookies or second.cookies[CSRF_COOKIE] == \
        first.cookies[CSRF_COOKIE]
    assert f'value="{first.cookies[CSRF_COOKIE]}"' in second.text


def test_browsers_get_pages_and_api_clients_get_json(client: TestClient) -> None:
    html = {"Accept": "text/html"}
    missing = client.get("/tidak-ada", headers=html)
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]
    assert "Halaman tidak ditemukan" in missing.text

    login = client.get("/rahasia?x=1", headers=html, follow_redirects=False)
    assert login.status_code == 303
    assert login.headers["location"] == "/staf/sesi?next=%2Frahasia%3Fx%3D1"

    api = client.get("/api/v1/rahasia", headers=html)
    assert api.status_code == 404
    assert api.json() == {"code": "not_found", "message": "Dokumen tidak ditemukan."}
    assert client.get("/rahasia").json()["code"] == "unauthenticated"


def test_dates_are_shown_in_wita_and_sizes_in_indonesian_units() -> None:
    from datetime import UTC, date, datetime

    assert format_date(datetime(2026, 3, 5, 6, 30, tzinfo=UTC)) == "5 Maret 2026 14.30 WITA"
    assert format_date(date(2024, 11, 27)) == "27 November 2024"
    assert format_date(None) == "-"
    assert format_size(512) == "512 B"
    assert format_size(1536) == "1,5 KB"
    assert format_size(20 * 1024 * 1024) == "20,0 MB"
