"""Reading a ZIP's central directory from its trailing bytes (pure)."""

from __future__ import annotations

import io
import zipfile

import pytest

from dms_ingest.upload import (
    ArchiveSummary,
    FormError,
    TailBuffer,
    archive_problem,
    read_zip_directory,
)


def _zip(entries: dict[str, bytes], *, comment: bytes = b"", force_zip64: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            with archive.open(name, "w", force_zip64=force_zip64) as handle:
                handle.write(data)
        archive.comment = comment
    return buffer.getvalue()


@pytest.mark.parametrize("force_zip64", [False, True])
def test_counts_entries_and_declared_sizes(force_zip64: bool) -> None:
    data = _zip({"a.xml": b"x" * 1000, "b/c.xml": b"\0" * 50_000}, comment=b"komentar",
                force_zip64=force_zip64)
    assert read_zip_directory(data) == ArchiveSummary(entries=2, uncompressed=51_000)


def test_tail_buffer_keeps_only_the_end() -> None:
    data = _zip({f"f{i}.txt": bytes([i]) * 100 for i in range(50)})
    tail = TailBuffer(size=4096)
    for i in range(0, len(data), 333):
        tail.feed(data[i:i + 333])
    assert tail.total == len(data) and len(tail.tail) <= 4096
    assert read_zip_directory(tail.tail).entries == 50


def test_directory_beyond_the_tail_is_refused() -> None:
    data = _zip({f"entry-{i:05d}.xml": b"" for i in range(200)})
    with pytest.raises(FormError, match="terlalu banyak"):
        read_zip_directory(data[-2000:])


@pytest.mark.parametrize("cut", [1, 22, 500])
def test_damaged_archives_are_refused(cut: int) -> None:
    with pytest.raises(FormError):
        read_zip_directory(_zip({"a": b"a" * 600})[:-cut])


def test_problems_are_named() -> None:
    assert archive_problem(ArchiveSummary(3, 10), max_entries=5, max_uncompressed=100) is None
    many = archive_problem(ArchiveSummary(9, 10), max_entries=5, max_uncompressed=100)
    assert many is not None and "9" in many and "batas 5" in many
    big = archive_problem(ArchiveSummary(1, 300 * 1024 * 1024), max_entries=5,
                          max_uncompressed=200 * 1024 * 1024)
    assert big is not None and "300 MB" in big
