"""The public search page, `/cari` (Bahasa Indonesia), on the shared page kit.

It only ever queries the public index, through the same request checks as the
public API. Facets are links that add or remove one filter, so the page works
without JavaScript; a small script of our own origin adds title suggestions.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from dms_common.pages import NavItem, category_label, render
from dms_common.pages import make_templates as kit_templates
from dms_search import service
from dms_search.api import Container, find_published, search_request
from dms_search.query import Page, SearchRequest

TEMPLATES = Path(__file__).parent / "templates"
SITE_TITLE = "PPID Bawaslu Provinsi Kalimantan Selatan"
# The public portal's navigation (the portal and /cari are one site behind the gateway).
NAV = (NavItem("/", "Beranda"), NavItem("/dokumen", "Dokumen"), NavItem("/dip", "DIP"),
       NavItem("/dik", "DIK"), NavItem("/dasbor", "Dasbor"), NavItem("/cari", "Cari informasi"))
SORT_LABELS = {"relevance": "Paling relevan", "newest": "Terbaru", "oldest": "Terlama"}
FACET_TITLES = {"kip_category": "Kategori", "office_code": "Kantor", "year": "Tahun",
                "document_type": "Jenis dokumen", "division_id": "Divisi"}
# Facet field → the query parameter that filters by it.
FACET_PARAMS = {"office_code": "office", "kip_category": "category", "division_id": "division",
                "year": "year", "document_type": "type"}

router = APIRouter(include_in_schema=False)

_MARK = re.compile(r"<mark>(.*?)</mark>", re.DOTALL)


def make_templates() -> Jinja2Templates:
    """The page's template environment: the kit's layout, autoescaping everything."""
    return kit_templates(TEMPLATES, site_title=SITE_TITLE, nav=NAV)


def highlight_segments(fragment: str) -> list[tuple[str, bool]]:
    """Split an html-encoded highlight into (plain text, is a match) pieces.

    The template escapes each piece itself, so nothing from the index is ever
    rendered as markup except the <mark> the template writes.
    """
    segments: list[tuple[str, bool]] = []
    position = 0
    for match in _MARK.finditer(fragment):
        if match.start() > position:
            segments.append((html.unescape(fragment[position:match.start()]), False))
        segments.append((html.unescape(match.group(1)), True))
        position = match.end()
    if position < len(fragment):
        segments.append((html.unescape(fragment[position:]), False))
    return segments


def page_url(params: SearchRequest, **changes: Any) -> str:
    """The /cari address for `params` with some filters changed (None removes one)."""
    values: dict[str, Any] = {"q": params.q, "office": params.office,
                              "category": params.category, "division": params.division,
                              "year": params.year, "type": params.type,
                              "sort": None if params.sort == "relevance" else params.sort}
    values.update(changes)
    query = urlencode({k: v for k, v in values.items() if v not in (None, "")})
    return "/cari" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class FacetValue:
    label: str
    count: int
    href: str
    chosen: bool


@dataclass(frozen=True)
class Facet:
    title: str
    values: list[FacetValue]


def _label(field: str, value: str, names: dict[str, dict[str, str]]) -> str:
    if field == "kip_category":
        return category_label(value)
    if field == "office_code":
        return names["offices"].get(value, f"Kantor {value}")
    if field == "division_id":
        return names["divisions"].get(value, "Divisi lain")
    if field == "document_type":
        return value.replace("_", " ").capitalize()
    return value


def facets_of(page: Page, params: SearchRequest,
              names: dict[str, dict[str, str]]) -> list[Facet]:
    """Each facet's values as links that choose the value, or clear it when chosen."""
    chosen = params.choices()
    facets = []
    for field, title in FACET_TITLES.items():
        counts = page.facets.get(field, {})
        if not counts:
            continue
        values = []
        for value, count in sorted(counts.items(),
                                   key=lambda kv: (-int(kv[0]) if field == "year" else 0,
                                                   -kv[1], kv[0])):
            is_chosen = str(chosen.get(field)) == value
            target = None if is_chosen else value
            values.append(FacetValue(label=_label(field, value, names), count=count,
                                     href=page_url(params, **{FACET_PARAMS[field]: target}),
                                     chosen=is_chosen))
        facets.append(Facet(title=title, values=values))
    return facets


@router.get("/cari", response_class=HTMLResponse, summary="Halaman pencarian publik")
async def search_page(request: Request, container: Container,
                      params: Annotated[SearchRequest, Depends(search_request)]) -> Response:
    page = await find_published(container, params)
    names = await service.known_names(sessions=container.core.sessions,
                                      tables=container.core.tables)
    return render(request, "cari.html", {
        "params": params,
        "page": page,
        "facets": facets_of(page, params, names),
        "offices": names["offices"],
        "sorts": SORT_LABELS,
        "segments": highlight_segments,
        "next_url": (page_url(params, cursor=page.next_cursor)
                     if page.next_cursor else None),
        "first_url": page_url(params) if params.cursor else None,
        "clear_url": page_url(replace(params, office=None, category=None, division=None,
                                      year=None, type=None)),
        "has_filters": bool(params.choices()),
    })


SUGGEST_SCRIPT = """\
// Title suggestions as the visitor types, from the public suggest API.
(() => {
  const input = document.getElementById("q");
  const list = document.getElementById("saran-judul");
  if (!input || !list) return;
  let timer = 0, last = "";
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = input.value.trim();
      if (q.length < 2 || q === last) return;
      last = q;
      try {
        const response = await fetch("/api/v1/search/suggest?" + new URLSearchParams({q}));
        if (!response.ok) return;
        const {suggestions} = await response.json();
        list.replaceChildren(...suggestions.map((s) => {
          const option = document.createElement("option");
          option.value = s.title;
          return option;
        }));
      } catch (error) { /* suggestions are a convenience: searching still works */ }
    }, 150);
  });
})();
"""


@router.get("/cari/saran.js", summary="Skrip saran judul")
async def suggest_script() -> Response:
    return Response(SUGGEST_SCRIPT, media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=300",
                             "X-Content-Type-Options": "nosniff"})
