"""DMS's own processes: each service's API (uvicorn) and worker, run from the uv workspace."""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

from stacklib.core import Context, Server, StackError, apt_install, dev_env, run

# (service, API port, worker metrics port) — DESIGN.md §3.
SERVICES = [("ingest", 8001, 9101), ("classify", 8002, 9102),
            ("publish", 8003, 9103), ("search", 8004, 9104)]

_synced: set[Path] = set()


SYSTEM_PACKAGES = ("tesseract-ocr", "tesseract-ocr-ind")


def ensure_workspace(ctx: Context) -> Path:
    """Install the locked workspace once per `stack up` (fast when nothing changed)."""
    python = ctx.root / ".venv" / "bin" / "python"
    if ctx.root in _synced and python.exists():
        return python
    # What the services call outside Python: Tesseract and its Indonesian model (classify's OCR).
    apt_install(SYSTEM_PACKAGES)
    uv = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    if not Path(uv).exists():
        raise StackError("uv is not installed: run `make deps` (it installs the pinned uv)")
    run([uv, "sync", "--frozen", "--quiet"], cwd=ctx.root, capture=True)
    _synced.add(ctx.root)
    return python


def ensure_keys(ctx: Context) -> tuple[Path, Path]:
    """A development Ed25519 key pair for tokens (ingest signs, every service verifies)."""
    keys = ctx.var / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    private, public = keys / "jwt-private.pem", keys / "jwt-public.pem"
    if not (private.exists() and public.exists()):
        run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(private)], capture=True)
        private.chmod(0o600)
        run(["openssl", "pkey", "-in", str(private), "-pubout", "-out", str(public)], capture=True)
    return private, public


def service_environment(ctx: Context, service: str) -> dict[str, str]:
    env = dev_env(ctx)
    private, public = ensure_keys(ctx)
    env["DMS_JWT_PUBLIC_KEY"] = str(public)
    if service == "ingest":
        env["DMS_JWT_PRIVATE_KEY"] = str(private)
    env["DMS_SERVICE_NAME"] = service
    env["DMS_VAR"] = str(ctx.var)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ServiceApi(Server):
    start_timeout = 90.0

    def __init__(self, service: str, port: int) -> None:
        self.service = service
        self.name = f"{service}-api"
        self.ports = (port,)

    def provision(self, ctx: Context) -> None:
        ensure_workspace(ctx)

    def environment(self, ctx: Context) -> dict[str, str]:
        return service_environment(ctx, self.service)

    def command(self, ctx: Context) -> list[str]:
        python = ctx.root / ".venv" / "bin" / "python"
        return [str(python), "-m", "uvicorn", f"dms_{self.service}.main:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(self.ports[0]), "--no-access-log",
                "--timeout-graceful-shutdown", "10"]

    def healthy(self, ctx: Context) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[0]}/healthz", timeout=2) as r:
            return bool(r.status == 200)

    def version(self, ctx: Context) -> str:
        return f"dms_{self.service} API on :{self.ports[0]}"

    def reset(self, ctx: Context) -> None:
        pass


class ServiceWorker(ServiceApi):
    def __init__(self, service: str, port: int) -> None:
        super().__init__(service, port)
        self.name = f"{service}-worker"

    def command(self, ctx: Context) -> list[str]:
        python = ctx.root / ".venv" / "bin" / "python"
        return [str(python), "-m", f"dms_{self.service}.worker"]

    def environment(self, ctx: Context) -> dict[str, str]:
        env = service_environment(ctx, self.service)
        env["DMS_WORKER_METRICS_PORT"] = str(self.ports[0])
        return env

    def healthy(self, ctx: Context) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[0]}/metrics", timeout=2) as r:
            return bool(r.status == 200)

    def version(self, ctx: Context) -> str:
        return f"dms_{self.service} worker (metrics on :{self.ports[0]})"


def service_processes() -> list[Server]:
    processes: list[Server] = []
    for service, api_port, metrics_port in SERVICES:
        processes += [ServiceApi(service, api_port), ServiceWorker(service, metrics_port)]
    return processes


def has_service(ctx: Context, service: str) -> bool:
    return (ctx.root / "services" / service / "pyproject.toml").exists()
