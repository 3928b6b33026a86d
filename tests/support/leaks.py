"""The never-leak crawler: reads every public surface of DMS and keeps what a person could read.

It walks the portal's pages from `/` and every public API (listings, documents, files, previews,
registers, catalogue, feeds, search and suggestions), so a test can look for canary strings in
all of it. Where each path is fetched from is a `Router`: the gateway for the running stack, or
the gateway's own routing table (deploy/gateway/dms.conf.template) pointed at services started
by the test — for instance on a restored database.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

import httpx

from tests.support.stack import GATEWAY

MAX_PAGES = 600


async def publish_redacted(client: httpx.AsyncClient, headers: dict[str, str], document_id: str,
                           canary: str, dip: Mapping[str, object]) -> None:
    """Classify a document as public with the passage holding `canary` blacked out, through
    classify's review API: only its redacted copy may ever be public."""
    review = (await client.get(f"/api/v1/review/documents/{document_id}",
                               headers=headers)).json()
    start = review["text_excerpt"].index(canary)
    decided = await client.post(
        f"/api/v1/review/documents/{document_id}/decisions", headers=headers,
        json={"kip_category": "berkala", "dip": dip, "redaction": {"passages": [
            {"start": start, "end": start + len(canary),
             "legal_basis": "UU 14/2008 Pasal 17 huruf h"}]}})
    assert decided.status_code == 201, decided.text

# The gateway's locations (deploy/gateway/dms.conf.template), in nginx's terms: "=" marks an
# exact location; otherwise the longest matching prefix wins.
GATEWAY_LOCATIONS: tuple[tuple[str, str], ...] = (
    ("/api/v1/auth/", "ingest"), ("/api/v1/offices", "ingest"),
    ("/api/v1/divisions", "ingest"), ("/api/v1/users", "ingest"), ("/api/v1/audit", "ingest"),
    ("/api/v1/documents", "ingest"), ("/staf/", "ingest"), ("=/staf", "ingest"),
    ("/api/v1/review/", "classify"), ("/api/v1/exemptions", "classify"),
    ("/admin/", "classify"), ("=/admin", "classify"),
    ("=/api/v1/search", "search"), ("/api/v1/search/", "search"), ("/cari", "search"),
    ("/api/v1/public/", "publish"), ("/", "publish"),
)
# Never crawled: the staff and administrators' pages and the login API are not public surfaces.
PRIVATE_PREFIXES = ("/staf", "/admin", "/api/v1/auth")


def _origin(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


@dataclass(frozen=True)
class Router:
    """Which base URL answers a path; None for a service that is not running."""

    locations: tuple[tuple[str, str | None], ...]

    @classmethod
    def gateway(cls, base: str = GATEWAY) -> Router:
        """Every path through one gateway."""
        return cls(locations=(("/", base),))

    @classmethod
    def services(cls, bases: Mapping[str, str]) -> Router:
        """The gateway's table, each service at its own base (absent services unrouted)."""
        return cls(locations=tuple((location, bases.get(service))
                                   for location, service in GATEWAY_LOCATIONS))

    @property
    def bases(self) -> set[str]:
        return {_origin(base) for _, base in self.locations if base}

    def base_for(self, path: str) -> str | None:
        """The base serving `path` (its query ignored), chosen as nginx chooses a location."""
        bare = urlparse(path).path
        best: tuple[int, str | None] = (-1, None)
        for location, base in self.locations:
            if location.startswith("="):
                if bare == location[1:]:
                    return base
            elif bare.startswith(location) and len(location) > best[0]:
                best = (len(location), base)
        return best[1]

    def url(self, path: str) -> str | None:
        base = self.base_for(path)
        return None if base is None else base.rstrip("/") + path

    def local(self, absolute: str) -> str | None:
        """The path and query of a link into DMS; None for a link elsewhere."""
        parsed = urlparse(absolute)
        if _origin(absolute) not in self.bases:
            return None
        return parsed.path + (f"?{parsed.query}" if parsed.query else "")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def readable(response: httpx.Response) -> str:
    """Everything a person could read from a response (XLSX unzipped)."""
    if response.content[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            return "\n".join(archive.read(n).decode("utf-8", "replace")
                             for n in archive.namelist())
    return response.content.decode("utf-8", "replace")


def _without_query_echo(url: str, body: str) -> str:
    """The search page repeats what was asked (title, input, heading): that is no leak.

    Only those three echoes are removed, so a hit, a highlight or a suggestion that carries
    the asked word still counts.
    """
    query = parse_qs(urlparse(url).query).get("q", [""])[0]
    if not query or not urlparse(url).path.startswith("/cari"):
        return body
    for echo in (f"<title>{query} — ", f'value="{query}"', f"untuk “{query}”"):
        body = body.replace(echo, "")
    return body


@dataclass
class Crawler:
    """Fetches every public surface it can reach and keeps what it read, by path."""

    client: httpx.AsyncClient
    router: Router = field(default_factory=Router.gateway)
    bodies: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    pages: int = 0  # HTML pages read while following links
    # Links to paths whose service is not running (never to a private prefix).
    unrouted: set[str] = field(default_factory=set)

    async def get(self, path: str) -> httpx.Response:
        url = self.router.url(path)
        assert url is not None, f"no service answers {path}"
        response = await self.client.get(url)
        if response.status_code >= 500:
            self.errors.append(f"{path}: {response.status_code}")
        if response.status_code == 200:
            self.bodies[path] = _without_query_echo(path, readable(response))
        return response

    async def crawl_pages(self) -> None:
        queue, seen = ["/"], {"/"}
        while queue and len(seen) < MAX_PAGES:
            path = queue.pop(0)
            response = await self.get(path)
            if "html" not in response.headers.get("content-type", ""):
                continue
            self.pages += 1
            parser = _Links()
            parser.feed(response.text)
            for link in parser.links:
                target = self.router.local(urljoin(str(response.url), link))
                if target is None or target.startswith(PRIVATE_PREFIXES):
                    continue
                if self.router.base_for(target) is None:
                    self.unrouted.add(target)
                elif target not in seen:
                    seen.add(target)
                    queue.append(target)

    async def walk_api(self, queries: list[str]) -> list[str]:
        """Every public API listing and what it lists; returns the listed document ids."""
        ids: list[str] = []
        cursor: str | None = None
        while True:
            page = (await self.get("/api/v1/public/documents?limit=100"
                                   + (f"&cursor={cursor}" if cursor else ""))).json()
            ids += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        for doc in ids:
            for suffix in ("", "/content", "/preview", "/pages/1"):
                await self.get(f"/api/v1/public/documents/{doc}{suffix}")
            await self.get(f"/api/v1/public/ckan/api/3/action/package_show?id={doc}")
        offices = [o["code"] for o in (await self.get("/api/v1/public/offices")).json()]
        for register in ("dip", "dik"):
            for office in ["", *offices]:
                for fmt in ("json", "csv", "xlsx"):
                    await self.get(f"/api/v1/public/{register}?format={fmt}"
                                   + (f"&office={office}" if office else ""))
        for path in ("/api/v1/public/statistics", "/api/v1/public/catalog?limit=100",
                     "/api/v1/public/ckan/api/3/action/package_search?rows=1000",
                     "/api/v1/public/ckan/api/3/action/package_list",
                     "/api/v1/public/ckan/api/3/action/organization_list",
                     "/feed.atom", "/sitemap.xml",
                     *[f"/kantor/{o}/feed.atom" for o in offices]):
            await self.get(path)
        for query in queries:
            for path in (f"/api/v1/search?q={query}", f"/api/v1/search/suggest?q={query}",
                         f"/cari?q={query}",
                         f"/api/v1/public/ckan/api/3/action/package_search?q={query}"):
                await self.get(path)
        return ids

    def find(self, needle: str) -> list[str]:
        return [url for url, body in self.bodies.items() if needle.lower() in body.lower()]
