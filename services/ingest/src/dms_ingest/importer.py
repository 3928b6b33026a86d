"""`dms-import`: upload a folder tree into DMS through the API.

    dms-import DIR --office 6302 [--division UUID] --url http://127.0.0.1:8080 --username U

The password is read from DMS_IMPORT_PASSWORD or asked for. Several uploads run at once; a file
whose sha256 the office already holds is skipped, so an interrupted import is resumed by running
the same command again. It ends with a summary and, when something failed, a tab-separated file
listing each failed path with its reason.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hashlib
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx

TokenSource = Callable[[bool], Awaitable[str]]
RETRIES = 3


@dataclass
class Tally:
    total: int
    uploaded: int = 0
    skipped: int = 0
    failed: int = 0
    bytes_sent: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        return self.uploaded + self.skipped + self.failed

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        width = 30
        filled = width * self.done // max(self.total, 1)
        return (f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                f"diunggah {self.uploaded}, dilewati {self.skipped}, gagal {self.failed} "
                f"({self.done / elapsed:.1f} berkas/dtk)")


class Progress:
    """One status line, redrawn in place on a terminal and printed now and then otherwise."""

    def __init__(self, tally: Tally, out: TextIO) -> None:
        self._tally = tally
        self._out = out
        self._tty = out.isatty()
        self._last = 0.0

    def update(self, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last < (0.2 if self._tty else 10.0):
            return
        self._last = now
        end = "\n" if final or not self._tty else ""
        self._out.write(("\r" if self._tty else "") + self._tally.line() + end)
        self._out.flush()


def collect(root: Path) -> list[Path]:
    """Every regular file under `root`, hidden ones left out, in a stable order."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(folder) / f for f in sorted(files) if not f.startswith(".")]
    return [p for p in found if p.is_file() and not p.is_symlink()]


def file_digest(path: Path) -> tuple[str, int]:
    """The file's sha256 and size."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def title_for(path: Path) -> str:
    return path.stem.replace("_", " ").strip() or path.name


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
        return f"{response.status_code} {body.get('code')}: {body.get('message')}"
    except ValueError:
        return f"{response.status_code}: {response.text[:200]}"


class Importer:
    def __init__(self, client: httpx.AsyncClient, token: TokenSource, *, root: Path,
                 division_id: str | None, concurrency: int) -> None:
        self._client = client
        self._token = token
        self._root = root
        self._division_id = division_id
        self._concurrency = max(1, concurrency)

    async def _headers(self, renew: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self._token(renew)}"}

    async def _request(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        """A request that renews the token once on 401 and retries server/network failures."""
        renew = False
        for attempt in range(RETRIES + 1):
            try:
                response = await self._client.request(method, url,
                                                      headers=await self._headers(renew),
                                                      **kwargs)  # type: ignore[arg-type]
            except httpx.TransportError:
                if attempt == RETRIES:
                    raise
                await asyncio.sleep(0.5 * 2 ** attempt)
                continue
            if response.status_code == 401 and not renew:
                renew = True
                continue
            if response.status_code in (502, 503, 504) and attempt < RETRIES:
                await asyncio.sleep(0.5 * 2 ** attempt)
                continue
            return response
        raise AssertionError("unreachable")

    async def one(self, path: Path, tally: Tally) -> None:
        relative = path.relative_to(self._root).as_posix()
        try:
            sha, size = await asyncio.to_thread(file_digest, path)
            found = await self._request("GET", "/api/v1/documents",
                                        params={"sha256": sha, "limit": 1})
            if found.status_code == 200 and found.json()["items"]:
                tally.skipped += 1
                return
            if found.status_code != 200:
                raise RuntimeError(_reason(found))
            data = {"title": title_for(path)[:500],
                    "description": f"Impor dari {relative}"[:5000],
                    "tags": ",".join(path.relative_to(self._root).parent.parts)[:500]}
            if self._division_id:
                data["division_id"] = self._division_id
            with path.open("rb") as handle:
                response = await self._request(
                    "POST", "/api/v1/documents", data=data,
                    files={"file": (path.name, handle, "application/octet-stream")})
            if response.status_code == 201:
                tally.uploaded += 1
                tally.bytes_sent += size
            elif response.status_code == 409 and response.json().get("code") == "duplicate":
                tally.skipped += 1  # a concurrent twin in this same run got there first
            else:
                raise RuntimeError(_reason(response))
        except (OSError, RuntimeError, httpx.HTTPError) as exc:
            tally.failed += 1
            tally.failures.append((relative, str(exc) or type(exc).__name__))

    async def run(self, paths: list[Path], progress_out: TextIO | None = None) -> Tally:
        tally = Tally(total=len(paths))
        progress = Progress(tally, progress_out) if progress_out is not None else None
        queue: asyncio.Queue[Path] = asyncio.Queue()
        for path in paths:
            queue.put_nowait(path)

        async def worker() -> None:
            while not queue.empty():
                await self.one(queue.get_nowait(), tally)
                if progress is not None:
                    progress.update()

        await asyncio.gather(*(worker() for _ in range(min(self._concurrency, len(paths) or 1))))
        if progress is not None:
            progress.update(final=True)
        return tally


def write_failures(path: Path, failures: list[tuple[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("path\treason\n")
        for name, reason in failures:
            out.write(f"{name}\t{reason.replace(chr(9), ' ').replace(chr(10), ' ')}\n")


def password_login(client: httpx.AsyncClient, username: str, password: str) -> TokenSource:
    """A token source that logs in with the password, again whenever asked to renew."""
    cached: list[str] = []

    async def token(renew: bool) -> str:
        if cached and not renew:
            return cached[0]
        response = await client.post("/api/v1/auth/token",
                                     data={"username": username, "password": password})
        if response.status_code != 200:
            raise SystemExit(f"Gagal masuk: {_reason(response)}")
        cached[:] = [response.json()["access_token"]]
        return cached[0]

    return token


async def _main(args: argparse.Namespace, root: Path) -> int:
    password = os.environ.get("DMS_IMPORT_PASSWORD") or getpass.getpass("Kata sandi: ")
    limits = httpx.Limits(max_connections=args.concurrency + 2)
    async with httpx.AsyncClient(base_url=args.url, timeout=httpx.Timeout(300, connect=10),
                                 limits=limits) as client:
        token = password_login(client, args.username, password)
        me = await client.get("/api/v1/auth/me",
                              headers={"Authorization": f"Bearer {await token(False)}"})
        office = me.json().get("office_code") if me.status_code == 200 else None
        if office != args.office:
            print(f"Akun {args.username} milik kantor {office}, bukan {args.office}.",
                  file=sys.stderr)
            return 2
        paths = await asyncio.to_thread(collect, root)
        print(f"{len(paths)} berkas di {root}", file=sys.stderr)
        importer = Importer(client, token, root=root, division_id=args.division,
                            concurrency=args.concurrency)
        tally = await importer.run(paths, progress_out=sys.stderr)
    elapsed = time.monotonic() - tally.started
    print(f"Selesai dalam {elapsed:.1f} dtk: {tally.uploaded} diunggah "
          f"({tally.bytes_sent / 1e6:.1f} MB), {tally.skipped} dilewati (sudah ada), "
          f"{tally.failed} gagal.")
    if tally.failures:
        failures = Path(args.failures)
        write_failures(failures, tally.failures)
        print(f"Daftar kegagalan: {failures}")
    return 1 if tally.failed else 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dms-import",
                                     description="Impor folder berkas ke DMS melalui API.")
    parser.add_argument("directory")
    parser.add_argument("--office", required=True, help="kode kantor akun, mis. 6302")
    parser.add_argument("--division", default=None, help="id divisi untuk semua berkas")
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--username", required=True)
    parser.add_argument("--concurrency", "-j", type=int, default=4)
    parser.add_argument("--failures", default="dms-import-gagal.tsv")
    args = parser.parse_args(argv)
    root = Path(args.directory).resolve()
    if not root.is_dir():
        sys.exit(f"Bukan folder: {root}")
    sys.exit(asyncio.run(_main(args, root)))


if __name__ == "__main__":
    main()
