"""Sorting and keyset cursors of the public document list (no I/O).

A cursor names the sort it was made for, the sort value of the last item and its
document id; the next page continues strictly after that pair, so pages never
skip or repeat an item while publications come and go.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

# A document without a date sorts as if dated at the start of the calendar.
NO_DATE = date(1, 1, 1)


class SortKey(StrEnum):
    """The orders the public list offers; a leading '-' means descending."""

    NEWEST = "-published_at"
    OLDEST = "published_at"
    DOCUMENT_DATE_DESC = "-document_date"
    DOCUMENT_DATE = "document_date"
    TITLE = "title"
    TITLE_DESC = "-title"

    @property
    def column(self) -> str:
        return self.value.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


CursorValue = datetime | date | str


@dataclass(frozen=True)
class Cursor:
    sort: SortKey
    value: CursorValue
    document_id: UUID


def encode_cursor(sort: SortKey, value: CursorValue, document_id: UUID) -> str:
    """Make the opaque cursor that continues a list after this item."""
    text = value.isoformat() if isinstance(value, date) else value
    raw = json.dumps({"s": sort.value, "v": text, "i": str(document_id)},
                     separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: SortKey) -> Cursor:
    """Read a cursor made by `encode_cursor` for `sort`; ValueError if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("s") != sort.value:
            raise ValueError("cursor of another sort")
        text, document_id = data["v"], UUID(str(data["i"]))
        if not isinstance(text, str):
            raise ValueError("cursor value")
        value: CursorValue
        if sort.column == "published_at":
            value = datetime.fromisoformat(text)
            if value.tzinfo is None:
                raise ValueError("cursor time without zone")
        elif sort.column == "document_date":
            value = date.fromisoformat(text)
        else:
            value = text
        return Cursor(sort, value, document_id)
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ValueError("invalid cursor") from exc
