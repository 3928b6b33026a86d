"""Atom feeds and the sitemap, built with ElementTree so every text is escaped (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from dms_publish.models import Publication

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _iso(value: datetime | None) -> str:
    return (value or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC).isoformat()


def atom_feed(*, base_url: str, feed_path: str, title: str, rows: Sequence[Publication],
              offices: dict[str, str], category_labels: dict[str, str]) -> bytes:
    """An Atom 1.0 feed of the given publications, newest first."""
    # The namespace as a plain attribute: no global prefix registry to share.
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": "id"})
    ET.SubElement(feed, "title").text = title
    ET.SubElement(feed, "id").text = base_url + feed_path
    ET.SubElement(feed, "link", {"rel": "self", "href": base_url + feed_path})
    ET.SubElement(feed, "link", {"rel": "alternate", "href": base_url + "/"})
    updated = max((r.published_at for r in rows if r.published_at), default=None)
    ET.SubElement(feed, "updated").text = _iso(updated)
    author = ET.SubElement(feed, "author")
    ET.SubElement(author, "name").text = "PPID Bawaslu Provinsi Kalimantan Selatan"
    for row in rows:
        entry = ET.SubElement(feed, "entry")
        url = f"{base_url}/dokumen/{row.document_id}"
        ET.SubElement(entry, "title", {"type": "text"}).text = row.title
        ET.SubElement(entry, "id").text = f"urn:uuid:{row.publication_id}"
        ET.SubElement(entry, "link", {"rel": "alternate", "href": url})
        ET.SubElement(entry, "updated").text = _iso(row.published_at)
        ET.SubElement(entry, "published").text = _iso(row.published_at)
        ET.SubElement(entry, "category", {
            "term": row.kip_category or "",
            "label": category_labels.get(row.kip_category or "", "")})
        office = offices.get(row.office_code, f"Kantor {row.office_code}")
        summary = (row.dip or {}).get("summary") or ""
        ET.SubElement(entry, "summary", {"type": "text"}).text = (
            f"{office}. {summary}".strip())
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def sitemap(*, base_url: str, paths: Sequence[tuple[str, datetime | None]]) -> bytes:
    """A sitemap of the given paths with their last modification times."""
    root = ET.Element("urlset", {"xmlns": SITEMAP})
    for path, modified in paths:
        url = ET.SubElement(root, "url")
        ET.SubElement(url, "loc").text = base_url + path
        if modified is not None:
            ET.SubElement(url, "lastmod").text = modified.astimezone(
                UTC).date().isoformat()
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body
