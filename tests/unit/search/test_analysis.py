"""The election synonyms shipped with the index settings."""

from __future__ import annotations

from dms_search.index import MAPPINGS, analysis, election_synonyms


def test_synonym_file_is_well_formed_and_covers_the_election_terms() -> None:
    rules = election_synonyms()
    assert len(rules) >= 30
    heads: set[str] = set()
    for rule in rules:
        terms = [t.strip() for t in rule.split(",")]
        assert len(terms) >= 2 and all(terms), rule
        assert rule == rule.lower(), rule
        heads.update(terms)
    for term in ("phpu", "tps", "kpu", "dpt", "dptb", "pilkada", "pemilihan kepala daerah",
                 "pemilu", "pemilihan umum", "bawaslu", "panwascam", "gakkumdu"):
        assert term in heads, term


def test_synonyms_apply_at_search_time_only() -> None:
    settings = analysis()
    assert settings["filter"]["election_synonyms"]["type"] == "synonym_graph"
    assert settings["filter"]["election_synonyms"]["synonyms"] == list(election_synonyms())
    assert "election_synonyms" not in settings["analyzer"]["id_text"]["filter"]
    assert "election_synonyms" in settings["analyzer"]["id_query"]["filter"]
    title = MAPPINGS["properties"]["title"]
    assert (title["analyzer"], title["search_analyzer"]) == ("id_text", "id_query")
    assert title["fields"]["std"]["analyzer"] == "standard"
