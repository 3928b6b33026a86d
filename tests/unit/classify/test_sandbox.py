"""The extraction child process: limits hold, failures are reasons, the next job still runs."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from dms_classify.extraction import PDF, XLSX, ExtractionFailed, ExtractionLimits
from dms_classify.sandbox import Sandbox, extract_object
from dms_common.storage import ObjectStore
from dms_common.testing.fake_store import FakeStore
from tests.unit.classify.files import make_scanned_pdf, make_xlsx
from tests.unit.classify.pdfs import make_pdf

MiB = 1024 * 1024
LIMITS = ExtractionLimits(max_bytes=50_000_000, max_chars=100_000, max_pages=50)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    box = Sandbox(memory_bytes=1024 * MiB, timeout_seconds=60)
    yield box
    await box.close()


def read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


async def test_a_job_runs_in_the_child(sandbox: Sandbox, tmp_path: Path) -> None:
    path = write(tmp_path, "a", make_pdf(["Rekapitulasi hasil penghitungan suara"]))
    answer = await sandbox.run(path=path, content_type=PDF, out_dir=tmp_path / "out",
                               limits=LIMITS)
    assert answer["ok"] and answer["pages"] == 1
    assert "Rekapitulasi" in read(answer["text_file"])
    assert [Path(p).name for p in answer["previews"]] == ["page-1.png"]
    child = sandbox._child
    assert child is not None
    # The same child serves the next job.
    xlsx = write(tmp_path, "b", make_xlsx({"DPT": [["No", "Nama"], [1, "Budi"]]}))
    answer = await sandbox.run(
        path=xlsx, content_type=XLSX, out_dir=tmp_path / "out2", limits=LIMITS)
    assert '"DPT"' in read(answer["table_file"])
    assert sandbox._child is child


async def test_a_hostile_file_is_a_reason_not_a_crash(sandbox: Sandbox, tmp_path: Path) -> None:
    path = write(tmp_path, "x", b"%PDF-1.7\n" + bytes(range(256)) * 40)
    with pytest.raises(ExtractionFailed) as info:
        await sandbox.run(path=path, content_type=PDF, out_dir=tmp_path / "o", limits=LIMITS)
    assert info.value.code == "unreadable_pdf"


async def test_timeout_kills_the_child_and_the_next_job_runs(tmp_path: Path) -> None:
    box = Sandbox(memory_bytes=1024 * MiB, timeout_seconds=0.3)
    try:
        scan = write(tmp_path, "scan", make_scanned_pdf([["Berita acara"]] * 3))
        with pytest.raises(ExtractionFailed) as info:
            await box.run(path=scan, content_type=PDF, out_dir=tmp_path / "o1", limits=LIMITS)
        assert info.value.code == "timeout"
        assert box._child is None
        box.timeout_seconds = 60
        ok = write(tmp_path, "ok", make_pdf(["Pengumuman"]))
        answer = await box.run(path=ok, content_type=PDF, out_dir=tmp_path / "o2", limits=LIMITS)
        assert answer["ok"]
    finally:
        await box.close()


async def test_memory_limit_ends_the_job_not_the_worker(tmp_path: Path) -> None:
    # A tiny PNG that inflates to 225 MB of pixels: over a 300 MiB address-space cap.
    image = Image.new("1", (15_000, 15_000), 1)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    bomb = write(tmp_path, "bomb", buffer.getvalue())
    limits = ExtractionLimits(max_bytes=50_000_000, max_chars=1000, max_pages=5,
                              max_image_pixels=10**9)
    box = Sandbox(memory_bytes=300 * MiB, timeout_seconds=60)
    try:
        with pytest.raises(ExtractionFailed) as info:
            await box.run(path=bomb, content_type="image/png", out_dir=tmp_path / "o",
                          limits=limits)
        assert info.value.code in ("too_much_memory", "extractor_crashed")
        ok = write(tmp_path, "ok", make_pdf(["Masih bekerja"]))
        answer = await box.run(path=ok, content_type=PDF, out_dir=tmp_path / "o2", limits=LIMITS)
        assert "Masih bekerja" in read(answer["text_file"])
    finally:
        await box.close()


async def test_a_killed_child_is_reported_and_replaced(sandbox: Sandbox, tmp_path: Path) -> None:
    ok = write(tmp_path, "ok", make_pdf(["Satu"]))
    await sandbox.run(path=ok, content_type=PDF, out_dir=tmp_path / "o1", limits=LIMITS)
    child = sandbox._child
    assert child is not None
    child.kill()
    await child.wait()
    # A child that died between jobs is replaced before the next one.
    answer = await sandbox.run(path=ok, content_type=PDF, out_dir=tmp_path / "o2", limits=LIMITS)
    assert answer["ok"] and sandbox._child is not child


async def test_extract_object_through_the_sandbox(sandbox: Sandbox) -> None:
    fake = FakeStore()
    fake.seed("k/original", make_pdf(["Daftar pemilih tetap"]))
    store: ObjectStore = fake
    output = await extract_object(store=store, key="k/original", content_type=PDF,
                                  limits=LIMITS, sandbox=sandbox)
    assert "Daftar pemilih tetap" in output.extracted.text
    assert output.previews and output.previews[0].startswith(b"\x89PNG")


async def test_a_cancelled_job_does_not_leak_its_answer(tmp_path: Path) -> None:
    import asyncio

    box = Sandbox(memory_bytes=1024 * MiB, timeout_seconds=60)
    try:
        scan = write(tmp_path, "scan", make_scanned_pdf([["Berita acara"]] * 2))
        job = asyncio.create_task(box.run(path=scan, content_type=PDF, out_dir=tmp_path / "o1",
                                          limits=LIMITS))
        await asyncio.sleep(0.5)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        ok = write(tmp_path, "ok", make_pdf(["Jawaban yang benar"]))
        answer = await box.run(path=ok, content_type=PDF, out_dir=tmp_path / "o2", limits=LIMITS)
        assert "Jawaban yang benar" in read(answer["text_file"])
    finally:
        await box.close()
