"""Run extraction in a child process with a memory limit and a time limit.

A hostile or broken file may make a parser loop, exhaust memory or crash in C code. Parsing
therefore happens in a long-lived child (`python -m dms_classify.sandbox`) that caps its own
address space (`RLIMIT_AS`) before importing any parser, and answers one job per line on a pipe.
The parent kills the child's whole process group (Tesseract included) when a job outlives its
time limit, and starts a fresh child for the next job; a dead child is an `ExtractionFailed`,
never an exception in the worker. The child is recycled after a number of jobs so that a
parser's leaks cannot accumulate.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dms_classify.extraction import (
    ExtractedText,
    ExtractionFailed,
    ExtractionLimits,
    extract_file,
    is_supported,
    media_type,
    render_previews,
)
from dms_common.storage import ObjectNotFound, ObjectStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractionOutput:
    """An extraction's results, read back from the job folder."""

    extracted: ExtractedText
    previews: list[bytes]


class Sandbox:
    """One extraction child process at a time, with its limits; safe to share in a process."""

    def __init__(self, *, memory_bytes: int, timeout_seconds: float,
                 max_jobs_per_child: int = 1000) -> None:
        self.memory_bytes = memory_bytes
        self.timeout_seconds = timeout_seconds
        self.max_jobs_per_child = max_jobs_per_child
        self._child: asyncio.subprocess.Process | None = None
        self._jobs = 0
        self._lock = asyncio.Lock()

    async def _start(self) -> asyncio.subprocess.Process:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dms_classify.sandbox", str(self.memory_bytes),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            start_new_session=True)  # its own process group: a kill takes Tesseract too
        self._jobs = 0
        return child

    async def run(self, *, path: Path, content_type: str, out_dir: Path,
                  limits: ExtractionLimits, previews: bool = True) -> dict[str, Any]:
        """Run one extraction job in the child; its answer, or ExtractionFailed."""
        return await self.run_job({
            "kind": "extract", "path": str(path), "content_type": content_type,
            "out": str(out_dir), "limits": dataclasses.asdict(limits), "previews": previews})

    async def run_job(self, job: dict[str, Any]) -> dict[str, Any]:
        """Send a job (`kind`: extract, redact) to the child; its answer, or ExtractionFailed."""
        async with self._lock:
            if self._child is None or self._child.returncode is not None:
                self._child = await self._start()
            child = self._child
            assert child.stdin is not None and child.stdout is not None
            self._jobs += 1
            job_id = uuid.uuid4().hex
            try:
                child.stdin.write(json.dumps({**job, "id": job_id}).encode() + b"\n")
                await child.stdin.drain()
                line = await asyncio.wait_for(child.stdout.readline(), self.timeout_seconds)
            except TimeoutError as exc:
                await self._kill()
                raise ExtractionFailed("timeout", f"more than {self.timeout_seconds:g}s") from exc
            except (BrokenPipeError, ConnectionResetError):
                line = b""
            except asyncio.CancelledError:
                # The child still works on this job; its late answer must not reach the next.
                self._kill_now()
                raise
            if not line:
                code = await self._kill()
                raise ExtractionFailed("extractor_crashed", _describe_exit(code))
            answer: dict[str, Any] = json.loads(line)
            if answer.get("id") != job_id:
                await self._kill()
                raise ExtractionFailed("extractor_crashed", "answer to another job")
            if self._jobs >= self.max_jobs_per_child:
                await self.close()
        if not answer.get("ok"):
            raise ExtractionFailed(str(answer.get("code", "unreadable_file")),
                                   str(answer.get("detail", "")))
        return answer

    def _kill_now(self) -> None:
        child, self._child = self._child, None
        if child is not None and child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)

    async def _kill(self) -> int | None:
        child, self._child = self._child, None
        if child is None:
            return None
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
        return await child.wait()

    async def close(self) -> None:
        """Stop the child (gently: it exits at the end of its input)."""
        child, self._child = self._child, None
        if child is None or child.returncode is not None:
            return
        assert child.stdin is not None
        child.stdin.close()
        try:
            await asyncio.wait_for(child.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            await child.wait()


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name} (memory limit or parser crash)"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


# --- from the object store ----------------------------------------------------------------------

async def extract_object(*, store: ObjectStore, key: str, content_type: str,
                         limits: ExtractionLimits, sandbox: Sandbox | None = None,
                         previews: bool = True) -> ExtractionOutput:
    """Stream the object at `key` to a temporary folder and extract it (in the sandbox if given)."""
    if not is_supported(content_type):
        raise ExtractionFailed("unsupported_type", media_type(content_type))
    async with _job_folder() as folder:
        path = folder / "original"
        out_dir = folder / "out"
        await download(store, key, path, limits.max_bytes)
        if sandbox is None:
            answer = await asyncio.to_thread(run_job, path, content_type, out_dir, limits,
                                             previews)
        else:
            answer = await sandbox.run(path=path, content_type=content_type, out_dir=out_dir,
                                       limits=limits, previews=previews)
        return await asyncio.to_thread(_read_output, answer)


@contextlib.asynccontextmanager
async def _job_folder() -> AsyncIterator[Path]:
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="dms-classify-"))
    try:
        yield folder
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


def _read_output(answer: dict[str, Any]) -> ExtractionOutput:
    text = Path(answer["text_file"]).read_text(encoding="utf-8")
    table = None
    if answer.get("table_file"):
        table = json.loads(Path(answer["table_file"]).read_text(encoding="utf-8"))
    extracted = ExtractedText(text=text, pages=answer.get("pages"),
                              truncated=bool(answer.get("truncated")),
                              ocr_used=bool(answer.get("ocr_used")), table=table)
    return ExtractionOutput(extracted=extracted,
                            previews=[Path(p).read_bytes() for p in answer.get("previews", [])])


async def download(store: ObjectStore, key: str, path: Path, max_bytes: int) -> None:
    """Stream an object into a local file, refusing more than `max_bytes`."""
    try:
        reader = await store.open(key)
    except ObjectNotFound as exc:
        raise ExtractionFailed("original_missing", key) from exc
    async with reader:
        if reader.size > max_bytes:
            raise ExtractionFailed("too_large", f"{reader.size} > {max_bytes} bytes")
        file = await asyncio.to_thread(path.open, "wb")
        write: Callable[[bytes], int] = file.write
        try:
            written = 0
            async for chunk in reader.iterate():
                written += len(chunk)
                if written > max_bytes:
                    raise ExtractionFailed("too_large", f"more than {max_bytes} bytes")
                await asyncio.to_thread(write, chunk)
        finally:
            await asyncio.to_thread(file.close)


# --- the child ----------------------------------------------------------------------------------

def run_job(path: Path, content_type: str, out_dir: Path, limits: ExtractionLimits,
            previews: bool = True) -> dict[str, Any]:
    """Extract one file into `out_dir` (text.txt, table.json, previews/) and describe it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    extracted = extract_file(path, content_type, limits=limits)
    text_file = out_dir / "text.txt"
    text_file.write_text(extracted.text, encoding="utf-8")
    answer: dict[str, Any] = {
        "ok": True, "text_file": str(text_file), "pages": extracted.pages,
        "truncated": extracted.truncated, "ocr_used": extracted.ocr_used, "previews": []}
    if extracted.table is not None:
        table_file = out_dir / "table.json"
        table_file.write_text(json.dumps(extracted.table, ensure_ascii=False), encoding="utf-8")
        answer["table_file"] = str(table_file)
    if previews:
        answer["previews"] = [str(p) for p in render_previews(
            path, content_type, out_dir / "previews", limits=limits)]
    return answer


def _answer(job: dict[str, Any]) -> dict[str, Any]:
    try:
        limits = ExtractionLimits(**job["limits"])
        if job.get("kind") == "redact":
            from dms_classify.redaction import Located, redact_pdf

            boxes = [Located(int(b[0]), (float(b[1]), float(b[2]), float(b[3]), float(b[4])))
                     for b in job["boxes"]]
            return redact_pdf(Path(job["path"]), Path(job["out"]), strings=list(job["strings"]),
                              boxes=boxes, limits=limits)
        return run_job(Path(job["path"]), job["content_type"], Path(job["out"]), limits,
                       bool(job.get("previews", True)))
    except ExtractionFailed as failure:
        return {"ok": False, "code": failure.code, "detail": failure.reason[len(failure.code):]
                .removeprefix(": ")}
    except MemoryError:
        return {"ok": False, "code": "too_much_memory", "detail": "memory limit reached"}
    except Exception as exc:  # a parser bug is this file's failure, not the child's
        return {"ok": False, "code": "unreadable_file", "detail": f"{type(exc).__name__}: {exc}"}


def _child_main(memory_bytes: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Answers go to the real stdout; anything a library prints goes to stderr instead.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        answer = {**_answer(job), "id": job.get("id")}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    _child_main(int(sys.argv[1]))
