"""The stack's OpenSearch: the `indonesian` analyzer, search through it, data across a restart.

These run against the real node (DESIGN.md §6) with opensearch-py, the client the
services use. A node assembled without the analysis-common module has no `indonesian`
analyzer and fails the first two tests; one whose data folder is not kept fails the last.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opensearchpy import OpenSearch

from tests.support.servers import Endpoints

TIMEOUT = 30  # seconds per request; a healthy single node answers in well under one


def connect(servers: Endpoints) -> Any:
    return OpenSearch(hosts=[servers.opensearch_url], timeout=TIMEOUT)


@pytest.fixture
def client(servers: Endpoints) -> Any:
    return connect(servers)


@pytest.fixture
def index(servers: Endpoints) -> Iterator[str]:
    """A unique index name, deleted after the test whatever happened."""
    name = f"test-opensearch-{uuid.uuid4().hex[:12]}"
    yield name
    # A fresh client: the test may have restarted the node under the old one.
    connect(servers).indices.delete(index=name, ignore_unavailable=True)


def create_text_index(client: Any, index: str) -> None:
    """An index whose `body` field is analysed as Indonesian, as DMS indexes documents."""
    client.indices.create(index=index, body={
        # One node: a replica could never be assigned.
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {"properties": {"body": {"type": "text", "analyzer": "indonesian"}}},
    })


def tokens(client: Any, text: str) -> set[str]:
    response = client.indices.analyze(body={"analyzer": "indonesian", "text": text})
    return {token["token"] for token in response["tokens"]}


def match_ids(client: Any, index: str, query: str) -> set[str]:
    response = client.search(index=index, body={"query": {"match": {"body": query}}})
    return {hit["_id"] for hit in response["hits"]["hits"]}


def test_indonesian_analyzer_gives_derived_forms_one_stem(client: Any) -> None:
    election = tokens(client, "pemilihan")
    to_choose = tokens(client, "memilih")
    # Lucene's Indonesian stemmer removes the whole "pe-"/"me-" prefix before a vowel
    # instead of restoring the root's "p", so both become "ilih", not the root "pilih".
    # Pinned: a different stem after an upgrade changes what DMS search matches.
    assert election & to_choose == {"ilih"}
    assert tokens(client, "kampanye") & election == set()
    # Stop words go: "yang" and "dan" are on the Indonesian stop list.
    assert tokens(client, "yang dan") == set()


def test_search_finds_a_derived_form(client: Any, index: str) -> None:
    create_text_index(client, index)
    client.index(index=index, id="election", body={"body": "Hasil pemilihan umum tahun 2024"})
    client.index(index=index, id="other", body={"body": "Laporan dana kampanye peserta"})
    client.indices.refresh(index=index)

    assert match_ids(client, index, "memilih") == {"election"}
    assert match_ids(client, index, "kampanye") == {"other"}
    assert match_ids(client, index, "anggaran") == set()


@pytest.mark.restart
def test_restart_keeps_data(servers: Endpoints, client: Any, index: str,
                            restart_server: Callable[[str], None]) -> None:
    create_text_index(client, index)
    body = {"body": f"Rekapitulasi pemilihan {uuid.uuid4()}"}
    client.index(index=index, id="kept", body=body, refresh="true")

    restart_server("opensearch")

    after = connect(servers)
    # `stack up` returns once the cluster is yellow, so the shard is recovered by now.
    assert after.get(index=index, id="kept")["_source"] == body
    after.indices.refresh(index=index)
    assert match_ids(after, index, "memilih") == {"kept"}
