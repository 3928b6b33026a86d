"""Kafka 4 in KRaft mode: one node that is both broker and controller.

The jars come from Maven Central (Kafka ships no server configuration in
them), so this module writes `server.properties` and a Log4j2 configuration,
formats the storage once, and creates DMS's topics with their `.dlq` twins
because auto-creation is off (DESIGN.md §4, §6).

Health checks and topic creation speak Kafka's binary protocol directly with
a few old, fixed-layout request versions: starting a JVM tool per check or
per topic would cost seconds each, and the stack may only use the standard
library.
"""

from __future__ import annotations

import base64
import re
import shutil
import socket
import struct
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from stacklib.core import (
    Context,
    Server,
    StackError,
    maven_fetch,
    port_open,
    read_pid,
    run,
    say,
    terminate,
)

# Pinned together with the Python client: tested with aiokafka 0.14.0 (uv.lock).
# Change both at once, and the Kafka image in tests/support/servers.py.
KAFKA_VERSION = "4.1.1"
# Kafka 4.1.1 logs through SLF4J 1.7 and already depends on Log4j2 2.24.3 (api
# and core); the SLF4J 1.x binding must be the same Log4j2 release. Without a
# binding SLF4J falls back to silence and the broker logs nothing.
LOG4J_VERSION = "2.24.3"
COORDINATES = (
    f"org.apache.kafka:kafka_2.13:{KAFKA_VERSION}",
    f"org.apache.logging.log4j:log4j-slf4j-impl:{LOG4J_VERSION}",
    f"org.apache.logging.log4j:log4j-core:{LOG4J_VERSION}",
)

# Kafka 4 needs Java 17 for the broker; the machine also has newer JDKs.
JAVA_17 = Path("/usr/lib/jvm/java-17-openjdk-amd64/bin/java")

HOST = "127.0.0.1"
BROKER_PORT = 9092
CONTROLLER_PORT = 9093
NODE_ID = 1
HEAP = "512m"

# Kafka error codes this module handles by name.
TOPIC_ALREADY_EXISTS = 36
# Where the group coordinator keeps committed offsets.
GROUPS_TOPIC = "__consumer_offsets"
# Topic configs the `.dlq` twin does not inherit: a parking lot keeps every
# failed event, so compaction would throw evidence away.
DLQ_DROPPED_CONFIGS = frozenset({"cleanup.policy"})


class Kafka(Server):
    name = "kafka"
    ports = (BROKER_PORT, CONTROLLER_PORT)
    start_timeout = 120.0

    # -- provisioning and configuration ------------------------------------------------------

    def provision(self, ctx: Context) -> None:
        self._lib(ctx)
        _java()

    def prepare(self, ctx: Context) -> None:
        conf = ctx.conf_dir(self.name)
        log_dir = self._log_dir(ctx)
        (conf / "server.properties").write_text(_server_properties(log_dir))
        (conf / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
        cluster_id = self._cluster_id(ctx)
        if (log_dir / "meta.properties").exists():
            return
        say(f"  formatting KRaft storage in {log_dir} (cluster {cluster_id})")
        # -g: a directory that is formatted after all is left alone, not an error.
        run([*self._java_command(ctx, heap="256m"), "kafka.tools.StorageTool", "format",
             "-t", cluster_id, "-c", str(conf / "server.properties"), "-g"], capture=True)

    def command(self, ctx: Context) -> list[str]:
        conf = ctx.conf_dir(self.name)
        return [*self._java_command(ctx, heap=HEAP), "kafka.Kafka",
                str(conf / "server.properties")]

    def _java_command(self, ctx: Context, *, heap: str) -> list[str]:
        conf = ctx.conf_dir(self.name)
        return [
            str(_java()), f"-Xms{heap}", f"-Xmx{heap}",
            # The GC settings of Kafka's own start script: short pauses keep
            # consumer heartbeats and the KRaft quorum timers on time.
            "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={conf / 'log4j2.properties'}",
            "-cp", f"{self._lib(ctx)}/*",
        ]

    def _lib(self, ctx: Context) -> Path:
        # Cached after the first resolution, so this is cheap on every later call.
        return maven_fetch(ctx, "kafka", COORDINATES)

    def _log_dir(self, ctx: Context) -> Path:
        path = ctx.data_dir(self.name) / "kraft"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _cluster_id(self, ctx: Context) -> str:
        """The cluster id, stable across restarts; formatted storage has the last word."""
        stored = ctx.conf_dir(self.name) / "cluster.id"
        formatted = _read_properties(self._log_dir(ctx) / "meta.properties").get("cluster.id")
        if formatted:
            cluster_id = formatted
        elif stored.exists():
            cluster_id = stored.read_text().strip()
        else:
            cluster_id = _random_cluster_id()
        stored.write_text(cluster_id + "\n")
        return cluster_id

    # -- running -----------------------------------------------------------------------------

    def healthy(self, ctx: Context) -> bool:
        if not (port_open(BROKER_PORT) and port_open(CONTROLLER_PORT)):
            return False
        with _Connection(HOST, BROKER_PORT, timeout=3.0) as conn:
            # The broker accepts connections before it has caught up with the
            # metadata log, but answers requests only once it serves: a
            # metadata answer naming this node at its advertised address
            # means the broker is up.
            metadata = conn.metadata([GROUPS_TOPIC])
            if (NODE_ID, HOST, BROKER_PORT) not in metadata.brokers:
                return False
            # The group coordinator then loads the committed offsets for a
            # moment longer. A consumer asking in that window is told "not
            # coordinator" or "loading" at the request level, which aiokafka
            # 0.14 overlooks: it reports no committed offset and the consumer
            # resets its position. So wait until every partition of the
            # offsets topic answers; before any group exists there is none.
            groups = _probe_groups(metadata.topics.get(GROUPS_TOPIC, 0))
            return all(conn.offset_fetch_error(group) == 0 for group in groups)

    def version(self, ctx: Context) -> str:
        pid = read_pid(ctx.pid_path(self.name))
        found = _version_from_log(ctx.log_path(self.name))
        if found is None and pid is not None:
            found = _version_from_classpath(pid)
        return f"Kafka {found or '?'} (KRaft, node {NODE_ID})"

    def after_start(self, ctx: Context) -> None:
        wanted = _wanted_topics(ctx.root / "deploy" / "kafka-topics.txt")
        # `up` also calls this for a broker that was already running, which
        # may be one that another `up` has only just started.
        self._wait_ready(ctx)
        try:
            self._ensure_topics(wanted)
        except OSError as exc:
            raise StackError(f"kafka: topic setup failed: {exc}") from exc

    def _wait_ready(self, ctx: Context) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                if self.healthy(ctx):
                    return
            except (OSError, StackError, struct.error):
                pass  # not serving yet
            if time.monotonic() > deadline:
                raise StackError(f"kafka: not ready within {self.start_timeout:.0f}s")
            time.sleep(0.5)

    def _ensure_topics(self, wanted: list[TopicSpec]) -> None:
        with _Connection(HOST, BROKER_PORT, timeout=30.0) as conn:
            existing = conn.metadata(None).topics
            for spec in wanted:
                have = existing.get(spec.name)
                if have is not None and have != spec.partitions:
                    say(f"  warning: topic {spec.name} has {have} partitions, "
                        f"deploy/kafka-topics.txt says {spec.partitions}")
            missing = [spec for spec in wanted if spec.name not in existing]
            if not missing:
                return
            conn.create_topics(missing)
            say(f"  created topics: {', '.join(spec.name for spec in missing)}")
            # CreateTopics returns once the controller has committed the
            # topics; the broker learns their leaders a moment later. Waiting
            # here means a producer started right after `up` finds them.
            deadline = time.monotonic() + 30.0
            names = [spec.name for spec in missing]
            while not conn.metadata(names).all_led(names):
                if time.monotonic() > deadline:
                    raise StackError("kafka: created topics got no partition leaders in 30s")
                time.sleep(0.1)

    def stop(self, ctx: Context, pid: int) -> None:
        # A clean shutdown flushes segments and writes a clean-shutdown marker,
        # so the next start skips log recovery; a single node needs only a few
        # seconds, but under load it may need more than the default wait.
        terminate(pid, timeout=60.0)


# -- configuration files ---------------------------------------------------------------------

def _server_properties(log_dir: Path) -> str:
    return f"""\
# Written by deploy/local/stack on every start; edit kafka.py instead.
process.roles=broker,controller
node.id={NODE_ID}
controller.quorum.voters={NODE_ID}@{HOST}:{CONTROLLER_PORT}
listeners=PLAINTEXT://{HOST}:{BROKER_PORT},CONTROLLER://{HOST}:{CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://{HOST}:{BROKER_PORT}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs={log_dir}
# One node: every internal topic must fit on one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests and services start consumers one by one; no point waiting for more.
group.initial.rebalance.delay.ms=0
# Topics come from deploy/kafka-topics.txt only, so a typo fails loudly.
auto.create.topics.enable=false
"""


# Everything to stdout, which the stack sends to var/log/kafka.log. INFO stays
# readable once the loggers that write a line per partition, per start, are
# turned down to WARN: otherwise each restart adds hundreds of lines that say
# a partition loaded fine.
LOG4J2_PROPERTIES = """\
# Written by deploy/local/stack on every start; edit kafka.py instead.
status = warn
name = dms-kafka
# Kafka logs its own shutdown; Log4j's hook would stop logging halfway through it.
shutdownHook = disable
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = STDOUT
# Every setting of the broker and of each internal client, at each start.
logger.quiet0.name = org.apache.kafka.common.config.AbstractConfig
logger.quiet0.level = warn
# Per-request and per-partition traces.
logger.quiet1.name = kafka.request.logger
logger.quiet1.level = warn
logger.quiet2.name = state.change.logger
logger.quiet2.level = warn
logger.quiet3.name = kafka.cluster.Partition
logger.quiet3.level = warn
logger.quiet4.name = kafka.log.LogManager
logger.quiet4.level = warn
logger.quiet5.name = org.apache.kafka.storage.internals.log
logger.quiet5.level = warn
logger.quiet6.name = org.apache.kafka.coordinator.common.runtime.CoordinatorRuntime
logger.quiet6.level = warn
# The controller replays its metadata log at start, a line per record.
logger.quiet7.name = org.apache.kafka.controller.ReplicationControlManager
logger.quiet7.level = warn
logger.quiet8.name = org.apache.kafka.controller.PartitionChangeBuilder
logger.quiet8.level = warn
logger.quiet9.name = org.apache.kafka.controller.ClusterControlManager
logger.quiet9.level = warn
"""


def _read_properties(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    values: dict[str, str] = {}
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _random_cluster_id() -> str:
    """A 22-character base64url UUID, as `StorageTool random-uuid` prints.

    Kafka refuses ids that start with '-' (they read like a command-line flag),
    so draw again in that case.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _java() -> Path:
    if JAVA_17.exists():
        return JAVA_17
    found = shutil.which("java")
    if found is None:
        raise StackError("kafka: no Java found (Kafka 4 needs Java 17 or newer)")
    return Path(found)


# -- topics ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


def _wanted_topics(path: Path) -> list[TopicSpec]:
    """The topics of deploy/kafka-topics.txt, each followed by its `.dlq` twin."""
    specs: list[TopicSpec] = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, *rest = line.split()
        try:
            partitions = int(rest[0])
            configs = dict(item.split("=", 1) for item in rest[1:])
        except (IndexError, ValueError) as exc:
            raise StackError(f"{path}:{number}: expected 'name partitions [key=value...]'") from exc
        specs.append(TopicSpec(name, partitions, configs))
        dlq_configs = {k: v for k, v in configs.items() if k not in DLQ_DROPPED_CONFIGS}
        specs.append(TopicSpec(f"{name}.dlq", 1, dlq_configs))
    return specs


def _java_string_hash(value: str) -> int:
    """Java's String.hashCode, with which Kafka maps a group to its offsets partition."""
    result = 0
    for (unit,) in struct.iter_unpack(">H", value.encode("utf-16-be")):  # Java chars
        result = (31 * result + unit) & 0xFFFFFFFF
    return result


def _probe_groups(partitions: int) -> list[str]:
    """One made-up group id per partition of the offsets topic, to ask each partition."""
    found: dict[int, str] = {}
    candidate = 0
    while len(found) < partitions:
        group = f"dms-stack-probe-{candidate}"
        # Kafka takes the hash's absolute value by masking off the sign bit.
        found.setdefault((_java_string_hash(group) & 0x7FFFFFFF) % partitions, group)
        candidate += 1
    return [found[p] for p in sorted(found)]


# -- version ---------------------------------------------------------------------------------

_VERSION_LINE = re.compile(rb"Kafka version: (\S+)")


def _version_from_log(path: Path) -> str | None:
    """The version the broker printed at its latest start (AppInfoParser's line)."""
    try:
        with open(path, "rb") as log:
            log.seek(0, 2)
            size = log.tell()
            # The line comes early in a start; a start's first lines fit well
            # within the last few MiB unless the broker has been busy for long.
            log.seek(max(0, size - (8 << 20)))
            found = _VERSION_LINE.findall(log.read())
    except OSError:
        return None
    return found[-1].decode() if found else None


def _version_from_classpath(pid: int) -> str | None:
    """The version inside the kafka-clients jar that the running JVM loaded."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        classpath = args[args.index("-cp") + 1]
    except (OSError, ValueError, IndexError):
        return None
    for jar in Path(classpath.removesuffix("/*")).glob("kafka-clients-*.jar"):
        with zipfile.ZipFile(jar) as archive:
            text = archive.read("kafka/kafka-version.properties").decode()
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line).get("version")
    return None


# -- a minimal Kafka protocol client ---------------------------------------------------------
#
# Only non-flexible request versions are used: their fields have fixed-width
# lengths, so a few struct calls encode and decode them. Kafka 4 removed many
# old versions (KIP-896), so each API's version is agreed with the broker via
# ApiVersions v0, which every broker keeps for exactly this purpose.

API_METADATA = 3
API_OFFSET_FETCH = 9
API_API_VERSIONS = 18
API_CREATE_TOPICS = 19
# The versions this client can encode and decode, per API.
CLIENT_VERSIONS = {API_METADATA: (4, 8), API_OFFSET_FETCH: (3, 5), API_CREATE_TOPICS: (2, 4)}


@dataclass
class Metadata:
    brokers: list[tuple[int, str, int]]
    # Topic name -> partition count, for topics the broker knows.
    topics: dict[str, int]
    # Topic name -> whether every partition has a leader.
    led: dict[str, bool]

    def all_led(self, names: list[str]) -> bool:
        return all(self.led.get(name, False) for name in names)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return int(value)

    def int8(self) -> int:
        return self._take(">b")

    def int16(self) -> int:
        return self._take(">h")

    def int32(self) -> int:
        return self._take(">i")

    def int64(self) -> int:
        return self._take(">q")

    def string(self) -> str | None:
        length = self.int16()
        if length < 0:
            return None
        value = self.data[self.pos:self.pos + length].decode()
        self.pos += length
        return value

    def int32_array(self) -> list[int]:
        return [self.int32() for _ in range(max(0, self.int32()))]


def _string(value: str | None) -> bytes:
    if value is None:
        return struct.pack(">h", -1)
    encoded = value.encode()
    return struct.pack(">h", len(encoded)) + encoded


def _array(items: list[bytes] | None) -> bytes:
    if items is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(items)) + b"".join(items)


class _Connection:
    """One blocking connection to the broker, enough for health and topic setup."""

    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.correlation = 0
        self.versions: dict[int, int] = {}

    def __enter__(self) -> _Connection:
        try:
            self._negotiate()
        except BaseException:
            self.sock.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def _request(self, api_key: int, version: int, body: bytes) -> _Reader:
        self.correlation += 1
        # Request header v1: api key, version, correlation id, client id.
        header = struct.pack(">hhi", api_key, version, self.correlation) + _string("dms-stack")
        message = header + body
        self.sock.sendall(struct.pack(">i", len(message)) + message)
        size = struct.unpack(">i", self._read_exactly(4))[0]
        reader = _Reader(self._read_exactly(size))
        if reader.int32() != self.correlation:
            raise StackError("kafka: response out of order")
        return reader

    def _read_exactly(self, size: int) -> bytes:
        chunks: list[bytes] = []
        while size:
            chunk = self.sock.recv(min(size, 1 << 16))
            if not chunk:
                raise ConnectionError("kafka closed the connection")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _negotiate(self) -> None:
        reader = self._request(API_API_VERSIONS, 0, b"")
        error = reader.int16()
        if error:
            raise StackError(f"kafka: ApiVersions failed with error {error}")
        offered: dict[int, tuple[int, int]] = {}
        for _ in range(reader.int32()):
            key, low, high = reader.int16(), reader.int16(), reader.int16()
            offered[key] = (low, high)
        for key, (low, high) in CLIENT_VERSIONS.items():
            broker_low, broker_high = offered.get(key, (0, -1))
            version = min(high, broker_high)
            if version < max(low, broker_low):
                raise StackError(
                    f"kafka: API {key} versions {broker_low}-{broker_high} of the broker do not "
                    f"meet this client's {low}-{high}; update kafka.py's protocol client")
            self.versions[key] = version

    def metadata(self, topics: list[str] | None) -> Metadata:
        """Brokers and topics; `None` asks for every topic, `[]` for none."""
        version = self.versions[API_METADATA]
        body = _array(None if topics is None else [_string(t) for t in topics])
        body += b"\x00"  # allow_auto_topic_creation: never
        if version >= 8:
            body += b"\x00\x00"  # no authorized-operations lists
        reader = self._request(API_METADATA, version, body)
        reader.int32()  # throttle_time_ms
        brokers = []
        for _ in range(reader.int32()):
            node_id, host, port = reader.int32(), reader.string(), reader.int32()
            reader.string()  # rack
            brokers.append((node_id, host or "", port))
        reader.string()  # cluster_id
        reader.int32()  # controller_id
        partitions: dict[str, int] = {}
        led: dict[str, bool] = {}
        for _ in range(reader.int32()):
            error, name = reader.int16(), reader.string() or ""
            reader.int8()  # is_internal
            count, leaders = 0, True
            for _ in range(reader.int32()):
                reader.int16()  # partition error
                reader.int32()  # partition index
                leaders = leaders and reader.int32() >= 0
                if version >= 7:
                    reader.int32()  # leader epoch
                reader.int32_array()  # replicas
                reader.int32_array()  # in-sync replicas
                if version >= 5:
                    reader.int32_array()  # offline replicas
                count += 1
            if version >= 8:
                reader.int32()  # topic authorized operations
            # Unknown topics come back with an error code and no partitions.
            if error == 0:
                partitions[name] = count
                led[name] = leaders and count > 0
        return Metadata(brokers, partitions, led)

    def offset_fetch_error(self, group: str) -> int:
        """The request-level error of fetching a group's committed offsets (0: served)."""
        body = _string(group) + _array(None)  # every partition the group committed
        reader = self._request(API_OFFSET_FETCH, self.versions[API_OFFSET_FETCH], body)
        reader.int32()  # throttle_time_ms
        for _ in range(reader.int32()):
            reader.string()  # topic
            for _ in range(reader.int32()):
                reader.int32()  # partition index
                reader.int64()  # committed offset
                reader.string()  # metadata
                reader.int16()  # partition error
        return reader.int16()

    def create_topics(self, specs: list[TopicSpec]) -> None:
        version = self.versions[API_CREATE_TOPICS]
        topics = [
            _string(spec.name) + struct.pack(">ih", spec.partitions, 1)
            + _array([])  # no manual assignments
            + _array([_string(k) + _string(v) for k, v in spec.configs.items()])
            for spec in specs
        ]
        body = _array(topics) + struct.pack(">i", 30_000) + b"\x00"  # timeout, validate_only
        reader = self._request(API_CREATE_TOPICS, version, body)
        reader.int32()  # throttle_time_ms
        failures = []
        for _ in range(reader.int32()):
            name, error, message = reader.string(), reader.int16(), reader.string()
            # Another `up` may have created it meanwhile: that is the goal anyway.
            if error not in (0, TOPIC_ALREADY_EXISTS):
                failures.append(f"{name}: error {error} {message or ''}".strip())
        if failures:
            raise StackError("kafka: could not create topics: " + "; ".join(failures))
