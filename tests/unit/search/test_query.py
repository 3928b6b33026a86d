"""Search request bodies, answers and cursors; the page's highlight rendering."""

from __future__ import annotations

from typing import Any

import pytest

from dms_search.pages import highlight_segments
from dms_search.query import (
    EXACT_FIELDS,
    InvalidCursor,
    Scope,
    SearchRequest,
    build_search,
    build_suggest,
    decode_cursor,
    encode_cursor,
    read_page,
    read_suggestions,
    split_query,
    text_query,
)


def test_scope_is_a_query_filter_and_choices_a_post_filter() -> None:
    body = build_search(SearchRequest(q="pemilihan", office="6302", category="berkala",
                                      year=2024),
                        Scope(offices=frozenset({"6302"})))
    # The scope bounds hits, totals and facets alike; the caller's choices only the hits.
    assert body["query"]["bool"]["filter"] == [{"terms": {"office_code": ["6302"]}}]
    assert body["post_filter"] == {"bool": {"filter": [
        {"term": {"office_code": "6302"}}, {"term": {"kip_category": "berkala"}},
        {"term": {"year": 2024}}]}}
    should = body["query"]["bool"]["must"][0]["bool"]["should"]
    stemmed, exact, fuzzy = (clause["multi_match"] for clause in should)
    assert stemmed["query"] == exact["query"] == fuzzy["query"] == "pemilihan"
    assert "title^3" in stemmed["fields"] and "text.std" in exact["fields"]
    assert fuzzy["fuzziness"] == "AUTO" and fuzzy["boost"] < 1
    assert set(body["aggs"]) == {"office_code", "kip_category", "division_id", "year",
                                 "document_type"}
    # Each facet counts under every chosen filter but its own.
    assert body["aggs"]["office_code"]["filter"]["bool"]["filter"] == [
        {"term": {"kip_category": "berkala"}}, {"term": {"year": 2024}}]
    assert body["aggs"]["division_id"]["filter"]["bool"]["filter"] == [
        {"term": {"office_code": "6302"}}, {"term": {"kip_category": "berkala"}},
        {"term": {"year": 2024}}]
    assert {"title", "text"} <= set(body["highlight"]["fields"])
    assert "text" not in body["_source"]


def test_quoted_phrases_are_required_and_the_rest_ranked() -> None:
    assert split_query('"politik uang" kampanye "" akhir"') == (
        ["politik uang"], "kampanye akhir")
    query = text_query('"politik uang" kampanye')["bool"]
    assert query["must"] == [{"multi_match": {"query": "politik uang", "type": "phrase",
                                              "fields": EXACT_FIELDS}}]
    assert len(query["should"]) == 3 and "minimum_should_match" not in query
    only_phrase = text_query('"politik uang"')["bool"]
    assert only_phrase["should"] == []
    assert text_query("kampanye")["bool"]["minimum_should_match"] == 1
    assert not SearchRequest(q='  ""  ').has_words


def test_sort_by_date_either_way() -> None:
    newest = build_search(SearchRequest(q="pemilihan", sort="newest"), Scope())
    assert newest["sort"][0] == {"document_date": {"order": "desc", "missing": "_last"}}
    assert "highlight" in newest  # words still highlighted when sorted by date
    oldest = SearchRequest(q="pemilihan", sort="oldest")
    assert build_search(oldest, Scope())["sort"][0]["document_date"]["order"] == "asc"
    with pytest.raises(InvalidCursor):
        decode_cursor(encode_cursor("recent", [1, "a"]), oldest.mode)


def test_suggest_is_a_prefix_query_inside_the_scope() -> None:
    body = build_suggest("rekap pem", Scope(statuses=frozenset({"published"})), limit=5)
    assert body["size"] == 5
    assert body["query"]["bool"]["must"][0]["multi_match"]["type"] == "bool_prefix"
    assert body["query"]["bool"]["filter"] == [{"terms": {"status": ["published"]}}]
    answer = {"hits": {"hits": [{"_id": "a", "_source": {"title": "Rekap Pemilu"}},
                                {"_id": "b", "_source": {"title": "rekap pemilu"}},
                                {"_id": "c", "_source": {"title": "Rekap Pilkada"}}]}}
    assert [s.id for s in read_suggestions(answer)] == ["a", "c"]


def test_empty_query_lists_recent_documents() -> None:
    body = build_search(SearchRequest(q="  "), Scope(statuses=frozenset({"published"})))
    assert body["query"]["bool"]["must"] == [{"match_all": {}}]
    assert SearchRequest(q="", sort="relevance").mode == "recent"
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
             "highlight": {"text": [f"<mark>pemilihan</mark> {i}"],
                           "text.std": [f"<mark>pemilihan</mark> {i}"]},
             "sort": [1.0, f"id{i}"]}
            for i in range(n)]},
        "aggregations": {"office_code": {"doc_count": total, "values": {
            "buckets": [{"key": "63", "doc_count": total}]}}},
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


def test_read_page_of_a_filtered_answer_without_hits() -> None:
    # filter_path drops empty lists and objects: no hits, no buckets.
    page = read_page({"hits": {"total": {"value": 0}}}, SearchRequest(q="x"),
                     facets=("office_code", "year"))
    assert (page.total, page.hits, page.next_cursor) == (0, [], None)
    assert page.facets == {"office_code": {}, "year": {}}
    assert read_suggestions({}) == []


def test_highlight_segments_unescape_for_the_template_to_escape() -> None:
    fragment = "a &lt;script&gt; <mark>pemilihan</mark> &amp; <mark>umum</mark>"
    assert highlight_segments(fragment) == [
        ("a <script> ", False), ("pemilihan", True), (" & ", False), ("umum", True)]
    assert highlight_segments("") == []
