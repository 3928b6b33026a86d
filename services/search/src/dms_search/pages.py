"""The public search page, `/cari` (Bahasa Indonesia)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from dms_search.api import Container, find_published, search_request
from dms_search.query import SearchRequest

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

CATEGORY_LABELS = {
    "berkala": "Berkala",
    "serta_merta": "Serta merta",
    "setiap_saat": "Setiap saat",
    "dikecualikan": "Dikecualikan",
}

_MARK = re.compile(r"<mark>(.*?)</mark>", re.DOTALL)


def highlight_segments(fragment: str) -> list[tuple[str, bool]]:
    """Split an html-encoded highlight into (plain text, is a match) pieces.

    The template escapes each piece itself, so nothing from the index is ever
    rendered as markup.
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


@router.get("/cari", response_class=HTMLResponse, summary="Halaman pencarian publik")
async def search_page(request: Request, container: Container,
                      params: Annotated[SearchRequest, Depends(search_request)]) -> HTMLResponse:
    page = await find_published(container, params)
    return templates.TemplateResponse(request, "cari.html", {
        "params": params,
        "page": page,
        "categories": CATEGORY_LABELS,
        "segments": highlight_segments,
    })
