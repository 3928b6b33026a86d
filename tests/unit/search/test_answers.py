"""The search API's answers: built as plain data, they keep the documented shape."""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
from opensearchpy.exceptions import SerializationError
from opensearchpy.serializer import JSONSerializer

from dms_search.index import FastJson
from dms_search.query import Hit, Page, Suggestion
from dms_search.schemas import (
    InternalSearchResults,
    SearchResults,
    Suggestions,
    results_payload,
    suggestions_payload,
)

PAGE = Page(total=3, facets={"office_code": {"6302": 3}, "year": {}}, next_cursor="abc",
            hits=[Hit(id="a", title="Laporan", office_code="6302", kip_category="berkala",
                      document_date="2024-03-01", status="published",
                      highlights=["<mark>pemilihan</mark>"], division_id=None,
                      document_type="laporan"),
                  Hit(id="b", title="Draf", office_code="6302", kip_category=None,
                      document_date=None, status="extracted", highlights=[])])


def test_public_payload_is_what_the_model_documents() -> None:
    payload = results_payload(PAGE)
    assert payload == SearchResults.model_validate(payload).model_dump()
    assert all("status" not in hit for hit in payload["hits"])


def test_internal_payload_carries_each_hit_status() -> None:
    payload = results_payload(PAGE, internal=True)
    assert payload == InternalSearchResults.model_validate(payload).model_dump()
    assert [hit["status"] for hit in payload["hits"]] == ["published", "extracted"]


def test_suggestions_payload_is_what_the_model_documents() -> None:
    payload = suggestions_payload([Suggestion(id="a", title="Laporan")])
    assert payload == Suggestions.model_validate(payload).model_dump()


def test_fast_json_reads_and_writes_what_the_standard_codec_does() -> None:
    fast, standard = FastJson(), JSONSerializer()
    body = {"query": {"match": {"title": "pemilihan umum \u00e9\"<>"}}, "size": 20,
            "id": uuid.UUID(int=7), "date": datetime.date(2024, 3, 1), "score": 1.5,
            "none": None, "flags": [True, False]}
    assert json.loads(fast.dumps(body)) == json.loads(standard.dumps(body))
    assert fast.dumps("already json") == "already json"
    answer = standard.dumps({"hits": {"total": {"value": 2}, "hits": [{"_id": "\u00e9"}]}})
    assert fast.loads(answer) == standard.loads(answer)
    with pytest.raises(SerializationError):
        fast.loads("{not json")
    with pytest.raises(SerializationError):
        fast.dumps({"x": object()})
