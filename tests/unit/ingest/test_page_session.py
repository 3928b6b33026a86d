"""The page session's pure parts: which `next` addresses the staff pages follow, and where a
page request without a usable login is sent (renew the session, or log in when renewing would
only loop)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from dms_common.identity.deps import ACCESS_COOKIE
from dms_common.pages import REFRESHED_COOKIE, access_fingerprint, session_redirect
from dms_ingest.pages import safe_next


@pytest.mark.parametrize("target", [
    "/staf/",
    "/staf/dokumen/0b4f6a1e-2f5e-4b59-9a53-7c1c5b1f0d2e",
    "/staf/?status=received&q=laporan%20pengawasan",
    "/admin/dokumen/0b4f6a1e-2f5e-4b59-9a53-7c1c5b1f0d2e?tersimpan=1",
    "/cari?q=anggaran",
    "/staf/sesiku",
])
def test_paths_of_this_site_are_followed(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("target", [
    None,
    "",
    "staf/",
    "//evil.example/staf/",
    "///evil.example",
    "/\\evil.example",
    "/staf/\\..\\evil",
    "\\\\evil.example",
    "http://evil.example/staf/",
    "https:/evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/ /evil.example",
    "/\x00/evil.example",
    "/\u0085/evil.example",
    "/\u3000/evil.example",
    "/staf/sesi?next=/staf/",
    "/staf/masuk",
    "/staf/" + "a" * 3000,
])
def test_other_sites_and_odd_addresses_go_home(target: str | None) -> None:
    assert safe_next(target) == "/staf/"


def page_request(path: str, query: str = "", **cookies: str) -> Request:
    # Raw, as a browser may send them (latin-1 bytes included), not quoted by SimpleCookie.
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    headers = [(b"accept", b"text/html")]
    if header:
        headers.append((b"cookie", header.encode("latin-1")))
    return Request({"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
                    "query_string": query.encode(), "headers": headers, "scheme": "http",
                    "server": ("dms", 80), "client": ("203.0.113.9", 5000), "root_path": ""})


def test_a_request_without_login_first_tries_to_renew_the_session() -> None:
    response = session_redirect(page_request("/admin/dokumen/7", "tersimpan=1"))
    assert response.status_code == 303
    assert response.headers["location"] == "/staf/sesi?next=%2Fadmin%2Fdokumen%2F7%3Ftersimpan%3D1"
    assert "set-cookie" not in response.headers


def test_an_expired_token_is_renewed_even_right_after_a_renewal_of_another() -> None:
    request = page_request("/staf/", **{ACCESS_COOKIE: "old.token.value",
                                        REFRESHED_COOKIE: access_fingerprint("new.token.value")})
    assert session_redirect(request).headers["location"].startswith("/staf/sesi?next=")


def test_the_token_just_issued_refused_again_goes_to_the_login_page() -> None:
    token = "fresh.token.value"
    request = page_request("/admin/", **{ACCESS_COOKIE: token,
                                         REFRESHED_COOKIE: access_fingerprint(token)})
    response = session_redirect(request)
    assert response.headers["location"] == "/staf/masuk?next=%2Fadmin%2F"
    assert f"{REFRESHED_COOKIE}=" in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"]


def test_a_renewal_whose_cookie_the_browser_dropped_goes_to_the_login_page() -> None:
    request = page_request("/staf/", **{REFRESHED_COOKIE: access_fingerprint("a.b.c")})
    assert session_redirect(request).headers["location"] == "/staf/masuk?next=%2Fstaf%2F"


def test_an_odd_marker_cookie_is_a_mismatch_not_an_error() -> None:
    request = page_request("/staf/", **{ACCESS_COOKIE: "a.b.c", REFRESHED_COOKIE: "é" * 32})
    assert session_redirect(request).headers["location"] == "/staf/sesi?next=%2Fstaf%2F"


def test_fingerprints_tell_tokens_apart() -> None:
    assert access_fingerprint("a.b.c") == access_fingerprint("a.b.c")
    assert access_fingerprint("a.b.c") != access_fingerprint("a.b.d")
    assert len(access_fingerprint("a.b.c")) == 32
