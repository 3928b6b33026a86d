"""Search request bodies, answers and cursors; the page's highlight rendering."""

from __future__ import annotations

from typing import Any

import pytest

from dms_search.pages import highlight_segments
from dms_search.query import (
    InvalidCursor,
    Scope,
    SearchRequest,
    build_search,
    decode_cursor,
    encode_cursor,
    read_page,
)


def test_scope_is_a_query_filter_and_choices_a_post_filter() -> None:
    body = build_search(SearchRequest(q="pemilihan", office="6302", category="berkala"),
                        Scope(offices=frozenset({"6302"})))
    # The scope bounds hits, totals and facets alike; the caller's choices only the hits.
    assert body["query"]["bool"]["filter"] == [{"terms": {"office_code": ["6302"]}}]
    assert body["post_filter"] == {"bool": {"filter": [
        {"term": {"office_code": "6302"}}, {"term": {"kip_category": "berkala"}}]}}
    multi_match = body["query"]["bool"]["must"][0]["multi_match"]
    assert multi_match["query"] == "pemilihan"
    assert "title^3" in multi_match["fields"] and "text.std" in multi_match["fields"]
    assert set(body["aggs"]) == {"office_code", "kip_category"}
    assert set(body["highlight"]["fields"]) == {"title", "text"}
    assert "text" not in body["_source"]


def test_empty_query_lists_recent_documents() -> None:
    body = build_search(SearchRequest(q="  "), Scope(statuses=frozenset({"published"})))
    assert body["query"]["bool"]["must"] == [{"match_all": {}}]
    assert body["sort"][0] == {"document_date": {"order": "desc", "missing": "_last"}}
    assert "highlight" not in body and "post_filter" not in body


def test_cursor_round_trip_and_refusals() -> None:
    cursor = encode_cursor("match", [1.5, "abc"])
    assert decode_cursor(cursor, "match") == [1.5, "abc"]
    body = build_search(SearchRequest(q="x", cursor=cursor), Scope())
    assert body["search_after"] == [1.5, "abc"]
    for bad in ("%%%", encode_cursor("recent", [1, "a"])[:-3], "bm90IGpzb24"):
        with pytest.raises(InvalidCursor):
            decode_cursor(bad, "match")
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, "recent")  # a cursor of another kind of search
    for values in ([{"x": 1}, "a"], [1.0], [True, "a"], [1.0, 2]):
        with pytest.raises(InvalidCursor):
            decode_cursor(encode_cursor("match", values), "match")
    with pytest.raises(InvalidCursor):
        decode_cursor(encode_cursor("recent", [1.5, "a"]), "recent")  # dates are integers
    assert decode_cursor(encode_cursor("recent", [1709251200000, "a"]), "recent") == [
        1709251200000, "a"]


def response(n: int, total: int) -> dict[str, Any]:
    return {
        "hits": {"total": {"value": total}, "hits": [
            {"_id": f"id{i}", "_source": {"title": f"T{i}", "office_code": "63",
                                          "kip_category": "berkala", "status": "published"},
             "highlight": {"text": [f"<mark>pemilihan</mark> {i}"]}, "sort": [1.0, f"id{i}"]}
            for i in range(n)]},
        "aggregations": {"office_code": {"buckets": [{"key": "63", "doc_count": total}]}},
    }


def test_read_page() -> None:
    request = SearchRequest(q="memilih", limit=2)
    page = read_page(response(2, 5), request)
    assert page.total == 5
    assert [h.id for h in page.hits] == ["id0", "id1"]
    assert page.hits[0].highlights == ["<mark>pemilihan</mark> 0"]
    assert page.facets == {"office_code": {"63": 5}}
    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor, "match") == [1.0, "id1"]
    assert read_page(response(1, 1), request).next_cursor is None


def test_highlight_segments_unescape_for_the_template_to_escape() -> None:
    fragment = "a &lt;script&gt; <mark>pemilihan</mark> &amp; <mark>umum</mark>"
    assert highlight_segments(fragment) == [
        ("a <script> ", False), ("pemilihan", True), (" & ", False), ("umum", True)]
    assert highlight_segments("") == []
