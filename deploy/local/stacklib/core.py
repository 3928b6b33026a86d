"""The native stack's machinery: paths, processes, health waits, downloads.

Each real server is a `Server` subclass in `stacklib/servers/`; this module
knows nothing about any particular one. Only the standard library is used,
because the stack runs before any virtual environment exists.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence


class StackError(Exception):
    """A failure that `stack` reports without a traceback."""


@dataclass
class Context:
    """Where things live: the clone, the download cache, data, logs and pids."""

    root: Path
    cache: Path
    var: Path
    verbose: bool = False
    env_overrides: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, root: Path) -> "Context":
        cache = Path(os.environ.get("DMS_CACHE", str(Path.home() / ".cache" / "dms"))).expanduser()
        var = Path(os.environ.get("DMS_VAR", str(root / "var"))).expanduser()
        return cls(root=root, cache=cache, var=var)

    def data_dir(self, name: str) -> Path:
        path = self.var / "data" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def conf_dir(self, name: str) -> Path:
        path = self.var / "conf" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def cache_dir(self, name: str) -> Path:
        path = self.cache / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def log_path(self, name: str) -> Path:
        path = self.var / "log"
        path.mkdir(parents=True, exist_ok=True)
        return path / f"{name}.log"

    def pid_path(self, name: str) -> Path:
        path = self.var / "run"
        path.mkdir(parents=True, exist_ok=True)
        return path / f"{name}.pid"


def say(message: str) -> None:
    print(message, flush=True)


def run(cmd: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
        check: bool = True, capture: bool = False, timeout: float | None = None,
        ) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise StackError with its output."""
    proc = subprocess.run(
        list(cmd), cwd=cwd, env=env, text=True, timeout=timeout,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
    )
    if check and proc.returncode != 0:
        output = proc.stdout or ""
        raise StackError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{output[-4000:]}")
    return proc


def download(url: str, dest: Path, *, sha256: str | None = None) -> Path:
    """Fetch url into dest once; later calls reuse the cached file."""
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    say(f"  downloading {url}")
    with urllib.request.urlopen(url, timeout=120) as response, open(tmp, "wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)
    if sha256 is not None:
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        if digest != sha256:
            tmp.unlink()
            raise StackError(f"checksum mismatch for {url}: {digest} != {sha256}")
    tmp.rename(dest)
    return dest


def maven_fetch(ctx: Context, name: str, coordinates: Sequence[str], *,
                exclusions: Sequence[str] = ()) -> Path:
    """Resolve Maven artifacts with their dependencies into a cached lib folder.

    A throwaway POM lists the coordinates; `mvn dependency:copy-dependencies`
    resolves and copies every jar. The folder is keyed by the coordinates so a
    version change resolves afresh and the old folder stays usable meanwhile.
    """
    key = hashlib.sha256("\n".join([*coordinates, *exclusions]).encode()).hexdigest()[:12]
    lib = ctx.cache_dir("maven") / f"{name}-{key}"
    done = lib / ".complete"
    if done.exists():
        return lib
    build = ctx.cache_dir("maven") / f"{name}-{key}.build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    deps = []
    for coord in coordinates:
        parts = coord.split(":")
        group, artifact, version = parts[0], parts[1], parts[2]
        dep_type = parts[3] if len(parts) > 3 else "jar"
        excl = "".join(
            f"<exclusion><groupId>{e.split(':')[0]}</groupId><artifactId>{e.split(':')[1]}</artifactId></exclusion>"
            for e in exclusions
        )
        deps.append(
            f"<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{version}</version><type>{dep_type}</type>"
            f"<exclusions>{excl}</exclusions></dependency>"
        )
    pom = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dms.local</groupId><artifactId>{name}-fetch</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>{''.join(deps)}</dependencies>
</project>
"""
    (build / "pom.xml").write_text(pom)
    say(f"  resolving {name} from Maven Central ({', '.join(coordinates)})")
    repo = ctx.cache_dir("m2")
    tmp_lib = build / "lib"
    run(["mvn", "-q", "-B", f"-Dmaven.repo.local={repo}", "-f", str(build / "pom.xml"),
         "dependency:copy-dependencies", f"-DoutputDirectory={tmp_lib}",
         "-DincludeScope=runtime"], capture=True)
    shutil.rmtree(lib, ignore_errors=True)
    tmp_lib.rename(lib)
    shutil.rmtree(build, ignore_errors=True)
    done.write_text("\n".join(coordinates) + "\n")
    return lib


def apt_install(packages: Sequence[str], *, pre: Callable[[], None] | None = None) -> None:
    """Install Debian packages that are missing (we run as root)."""
    missing = [p for p in packages if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True
    ).stdout.strip() != "install ok installed"]
    if not missing:
        return
    if pre is not None:
        pre()
    say(f"  installing Debian packages: {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lists = Path("/var/lib/apt/lists")
    if not any(lists.glob("*Packages*")):
        run(["apt-get", "update", "-q"], env=env, capture=True)
    proc = run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
               env=env, capture=True, check=False)
    if proc.returncode != 0:
        run(["apt-get", "update", "-q"], env=env, capture=True)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
            env=env, capture=True)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def port_holder(port: int) -> str:
    """Name the process listening on a port, for a helpful error."""
    try:
        out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    return out or "an unknown process"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie counts as dead.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children, in MiB."""
    total = 0
    pids = [pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def tail(path: Path, lines: int = 40) -> str:
    try:
        content = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(content[-lines:])


class Server:
    """One real server of the stack. Subclasses fill in the hooks."""

    name: str = ""
    ports: tuple[int, ...] = ()
    start_timeout: float = 120.0

    def provision(self, ctx: Context) -> None:
        """Download or build what the server needs (cached, idempotent)."""

    def prepare(self, ctx: Context) -> None:
        """Write configuration and initialise data on first start."""

    def command(self, ctx: Context) -> list[str]:
        raise NotImplementedError

    def environment(self, ctx: Context) -> dict[str, str]:
        return {}

    def user(self, ctx: Context) -> str | None:
        """Run the process as this user (None: the current one)."""
        return None

    def healthy(self, ctx: Context) -> bool:
        return all(port_open(p) for p in self.ports)

    def version(self, ctx: Context) -> str:
        return "unknown"

    def after_start(self, ctx: Context) -> None:
        """Work done once the server is healthy (topics, buckets, roles)."""

    def stop(self, ctx: Context, pid: int) -> None:
        """Stop gracefully, then force."""
        terminate(pid)

    def reset(self, ctx: Context) -> None:
        shutil.rmtree(ctx.var / "data" / self.name, ignore_errors=True)
        shutil.rmtree(ctx.var / "conf" / self.name, ignore_errors=True)


def terminate(pid: int, timeout: float = 30.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def start_process(ctx: Context, server: Server) -> int:
    """Start a server detached from this terminal, logging to var/log."""
    log = open(ctx.log_path(server.name), "ab")
    env = {**os.environ, **server.environment(ctx)}
    cmd = server.command(ctx)
    user = server.user(ctx)
    ids: dict[str, object] = {}
    if user is not None and os.geteuid() == 0:
        # Drop privileges in the child itself (not via runuser, which would
        # stay as a parent) so the recorded pid is the server's own.
        import pwd
        pw = pwd.getpwnam(user)
        ids = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        env["HOME"] = pw.pw_dir
        env["USER"] = user
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env, cwd=ctx.data_dir(server.name), start_new_session=True,
                            **ids)  # type: ignore[call-overload]
    ctx.pid_path(server.name).write_text(str(proc.pid))
    return proc.pid


def wait_healthy(ctx: Context, server: Server, pid: int) -> None:
    deadline = time.monotonic() + server.start_timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            raise StackError(
                f"{server.name} exited during start-up; last lines of {ctx.log_path(server.name)}:\n"
                + tail(ctx.log_path(server.name)))
        try:
            if server.healthy(ctx):
                return
        except Exception:  # noqa: BLE001 - a probe error just means "not yet"
            pass
        time.sleep(0.5)
    raise StackError(
        f"{server.name} did not become healthy within {server.start_timeout:.0f}s; last lines of "
        f"{ctx.log_path(server.name)}:\n" + tail(ctx.log_path(server.name)))


def check_python() -> None:
    if sys.version_info < (3, 11):
        raise StackError("the stack needs Python 3.11 or newer")


def dev_env(ctx: Context) -> dict[str, str]:
    """The development configuration (deploy/local/dev.env), overridden by the environment."""
    values: dict[str, str] = {}
    path = ctx.root / "deploy" / "local" / "dev.env"
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    for key in list(values):
        if key in os.environ:
            values[key] = os.environ[key]
    return values
