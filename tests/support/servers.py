"""One way for tests to reach the real servers.

Where a Docker engine answers, the servers run in testcontainers; elsewhere
(our machines and CI have no engine) they are the native servers that
`deploy/local/stack` provisions on 127.0.0.1. Either way a test receives the
same `Endpoints`. A server that cannot be reached fails the test: nothing here
skips or falls back to a fake.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "deploy" / "local" / "stack"

# Images for the testcontainers path: the same versions as the native stack.
KAFKA_IMAGE = "apache/kafka:4.1.1"
POSTGRES_IMAGE = "postgres:15.14"
OPENSEARCH_IMAGE = "opensearchproject/opensearch:2.19.3"
VERSITYGW_IMAGE = "versity/versitygw:v1.7.0"


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_bucket: str
    opensearch_url: str
    database_url: str
    native: bool

    def as_env(self) -> dict[str, str]:
        """The DMS_* variables a service or command needs to reach these servers."""
        return {
            "DMS_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "DMS_S3_ENDPOINT": self.s3_endpoint,
            "DMS_S3_ACCESS_KEY": self.s3_access_key,
            "DMS_S3_SECRET_KEY": self.s3_secret_key,
            "DMS_S3_BUCKET": self.s3_bucket,
            "DMS_S3_SECURE": "false",
            "DMS_OPENSEARCH_URL": self.opensearch_url,
            "DMS_DATABASE_URL": self.database_url,
        }


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def docker_engine_answers() -> bool:
    if os.environ.get("DMS_TEST_NATIVE") == "1" or shutil.which("docker") is None:
        return False
    try:
        proc = subprocess.run(["docker", "info"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def _port_open(hostport: str) -> bool:
    host, _, port = hostport.rpartition(":")
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, int(port))) == 0


def native_endpoints() -> Endpoints:
    env = {**read_env_file(ROOT / "deploy" / "local" / "dev.env")}
    env.update({k: v for k, v in os.environ.items() if k.startswith("DMS_")})
    return Endpoints(
        kafka_bootstrap=env["DMS_KAFKA_BOOTSTRAP"],
        s3_endpoint=env["DMS_S3_ENDPOINT"],
        s3_access_key=env["DMS_S3_ACCESS_KEY"],
        s3_secret_key=env["DMS_S3_SECRET_KEY"],
        s3_bucket=env["DMS_S3_BUCKET"],
        opensearch_url=env["DMS_OPENSEARCH_URL"],
        database_url=env["DMS_DATABASE_URL"],
        native=True,
    )


def ensure_native_stack() -> Endpoints:
    """Start the native servers if any is down (idempotent), then return their endpoints."""
    endpoints = native_endpoints()
    wanted = {
        "postgres": endpoints.database_url.rsplit("@", 1)[1].split("/")[0],
        "s3": endpoints.s3_endpoint,
        "kafka": endpoints.kafka_bootstrap,
        "opensearch": endpoints.opensearch_url.removeprefix("http://"),
    }
    down = [name for name, hostport in wanted.items() if not _port_open(hostport)]
    if down:
        subprocess.run([str(STACK), "up", *down], check=True)
    return endpoints


def restart_native(name: str) -> None:
    subprocess.run([str(STACK), "down", name], check=True)
    subprocess.run([str(STACK), "up", name], check=True)


def container_endpoints(stack: ExitStack) -> Endpoints:  # pragma: no cover - needs a Docker engine
    """Start the same servers in testcontainers (only where a Docker engine answers)."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    native = native_endpoints()
    kafka: Any = stack.enter_context(KafkaContainer(KAFKA_IMAGE).with_kraft())
    postgres: Any = stack.enter_context(
        PostgresContainer(POSTGRES_IMAGE, username="dms", password="dms", dbname="dms"))
    opensearch: Any = stack.enter_context(
        DockerContainer(OPENSEARCH_IMAGE)
        .with_env("discovery.type", "single-node")
        .with_env("DISABLE_SECURITY_PLUGIN", "true")
        .with_env("OPENSEARCH_JAVA_OPTS", "-Xms1g -Xmx1g")
        .with_exposed_ports(9200))
    wait_for_logs(opensearch, "started", timeout=180)
    s3: Any = stack.enter_context(
        DockerContainer(VERSITYGW_IMAGE)
        .with_env("ROOT_ACCESS_KEY", native.s3_access_key)
        .with_env("ROOT_SECRET_KEY", native.s3_secret_key)
        .with_command("--port :9000 posix /tmp/vgw")
        .with_exposed_ports(9000))
    pg_host = postgres.get_container_host_ip()
    return replace(
        native,
        kafka_bootstrap=kafka.get_bootstrap_server(),
        s3_endpoint=f"{s3.get_container_host_ip()}:{s3.get_exposed_port(9000)}",
        opensearch_url=f"http://{opensearch.get_container_host_ip()}:{opensearch.get_exposed_port(9200)}",
        database_url=f"postgresql+asyncpg://dms:dms@{pg_host}:{postgres.get_exposed_port(5432)}/dms",
        native=False,
    )


def server_endpoints() -> Iterator[Endpoints]:
    if docker_engine_answers():  # pragma: no cover - no engine on our machines
        with ExitStack() as stack:
            yield container_endpoints(stack)
    else:
        yield ensure_native_stack()
