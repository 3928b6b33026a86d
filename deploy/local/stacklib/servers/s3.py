"""The S3 object store: versitygw (Apache-2.0) with its posix backend.

MinIO's server is AGPL and unmaintained, so the stack builds versitygw from the
Go module proxy instead; the `minio` SDK the services use speaks to either.
Buckets are plain folders under our data folder, so data survives a restart.
The stack runs before any virtual environment exists, hence no S3 SDK here:
the two requests we need (a health probe and bucket creation) are signed with
AWS Signature Version 4 by hand.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from stacklib.core import Context, Server, StackError, dev_env, run, say

# The one place the version lives: `go install` builds exactly this tag, and
# the binary folder is keyed by it so a bump builds afresh beside the old one.
VERSITYGW_VERSION = "v1.7.0"
VERSITYGW_MODULE = "github.com/versity/versitygw"
VERSITYGW_PACKAGE = f"{VERSITYGW_MODULE}/cmd/versitygw"

HOST = "127.0.0.1"
# versitygw's default region; our signatures must name the same one.
REGION = "us-east-1"
PROBE_TIMEOUT = 3.0


class S3(Server):
    name = "s3"
    ports = (9000,)
    start_timeout = 60.0

    # --- provisioning -----------------------------------------------------

    def binary(self, ctx: Context) -> Path:
        return ctx.cache_dir(self.name) / f"bin-{VERSITYGW_VERSION}" / "versitygw"

    def provision(self, ctx: Context) -> None:
        binary = self.binary(ctx)
        if binary.exists():
            return
        go = find_go()
        cache = ctx.cache_dir(self.name)
        # Build into a staging folder and rename it at the end, so an
        # interrupted build never leaves a binary that `provision` would trust.
        staging = cache / f"bin-{VERSITYGW_VERSION}.part"
        shutil.rmtree(staging, ignore_errors=True)
        env = {
            **os.environ,
            "GOBIN": str(staging),
            # Module and build caches live in our cache too, so CI keeps them
            # and nothing lands in ~/go.
            "GOMODCACHE": str(cache / "gomod"),
            "GOCACHE": str(cache / "gocache"),
            "GOPATH": str(cache / "gopath"),
            # -modcacherw: Go makes its module cache read-only by default, which
            # would stop a non-root user (or CI's cache step) from deleting it.
            "GOFLAGS": f"{os.environ.get('GOFLAGS', '')} -modcacherw".strip(),
            # A static binary: no C toolchain needed, and the posix backend is pure Go.
            "CGO_ENABLED": "0",
        }
        # `go install pkg@version` does not stamp the version the way the
        # project's Makefile does, so `versitygw --version` would say "git".
        ldflags = f"-s -w -X main.Version={VERSITYGW_VERSION} -X main.Build=goproxy"
        say(f"  building versitygw {VERSITYGW_VERSION} from the Go module proxy (a minute or two)")
        run([go, "install", "-trimpath", f"-ldflags={ldflags}",
             f"{VERSITYGW_PACKAGE}@{VERSITYGW_VERSION}"], env=env, capture=True, timeout=1800)
        built = staging / "versitygw"
        # Check the toolchain's own record of what it built, so the stamp
        # above cannot claim a version we did not get.
        info = run([go, "version", "-m", str(built)], env=env, capture=True).stdout
        expected = rf"^\s*mod\s+{re.escape(VERSITYGW_MODULE)}\s+{re.escape(VERSITYGW_VERSION)}\s"
        if not re.search(expected, info, re.MULTILINE):
            raise StackError(f"s3: the built binary is not {VERSITYGW_MODULE} "
                             f"{VERSITYGW_VERSION}:\n{info}")
        shutil.rmtree(binary.parent, ignore_errors=True)
        staging.rename(binary.parent)

    # --- data layout ------------------------------------------------------

    def root_dir(self, ctx: Context) -> Path:
        """The posix backend's top folder: each sub-folder is a bucket."""
        return ctx.data_dir(self.name) / "buckets"

    def sidecar_dir(self, ctx: Context) -> Path:
        """Metadata files, used only where the filesystem lacks user xattrs.

        It sits beside the bucket root, not inside it, or it would show up as a bucket.
        """
        return ctx.data_dir(self.name) / "meta"

    def prepare(self, ctx: Context) -> None:
        self.root_dir(ctx).mkdir(parents=True, exist_ok=True)
        sidecar = self.sidecar_dir(ctx)
        # The posix backend keeps ETags, content types and user metadata in
        # `user.` xattrs, which some filesystems (older tmpfs, some overlay
        # and network mounts) refuse. Then it must keep them in sidecar files.
        # Once chosen, the sidecar stays: switching would orphan the metadata.
        if not sidecar.is_dir() and not user_xattrs_supported(ctx.data_dir(self.name)):
            say(f"  {ctx.data_dir(self.name)} has no user xattrs: metadata goes to {sidecar}")
            sidecar.mkdir(parents=True)

    # --- process ----------------------------------------------------------

    def command(self, ctx: Context) -> list[str]:
        cmd = [
            str(self.binary(ctx)),
            "--port", f"{HOST}:{self.ports[0]}",  # loopback only
            "--region", REGION,
            # Without it every request is logged to stdout, i.e. our log file.
            "--quiet",
            "posix",
        ]
        # Options must precede the folder: versitygw's CLI library stops
        # parsing flags at the first positional argument, so a trailing
        # `--sidecar DIR` is taken for stray arguments and ignored.
        if self.sidecar_dir(ctx).is_dir():
            cmd += ["--sidecar", str(self.sidecar_dir(ctx))]
        return [*cmd, str(self.root_dir(ctx))]

    def environment(self, ctx: Context) -> dict[str, str]:
        access, secret = credentials(ctx)
        # Credentials go by environment rather than argv so they do not show
        # in `ps`. versitygw reads either name of each; setting both stops a
        # stray variable in the caller's environment from taking precedence.
        return {
            "ROOT_ACCESS_KEY_ID": access,
            "ROOT_ACCESS_KEY": access,
            "ROOT_SECRET_ACCESS_KEY": secret,
            "ROOT_SECRET_KEY": secret,
        }

    def healthy(self, ctx: Context) -> bool:
        # A signed ListBuckets proves more than an open port: the S3 layer
        # answers and accepts our root credentials.
        status, body = signed_request(ctx, "GET", "/", port=self.ports[0])
        return status == 200 and b"ListAllMyBucketsResult" in body

    def version(self, ctx: Context) -> str:
        binary = self.binary(ctx)
        if not binary.exists():
            return "versitygw (not built)"
        out = run([str(binary), "--version"], capture=True, check=False, timeout=10).stdout
        match = re.search(r"^Version\s*:\s*(\S+)", out, re.MULTILINE)
        return f"versitygw {match.group(1) if match else 'unknown'}"

    def after_start(self, ctx: Context) -> None:
        bucket = dev_env(ctx)["DMS_S3_BUCKET"]
        path = "/" + bucket
        status, body = signed_request(ctx, "HEAD", path, port=self.ports[0])
        if status == 200:
            return
        if status != 404:
            raise StackError(f"s3: HEAD bucket {bucket} answered {status}")
        # In us-east-1 a PUT without a CreateBucketConfiguration body creates the bucket.
        status, body = signed_request(ctx, "PUT", path, port=self.ports[0])
        # 409 BucketAlreadyOwnedByYou: someone created it between HEAD and PUT.
        if status not in (200, 409):
            raise StackError(f"s3: creating bucket {bucket} answered {status}: "
                             f"{body.decode(errors='replace')[:500]}")
        say(f"  created bucket {bucket}")


def find_go() -> str:
    # The official tarball's location, for shells whose PATH lacks it.
    go = shutil.which("go") or shutil.which("go", path="/usr/local/go/bin")
    if go is None:
        raise StackError("s3: building versitygw needs Go (1.25 or newer; its go.mod says so)")
    return go


def credentials(ctx: Context) -> tuple[str, str]:
    env = dev_env(ctx)
    return env["DMS_S3_ACCESS_KEY"], env["DMS_S3_SECRET_KEY"]


def user_xattrs_supported(directory: Path) -> bool:
    """Whether files in `directory` accept `user.` extended attributes."""
    if not hasattr(os, "setxattr"):  # not Linux
        return False
    fd, probe = tempfile.mkstemp(prefix=".xattr-probe-", dir=directory)
    os.close(fd)
    try:
        os.setxattr(probe, "user.dms.probe", b"1")
        return os.getxattr(probe, "user.dms.probe") == b"1"
    except OSError:
        return False
    finally:
        os.unlink(probe)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def sigv4_headers(method: str, path: str, host: str, access: str, secret: str,
                  payload: bytes = b"", now: datetime | None = None) -> dict[str, str]:
    """Headers that sign a path-style S3 request without a query string (SigV4)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    payload_hash = hashlib.sha256(payload).hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload_hash, "x-amz-date": stamp}
    names = sorted(headers)
    signed_names = ";".join(names)
    canonical_request = "\n".join([
        method,
        quote(path, safe="/-_.~"),
        "",  # no query string
        "".join(f"{name}:{headers[name]}\n" for name in names),
        signed_names,
        payload_hash,
    ])
    scope = f"{day}/{REGION}/s3/aws4_request"
    string_to_sign = "\n".join([
        "AWS4-HMAC-SHA256", stamp, scope,
        hashlib.sha256(canonical_request.encode()).hexdigest(),
    ])
    key = ("AWS4" + secret).encode()
    for part in (day, REGION, "s3", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={access}/{scope}, "
                                f"SignedHeaders={signed_names}, Signature={signature}")
    return headers


def signed_request(ctx: Context, method: str, path: str, *, port: int) -> tuple[int, bytes]:
    """Send one signed request to our server; return its status and body.

    http.client rather than urllib: it honours no proxy variables (a proxy must
    not see loopback traffic) and returns error statuses instead of raising.
    """
    access, secret = credentials(ctx)
    headers = sigv4_headers(method, path, f"{HOST}:{port}", access, secret)
    conn = http.client.HTTPConnection(HOST, port, timeout=PROBE_TIMEOUT)
    try:
        conn.request(method, quote(path, safe="/-_.~"), headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
