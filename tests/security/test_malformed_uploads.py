"""Hostile and broken files through the running stack: refused clearly, or failed safely.

Every sample of `tests.support.malformed.corpus()` (over 300: zip bombs, billion laughs and
external entities, PDF bombs, encrypted and truncated PDFs, lying extensions, polyglots, hostile
filenames), plus broken multipart forms and an oversize file, is uploaded through the gateway.
Each must end in one of two ways: refused at upload with a 4xx whose body names the problem,
or accepted and then settled by classify as `extracted` or `extraction_failed`. Never a 5xx;
no worker dies (same pids before and after); ordinary uploads keep being served meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.malformed import Sample, corpus
from tests.support.servers import ROOT
from tests.support.stack import StackUser, create_user, gateway_client

SETTLED = {"extracted", "extraction_failed"}
WORKERS = ("ingest-worker", "classify-worker", "publish-worker", "search-worker")
UPLOAD_LIMIT = 200 * 1024 * 1024  # the stack's DMS_MAX_UPLOAD_BYTES default
SETTLE_SECONDS = 600


def _pids() -> dict[str, int]:
    return {name: int((ROOT / "var" / "run" / f"{name}.pid").read_text())
            for name in (*WORKERS, "ingest-api", "classify-api")}


async def _upload(client: httpx.AsyncClient, user: StackUser, sample: Sample,
                  title: str) -> httpx.Response:
    return await client.post("/api/v1/documents", headers=user.headers,
                             data={"title": title, "document_date": "2026-11-21",
                                   "keep_both": "true"},
                             files={"file": (sample.filename, sample.body, sample.content_type)})


def _problem(response: httpx.Response) -> str | None:
    """What is wrong with a refusal, or None when it is a proper 4xx naming its reason."""
    if response.status_code >= 500:
        return f"server error {response.status_code}: {response.text[:200]}"
    try:
        body = response.json()
    except json.JSONDecodeError:
        return f"{response.status_code} without a JSON body"
    if not (isinstance(body, dict) and body.get("code") and len(body.get("message", "")) > 10):
        return f"{response.status_code} without code and message: {body}"
    return None


@pytest.fixture(scope="module")
async def staff() -> AsyncIterator[tuple[httpx.AsyncClient, StackUser]]:
    async with gateway_client(timeout=120) as client:
        yield client, await create_user(client, role="staff", office="6305")


async def test_every_hostile_file_is_refused_or_fails_safely(
        staff: tuple[httpx.AsyncClient, StackUser]) -> None:
    client, user = staff
    pids_before = _pids()
    samples = corpus()
    assert len(samples) >= 300
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    accepted: dict[str, Sample] = {}
    ordinary_failures: list[str] = []
    gate = asyncio.Semaphore(4)

    async def one(number: int, sample: Sample) -> None:
        async with gate:
            response = await _upload(client, user, sample, f"Uji berkas rusak {number}")
            if number % 20 == 0:  # ordinary work goes on meanwhile
                plain = Sample("ordinary", "biasa.txt",
                               f"Notulen rapat pleno {uuid.uuid4()}".encode(), "text/plain")
                ok = await _upload(client, user, plain, f"Notulen biasa {number}")
                if ok.status_code != 201:
                    ordinary_failures.append(f"{ok.status_code} {ok.text[:200]}")
        if response.status_code == 201:
            accepted[str(response.json()["id"])] = sample
            outcomes[f"{sample.kind}: diterima"] += 1
            return
        problem = _problem(response)
        if problem:
            problems.append(f"{sample.kind} {sample.filename[:60]!r}: {problem}")
        else:
            outcomes[f"{sample.kind}: {response.status_code} {response.json()['code']}"] += 1

    await asyncio.gather(*(one(n, s) for n, s in enumerate(samples)))
    assert not problems, "\n".join(problems[:40])
    assert not ordinary_failures, ordinary_failures[:5]

    # What was accepted settles: extracted, or failed with a reason; never stuck.
    deadline = time.monotonic() + SETTLE_SECONDS
    pending = dict(accepted)
    statuses: Counter[str] = Counter()
    while pending and time.monotonic() < deadline:
        for document_id in list(pending):
            response = await client.get(f"/api/v1/documents/{document_id}",
                                        headers=user.headers)
            assert response.status_code == 200, response.text
            status = response.json()["status"]
            if status in SETTLED:
                statuses[f"{pending.pop(document_id).kind}: {status}"] += 1
        await asyncio.sleep(2)
    print("malformed:", json.dumps({"samples": len(samples), "upload": dict(outcomes),
                                    "settled": dict(statuses)}, indent=2, ensure_ascii=False))
    assert not pending, (f"{len(pending)} accepted files never settled: "
                         + ", ".join(f"{s.kind}/{s.filename[:30]}" for s in pending.values()))
    assert _pids() == pids_before, "a worker or API process died during the run"


async def test_hostile_filenames_stay_metadata(
        staff: tuple[httpx.AsyncClient, StackUser]) -> None:
    client, user = staff
    for name in ("../../etc/passwd", "a\r\nX-Injected: 1.txt", "<script>alert(1)</script>.txt"):
        response = await _upload(client, user, Sample("filename", name, b"Isi catatan biasa.",
                                                      "text/plain"), "Nama berkas jahil")
        if response.status_code != 201:
            assert _problem(response) is None
            continue
        document = response.json()
        assert "X-Injected" not in json.dumps(document.get("headers", {}))
        content = await client.get(f"/api/v1/documents/{document['id']}/content",
                                   headers=user.headers)
        assert content.status_code == 200
        assert content.content == b"Isi catatan biasa."
        disposition = content.headers.get("content-disposition", "")
        assert "\r" not in disposition and "\n" not in disposition
        assert "../" not in disposition.split("filename*=")[0]
        assert "x-injected" not in content.headers


def _multipart(parts: list[tuple[str, str | None, bytes]], boundary: str) -> bytes:
    out = bytearray()
    for name, filename, value in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"Content-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def _broken_forms() -> list[tuple[str, dict[str, str], bytes]]:
    boundary = "batas" + uuid.uuid4().hex
    ok_parts: list[tuple[str, str | None, bytes]] = [("title", None, b"Judul"),
                                                    ("file", "a.txt", b"isi")]
    many: list[tuple[str, str | None, bytes]] = [("tags", None, b"x")] * 1001 + ok_parts
    form = f"multipart/form-data; boundary={boundary}"
    return [
        ("1001 parts", {"content-type": form}, _multipart(many, boundary)),
        ("junk before the boundary", {"content-type": form},
         b"\x00" * 5000 + _multipart(ok_parts, boundary)),
        ("no boundary parameter", {"content-type": "multipart/form-data"},
         _multipart(ok_parts, boundary)),
        ("boundary never closed", {"content-type": form},
         _multipart(ok_parts, boundary)[:-len(boundary) - 6]),
        ("wrong boundary", {"content-type": "multipart/form-data; boundary=lain"},
         _multipart(ok_parts, boundary)),
        ("not multipart", {"content-type": "application/json"}, b'{"title": "x"}'),
        ("empty body", {"content-type": form}, b""),
        ("no file part", {"content-type": form}, _multipart([("title", None, b"J")], boundary)),
        ("two file parts", {"content-type": form},
         _multipart([*ok_parts, ("file", "b.txt", b"lagi")], boundary)),
        ("huge part header", {"content-type": form},
         f"--{boundary}\r\nContent-Disposition: form-data; name=\"{'n' * 200_000}\"\r\n\r\n"
         f"x\r\n--{boundary}--\r\n".encode()),
        ("path traversal in the part name", {"content-type": form},
         _multipart([("../../file", "../../a.txt", b"isi"), ("title", None, b"J")], boundary)),
    ]


async def test_broken_forms_get_a_clear_4xx(
        staff: tuple[httpx.AsyncClient, StackUser]) -> None:
    client, user = staff
    problems = []
    for label, headers, body in _broken_forms():
        response = await client.post("/api/v1/documents", content=body,
                                     headers={**user.headers, **headers})
        if not 400 <= response.status_code < 500:
            problems.append(f"{label}: {response.status_code} {response.text[:200]}")
        elif problem := _problem(response):
            problems.append(f"{label}: {problem}")
    assert not problems, "\n".join(problems)


async def test_an_oversize_file_is_refused_with_413(
        staff: tuple[httpx.AsyncClient, StackUser]) -> None:
    client, user = staff
    boundary = "batas" + uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nBesar\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"besar.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield head + b"%PDF-1.7\n"
        chunk = b"0" * (1024 * 1024)
        for _ in range(UPLOAD_LIMIT // len(chunk) + 8):
            yield chunk
        yield tail

    try:
        response = await client.post(
            "/api/v1/documents", content=body(),
            headers={**user.headers, "content-type": f"multipart/form-data; boundary={boundary}"})
    except httpx.WriteError:
        pytest.fail("the server closed the connection instead of answering 413")
    assert response.status_code == 413, response.text
    assert _problem(response) is None
