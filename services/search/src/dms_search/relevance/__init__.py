"""Relevance, measured: a labelled set of Indonesian queries over a small election corpus.

    uv run python -m dms_search.relevance [--opensearch URL] [--per-query]

Builds two throw-away indices on the same OpenSearch in the same run: ours
(the service's mappings, analysis and query: Indonesian stemming, election
synonyms, exact subfields, typo tolerance) and a plain one (the `standard`
analyser, one multi_match over the same fields and boosts). Prints nDCG@10 and
recall@10 of both, so the gain is a number. The corpus and the judgments are
data files beside this module; the judgments say which documents answer each
query by meaning, not by which words they share.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch, helpers

from dms_search.index import MAPPINGS, analysis
from dms_search.query import Scope, SearchRequest, build_search

HERE = Path(__file__).parent
K = 10
PLAIN_FIELDS = ["title^3", "description^1.5", "text"]


def load_corpus() -> list[dict[str, str]]:
    corpus: list[dict[str, str]] = json.loads((HERE / "corpus.json").read_text("utf-8"))
    return corpus


def load_judgments() -> list[tuple[str, dict[str, int]]]:
    data = json.loads((HERE / "judgments.json").read_text("utf-8"))
    return [(item["q"], {doc: int(grade) for doc, grade in item["relevant"].items()})
            for item in data["queries"]]


def ndcg(ranked: list[str], relevant: dict[str, int], k: int = K) -> float:
    """Normalised discounted cumulative gain of the top k, with graded relevance."""
    def gain(grades: list[int]) -> float:
        return float(sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(grades)))
    ideal = gain(sorted(relevant.values(), reverse=True)[:k])
    return gain([relevant.get(doc, 0) for doc in ranked[:k]]) / ideal if ideal else 0.0


def recall(ranked: list[str], relevant: dict[str, int], k: int = K) -> float:
    """Share of the relevant documents found in the top k."""
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


@dataclass
class Scores:
    name: str
    per_query: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def ndcg(self) -> float:
        return sum(n for n, _ in self.per_query.values()) / len(self.per_query)

    @property
    def recall(self) -> float:
        return sum(r for _, r in self.per_query.values()) / len(self.per_query)


def ours_body(q: str) -> dict[str, Any]:
    body = build_search(SearchRequest(q=q, limit=K), Scope())
    for unused in ("aggs", "highlight"):
        body.pop(unused, None)
    return body


def plain_body(q: str) -> dict[str, Any]:
    return {"size": K, "_source": False,
            "query": {"multi_match": {"query": q, "fields": PLAIN_FIELDS}}}


PLAIN_MAPPINGS = {"properties": {name: {"type": "text", "analyzer": "standard"}
                                 for name in ("title", "description", "text")}}


def _build(client: OpenSearch, index: str, body: dict[str, Any],
           docs: list[dict[str, Any]]) -> None:
    client.indices.create(index=index, body=body)
    helpers.bulk(client, [{"_index": index, "_id": d["id"], "_source": source}
                          for d in docs for source in [_source(d, index)]], refresh=True)


def _source(doc: dict[str, Any], index: str) -> dict[str, Any]:
    base = {"title": doc["title"], "description": "", "text": doc["text"]}
    if index.endswith("-plain"):
        return base
    return {**base, "document_id": doc["id"], "title_suggest": doc["title"],
            "status": "published"}


def evaluate(client: OpenSearch, *, prefix: str | None = None) -> tuple[Scores, Scores]:
    """Score our index and a plain standard-analyser index on the labelled queries."""
    prefix = prefix or f"relevance-{uuid.uuid4().hex[:8]}"
    ours_index, plain_index = f"{prefix}-ours", f"{prefix}-plain"
    corpus = load_corpus()
    ours, plain = Scores("ours (indonesian + synonyms + exact + fuzzy)"), Scores(
        "plain standard analyser")
    try:
        _build(client, ours_index, {"settings": {"number_of_shards": 1,
                                                 "number_of_replicas": 0,
                                                 "analysis": analysis()},
                                    "mappings": MAPPINGS}, corpus)
        _build(client, plain_index, {"settings": {"number_of_shards": 1,
                                                  "number_of_replicas": 0},
                                     "mappings": PLAIN_MAPPINGS}, corpus)
        for q, relevant in load_judgments():
            for scores, index, body in ((ours, ours_index, ours_body(q)),
                                        (plain, plain_index, plain_body(q))):
                hits = client.search(index=index, body=body)["hits"]["hits"]
                ranked = [hit["_id"] for hit in hits]
                scores.per_query[q] = (ndcg(ranked, relevant), recall(ranked, relevant))
    finally:
        client.indices.delete(index=f"{ours_index},{plain_index}", ignore_unavailable=True)
    return ours, plain


def report(ours: Scores, plain: Scores, *, per_query: bool = False) -> str:
    lines = []
    if per_query:
        lines.append(f"{'query':<36} {'nDCG ours':>9} {'plain':>6} {'R ours':>7} {'plain':>6}")
        for q, (n, r) in ours.per_query.items():
            pn, pr = plain.per_query[q]
            lines.append(f"{q:<36} {n:>9.3f} {pn:>6.3f} {r:>7.3f} {pr:>6.3f}")
        lines.append("")
    lines.append(f"{len(ours.per_query)} queries, {len(load_corpus())} documents, k={K}")
    for scores in (ours, plain):
        lines.append(f"{scores.name:<46} nDCG@{K} {scores.ndcg:.3f}  "
                     f"recall@{K} {scores.recall:.3f}")
    lines.append(f"{'gain':<46} nDCG@{K} {ours.ndcg - plain.ndcg:+.3f}  "
                 f"recall@{K} {ours.recall - plain.recall:+.3f}")
    return "\n".join(lines)
