"""The event contract: schema snapshots, parsing, upcasting, topics."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from dms_common import events
from dms_common.events import (
    DocumentClassified,
    DocumentClassifiedPayload,
    DocumentReceived,
    DocumentReceivedPayload,
    KipCategory,
    Topic,
    UnknownEvent,
    parse_event,
)
from tests.support.servers import ROOT

SNAPSHOT = Path(__file__).parent / "snapshots" / "event_schemas.json"


def test_event_schemas_match_the_snapshot() -> None:
    """A change to the contract must show up as a diff of the snapshot file.

    To accept a deliberate change: DMS_UPDATE_SNAPSHOTS=1 pytest tests/unit/common/test_events.py
    """
    current = json.dumps(events.event_json_schemas(), indent=2, sort_keys=True) + "\n"
    if os.environ.get("DMS_UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text(), "event contract changed: review and update snapshot"


def _received(**overrides: Any) -> DocumentReceived:
    doc = uuid.uuid4()
    event: DocumentReceived = DocumentReceived.build(
        document_id=doc, version=1, office_code="6371",
        payload=DocumentReceivedPayload(
            title="SK Penetapan DPT", filename="sk.pdf", content_type="application/pdf",
            size=10, sha256="a" * 64, object_key=f"6371/{doc}/1/original",
            uploader_id=uuid.uuid4()),
        **overrides)
    return event


def test_round_trip_through_bytes_keeps_every_field() -> None:
    event = _received(correlation_id="abc", seq=3)
    parsed = parse_event(event.to_bytes())
    assert parsed == event
    assert parsed.key == str(event.document_id)
    assert parsed.schema_version == 1


def test_unknown_and_malformed_events_are_refused() -> None:
    with pytest.raises(UnknownEvent, match="not JSON"):
        parse_event(b"\xff\x00")
    with pytest.raises(UnknownEvent, match="unknown event_type"):
        parse_event(b'{"event_type": "dms.document.eaten", "schema_version": 1}')
    raw = json.loads(_received().to_bytes())
    raw["payload"]["sha256"] = "not-a-digest"
    with pytest.raises(UnknownEvent, match="invalid"):
        parse_event(json.dumps(raw))
    raw = json.loads(_received().to_bytes())
    raw["schema_version"] = 99
    with pytest.raises(UnknownEvent, match="newer"):
        parse_event(json.dumps(raw))


def test_previous_schema_version_is_upcast(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend `received` is at v2, whose payload renamed `tags` from v1's
    # comma-separated `keywords`; a v1 record must still be accepted.
    monkeypatch.setattr(DocumentReceived, "SCHEMA_VERSION", 2)

    def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        payload = dict(data["payload"])
        payload["tags"] = [t for t in payload.pop("keywords", "").split(",") if t]
        return {**data, "payload": payload}

    monkeypatch.setitem(events.UPCASTERS, (Topic.RECEIVED.value, 1), v1_to_v2)
    raw = json.loads(_received().to_bytes())
    raw["payload"].pop("tags")
    raw["payload"]["keywords"] = "dpt,pilkada"
    raw["schema_version"] = 1
    parsed = parse_event(json.dumps(raw))
    assert isinstance(parsed, DocumentReceived)
    assert parsed.payload.tags == ["dpt", "pilkada"]
    assert parsed.schema_version == 2


def test_classified_carries_category_and_public_flag() -> None:
    event = DocumentClassified.build(
        document_id=uuid.uuid4(), version=2, office_code="63",
        payload=DocumentClassifiedPayload(decision_id=uuid.uuid4(),
                                          kip_category=KipCategory.DIKECUALIKAN,
                                          legal_basis="UU 14/2008 Pasal 17 huruf h",
                                          title="Identitas pelapor"))
    parsed = parse_event(event.to_bytes())
    assert isinstance(parsed, DocumentClassified)
    assert parsed.payload.kip_category is KipCategory.DIKECUALIKAN
    assert not parsed.payload.kip_category.is_public
    assert KipCategory.SETIAP_SAAT.is_public


def test_topics_file_matches_the_contract() -> None:
    listed = {}
    for line in (ROOT / "deploy" / "kafka-topics.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, partitions, *configs = line.split()
            listed[name] = (int(partitions), configs)
    assert set(listed) == {t.value for t in Topic}
    assert listed[Topic.IDENTITY_CHANGED.value][1] == ["cleanup.policy=compact"]
    assert Topic.RECEIVED.dlq == "dms.document.received.dlq"


def test_a_field_added_by_a_newer_producer_is_ignored_not_refused() -> None:
    import json
    import uuid
    from datetime import UTC, datetime

    from dms_common.events import DocumentWithdrawn, parse_event

    newer = {
        "event_id": str(uuid.uuid4()), "event_type": "dms.document.withdrawn",
        "schema_version": 1, "occurred_at": datetime.now(UTC).isoformat(),
        "correlation_id": "c", "document_id": str(uuid.uuid4()), "version": 1, "seq": 3,
        "office_code": "6301", "added_in_a_later_release": True,
        "payload": {"reason": "dikecualikan", "also_new": {"x": 1}},
    }
    event = parse_event(json.dumps(newer).encode())
    assert isinstance(event, DocumentWithdrawn)
    assert event.payload.reason == "dikecualikan"
