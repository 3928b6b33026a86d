"""The relevance metrics the relevance command prints."""

from __future__ import annotations

import math

import pytest

from dms_search.relevance import ndcg, recall


def test_ndcg_is_one_for_the_ideal_order_and_lower_otherwise() -> None:
    relevant = {"a": 2, "b": 1}
    assert ndcg(["a", "b", "x"], relevant) == 1.0
    assert ndcg(["b", "a"], relevant) < 1.0
    expected = (1 / math.log2(2) + 3 / math.log2(3)) / (3 / math.log2(2) + 1 / math.log2(3))
    assert ndcg(["b", "a"], relevant) == pytest.approx(expected)
    assert ndcg(["x", "y"], relevant) == 0.0
    # Beyond k counts nothing.
    assert ndcg([*"xxxxxxxxxx", "a"], relevant) == 0.0


def test_recall_counts_the_relevant_found_in_the_top_k() -> None:
    assert recall(["a", "x"], {"a": 2, "b": 1}) == 0.5
    assert recall([], {"a": 1}) == 0.0
    assert recall(["x"] * 10 + ["a"], {"a": 1}) == 0.0
