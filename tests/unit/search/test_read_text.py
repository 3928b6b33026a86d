"""Reading a document's text for the index: capped, UTF-8 safe, tolerant of a missing object."""

from __future__ import annotations

from dms_common.testing.fake_store import FakeStore
from dms_search.service import read_text


async def test_text_is_capped_without_breaking_a_character() -> None:
    store = FakeStore()
    store.seed("t", "pemilihan é".encode())  # "é" is two bytes, the 11th and 12th
    assert await read_text(store=store, key="t", limit=100) == "pemilihan é"
    assert await read_text(store=store, key="t", limit=11) == "pemilihan "
    assert await read_text(store=store, key="t", limit=0) == ""


async def test_missing_or_absent_text_is_empty() -> None:
    store = FakeStore()
    assert await read_text(store=store, key=None, limit=100) == ""
    assert await read_text(store=store, key="nothing-here", limit=100) == ""
