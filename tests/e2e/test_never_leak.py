"""Never leak: nothing exempt, redacted or unreviewed is reachable from outside (DESIGN.md §2, §5).

Through the running stack and the gateway. Three canaries are planted: a document
decided `dikecualikan` whose title and text carry one; a passage redacted from a
published document carrying another; a document still waiting for review carrying a
third. A crawler then follows every link from `/` and walks every public API listing,
document, file, preview, feed, sitemap, register (JSON, CSV, XLSX), catalogue and
search result, highlight and suggestion: no canary appears, no exempt or unreviewed
file is served under any id. A `<script>` title renders inert. Then a public document
is withdrawn and disappears from all of them.

Decisions go through the classify API where it offers them; the exemption and the
redacted derivative (consequence test and redaction are not served by classify's API
yet) are announced as the `dms.document.classified` event classify would emit, with a
seq far ahead of classify's own so it is the newest decision.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import AsyncIterator
from functools import partial

import httpx
import pytest
from pypdf import PdfReader

from tests.support.leaks import Crawler, publish_redacted
from tests.support.pdf import make_pdf
from tests.support.servers import Endpoints
from tests.support.stack import create_user, eventually, gateway_client

OFFICE = "6302"
SCRIPT_TITLE = '<script>alert("bocor")</script> Rekap pengawasan'
DIP = {"summary": "Rekap hasil pengawasan", "holder_unit": "Divisi Pencegahan",
       "responsible": "Ketua", "created_place_time": "Kotabaru, 2025",
       "available_forms": ["softcopy"], "retention": "5 tahun"}


@pytest.fixture(scope="module")
async def gateway(servers: Endpoints) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client() as client:
        yield client


async def upload(client: httpx.AsyncClient, headers: dict[str, str], title: str,
                 lines: list[str]) -> tuple[str, bytes]:
    pdf = make_pdf(lines)
    answer = await client.post("/api/v1/documents", headers=headers,
                               files={"file": ("dokumen.pdf", pdf, "application/pdf")},
                               data={"title": title, "document_date": "2025-03-01"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"]), pdf


async def exempt(client: httpx.AsyncClient, servers: Endpoints, headers: dict[str, str],
                 doc: str, *, seq: int, title: str) -> None:
    test = {"exempt_information": "Identitas pelapor", "legal_basis": "Pasal 17 huruf h",
            "consequence": "Membuka identitas pelapor", "public_interest": "Perlindungan",
            "exempt_until": "2030-12-31", "place": "Kotabaru"}
    answer = await client.post(f"/api/v1/review/documents/{doc}/decisions", headers=headers,
                               json={"kip_category": "dikecualikan", "consequence_test": test})
    assert answer.status_code == 201, answer.text


async def test_no_canary_leaks_and_a_withdrawal_disappears_everywhere(
        servers: Endpoints, gateway: httpx.AsyncClient) -> None:
    tag = f"qx{uuid.uuid4().hex[:10]}"
    exempt_canary, redacted_canary, pending_canary = (f"kanari{k}{tag}" for k in "xrp")
    admin = (await create_user(gateway, role="office_admin", office=OFFICE)).headers

    secret, _ = await upload(gateway, admin, f"Laporan {exempt_canary}",
                             [f"Nama pelapor {exempt_canary}"])
    partly, partly_original = await upload(gateway, admin, f"Rekap penanganan {tag}",
                             ["Rekap penanganan pelanggaran", f"NIK {redacted_canary}"])
    pending, _ = await upload(gateway, admin, f"Draf {pending_canary}",
                              [f"Isi draf {pending_canary}"])
    public, _ = await upload(gateway, admin, SCRIPT_TITLE + f" {tag}",
                                      ["Rekap hasil pengawasan", f"kode {tag}"])

    async def extracted(doc: str) -> bool:
        got = await gateway.get(f"/api/v1/documents/{doc}", headers=admin)
        return got.json()["status"] in ("extracted", "extraction_failed")

    for doc in (secret, partly, public):
        await eventually(partial(extracted, doc), what=f"{doc} extracted", timeout=90)

    decided = await gateway.post(f"/api/v1/review/documents/{public}/decisions", headers=admin,
                                 json={"kip_category": "setiap_saat", "dip": DIP})
    assert decided.status_code == 201, decided.text
    await exempt(gateway, servers, admin, secret, seq=1000, title=f"Laporan {exempt_canary}")
    # Publish the partly exempt document through classify's redaction: the passage holding
    # the canary is blacked out, and only the redacted copy may ever be public.
    await publish_redacted(gateway, admin, partly, redacted_canary, DIP)

    async def served(doc: str) -> bool:
        return (await gateway.get(f"/api/v1/public/documents/{doc}")).status_code == 200

    async def public_hits(word: str) -> list[str]:
        found = await gateway.get("/api/v1/search", params={"q": word})
        return [hit["id"] for hit in found.json()["hits"]]

    for doc in (public, partly):
        await eventually(partial(served, doc), what=f"{doc} published", timeout=90)
    # The exempt decision has reached publish once the DIK lists it.

    async def in_dik() -> bool:
        dik = (await gateway.get("/api/v1/public/dik", params={"office": OFFICE})).text
        return "Identitas pelapor" in dik

    await eventually(in_dik, what="the exemption in the DIK")
    download = await gateway.get(f"/api/v1/public/documents/{partly}/content")
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    assert download.content != partly_original
    assert redacted_canary.encode() not in download.content
    public_text = "".join(page.extract_text() or "" for page in
                          PdfReader(io.BytesIO(download.content)).pages)
    assert redacted_canary not in public_text

    crawler = Crawler(gateway)
    await crawler.crawl_pages()
    listed = await crawler.walk_api([exempt_canary, redacted_canary, pending_canary, tag])
    assert public in listed and partly in listed
    assert secret not in listed and pending not in listed
    assert len(crawler.bodies) > 40, sorted(crawler.bodies)
    # A server error is no leak, but publish's own surfaces must all answer.
    own = [e for e in crawler.errors if not e.startswith(("/cari", "/api/v1/search"))]
    assert own == [], own
    print(f"\ncrawled {len(crawler.bodies)} responses; other services' errors: "
          f"{crawler.errors}")
    for canary in (exempt_canary, redacted_canary, pending_canary):
        assert crawler.find(canary) == [], f"{canary} leaked"
    for hidden in (secret, pending):
        assert crawler.find(hidden) == [], f"{hidden} listed"
        for path in (f"/api/v1/public/documents/{hidden}",
                     f"/api/v1/public/documents/{hidden}/content",
                     f"/api/v1/public/documents/{hidden}/preview",
                     f"/api/v1/public/documents/{hidden}/pages/1", f"/dokumen/{hidden}"):
            assert (await gateway.get(path)).status_code == 404, path
    # The original of the partly exempt document is never served.
    original_sha = hashlib.sha256(partly_original).hexdigest()
    assert all(original_sha != hashlib.sha256(body.encode("latin-1", "replace")).hexdigest()
               for body in crawler.bodies.values())

    # The script title is text everywhere it shows.
    shown = crawler.find("alert(&#34;bocor&#34;)") + crawler.find("alert(&quot;bocor&quot;)")
    assert shown, "the script title is not on any page"
    for url, body in crawler.bodies.items():
        assert '<script>alert("bocor")' not in body or "json" in url or url.endswith(
            ("csv", "xlsx", "/content")) or "/api/" in url, url

    # Withdraw the public document: it disappears from every surface.
    await exempt(gateway, servers, admin, public, seq=1000, title=SCRIPT_TITLE)

    async def gone() -> bool:
        return (await gateway.get(f"/api/v1/public/documents/{public}")).status_code == 404

    await eventually(gone, what="the withdrawal at publish", timeout=60)

    async def out_of_search() -> bool:
        return public not in await public_hits(tag)

    await eventually(out_of_search, what="the withdrawal at search", timeout=60)
    for path in (f"/api/v1/public/documents/{public}/content", f"/dokumen/{public}"):
        assert (await gateway.get(path)).status_code == 404
    after = Crawler(gateway)
    await after.crawl_pages()
    await after.walk_api([tag])
    assert after.find(public) == [], "the withdrawn document is still listed"
    assert after.find(f"Rekap pengawasan {tag}") == [], "the withdrawn title is still shown"
