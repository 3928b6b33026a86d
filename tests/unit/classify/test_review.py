"""Pure parts of the review API: cursors and the decision body."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from dms_classify.models import ReviewDocument
from dms_classify.schemas import DecisionIn
from dms_classify.service import decode_cursor, encode_cursor
from dms_common.errors import ApiError
from dms_common.events import KipCategory


def test_cursor_round_trip() -> None:
    row = ReviewDocument(document_id=uuid.uuid4(),
                         received_at=datetime(2025, 3, 1, 8, 30, 0, 123456, tzinfo=UTC))
    assert decode_cursor(encode_cursor(row)) == (row.received_at, row.document_id)


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGEgY3Vyc29y", "", "AAAA"])
def test_bad_cursor_is_a_422(cursor: str) -> None:
    with pytest.raises(ApiError) as info:
        decode_cursor(cursor)
    assert (info.value.status_code, info.value.code) == (422, "invalid_cursor")


def test_decision_body() -> None:
    decision = DecisionIn.model_validate({
        "kip_category": "berkala", "document_type": "laporan",
        "dip": {"summary": "Laporan", "available_forms": ["softcopy"]}})
    assert decision.kip_category is KipCategory.BERKALA
    assert decision.dip is not None
    assert decision.dip.to_fields().available_forms == ["softcopy"]
    # dikecualikan parses: the use case answers it with its own 422 and message.
    assert DecisionIn.model_validate({"kip_category": "dikecualikan"}).kip_category \
        is KipCategory.DIKECUALIKAN
    with pytest.raises(ValidationError):
        DecisionIn.model_validate({"kip_category": "rahasia"})
    with pytest.raises(ValidationError):
        DecisionIn.model_validate({"kip_category": "berkala", "approved_by": "x"})
