"""Public downloads: the name a file is saved under, and the headers that go with it."""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote

from dms_publish.models import Publication

_MAX_NAME = 150
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._()+ -]+")


def safe_filename(name: str | None, *, fallback: str = "dokumen") -> str:
    """A filename with no path, no control characters and no quoting tricks."""
    # Filenames are metadata from an uploader, never paths: keep the last segment only.
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base)
                   if unicodedata.category(ch)[0] not in {"C", "Z"} or ch == " ")
    base = base.replace('"', "'").replace(";", "_").strip(" .")
    if len(base) > _MAX_NAME:
        suffix = PurePosixPath(base).suffix[:16]
        base = base[:_MAX_NAME - len(suffix)] + suffix
    return base or fallback


def download_filename(row: Publication, content_type: str | None) -> str:
    """The name the public copy of `row` is offered under."""
    name = safe_filename(row.filename, fallback=f"dokumen-{row.document_id}")
    if row.redacted_object_key and row.public_object_key == row.redacted_object_key:
        # The redacted copy may be another format than the upload (e.g. a PDF of a DOCX).
        path = PurePosixPath(name)
        extension = mimetypes.guess_extension(content_type or "") or path.suffix
        name = f"{path.stem or 'dokumen'}-disamarkan{extension}"
    return name


def content_disposition(filename: str) -> str:
    """An attachment header with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987)."""
    safe = safe_filename(filename)
    path = PurePosixPath(safe)
    ascii_name = (_ascii(path.stem).strip(" .") or "dokumen") + _ascii(path.suffix)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(safe, safe='')}"


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _UNSAFE_ASCII.sub("_", plain)
