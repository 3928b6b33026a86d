"""The production compose file, its Dockerfiles and deploy/prod.env.example, checked statically.

No Docker engine is needed: the files are parsed (YAML, Dockerfile lines, Python constants read
with `ast`) and compared with the rest of the repository, so that production keeps the native
stack's server versions, every service, a health check per container and every setting.

Rules checked here, in the words the compose file uses:
- every service folder under services/ except `common` runs as `<name>-api` and `<name>-worker`,
  built from services/<name>/Dockerfile, at the ports of the native stack;
- a container is a one-shot job when its `restart` is "no": jobs declare `healthcheck.disable`,
  every other container has a real health check;
- `depends_on` waits on `service_healthy`, or `service_completed_successfully` for a job;
- data lives only in named volumes declared at the top level; the only bind mounts allowed are
  read-only mounts of files committed under deploy/ (configuration, never data);
- every image is pinned to a version (our own: `dms-<name>:<package version>`);
- Kafka, OpenSearch, versitygw and PostgreSQL run the native stack's versions;
- only the gateway publishes a port, unless a container sits behind a profile;
- deploy/prod.env.example names every DMS_* setting the services read, and every secret there
  is a placeholder that the services refuse.

`docker compose config` (the last test) needs only the compose CLI plugin, not an engine;
`make test-deps` installs it (built from its pinned source where the docker client lacks it).
Without it that test fails, naming the command, rather than passing unchecked.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from dms_common.settings import refuse_placeholder

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy" / "prod.env.example"
STACK_SERVERS = ROOT / "deploy" / "local" / "stacklib" / "servers"

# Secrets the compose file hands to ingest alone (it signs tokens and seeds the first account).
INGEST_ONLY_SECRETS = ("DMS_JWT_PRIVATE_KEY", "DMS_ADMIN_PASSWORD")
# Settings the services need that no shared settings class declares yet (ingest's own).
EXTRA_SECRETS = ("DMS_JWT_PUBLIC_KEY", "DMS_JWT_PRIVATE_KEY", "DMS_ADMIN_USERNAME",
                 "DMS_ADMIN_PASSWORD")
# Set per container by the compose file rather than in deploy/prod.env.
PER_CONTAINER = ("DMS_SERVICE_NAME", "DMS_WORKER_METRICS_PORT")
STORES = ("kafka", "versitygw", "minio", "opensearch", "postgres")
HEALTH_CONDITIONS = {"service_healthy", "service_completed_successfully"}


# --- loading --------------------------------------------------------------------------------------

@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def service_names() -> list[str]:
    """The DMS services: every folder under services/ with a pyproject.toml, except common."""
    return sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml")
                  if p.parent.name != "common")


def is_job(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


def module_constants(path: Path) -> dict[str, Any]:
    """Top-level `NAME = <literal>` assignments of a Python file, without importing it."""
    constants: dict[str, Any] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    constants[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    continue  # not a literal (an f-string, a call): not a version constant
    return constants


def native(file: str, name: str) -> Any:
    constants = module_constants(STACK_SERVERS / file)
    assert name in constants, f"{file} no longer defines {name}; update this test"
    return constants[name]


def split_image(image: str) -> tuple[str, str]:
    """("repository", "tag") of an image reference; a digest counts as the tag."""
    if "@" in image:
        repository, digest = image.split("@", 1)
        return repository, digest
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:  # no tag at all (a colon only in a registry's port)
        return image, ""
    return repository, tag


def image_tag(service: str) -> str:
    return split_image(services()[service]["image"])[1]


def package_version(service: str) -> str:
    text = (ROOT / "services" / service / "pyproject.toml").read_text()
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    assert match, f"services/{service}/pyproject.toml has no version"
    return match.group(1)


def env_example() -> dict[str, tuple[str, bool]]:
    """Each DMS_* variable of the example: (value, set) — set is False for a commented line."""
    found: dict[str, tuple[str, bool]] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^(#\s*)?(DMS_[A-Z0-9_]+)=(.*)$", line.strip())
        if match:
            found[match.group(2)] = (match.group(3), match.group(1) is None)
    return found


def healthcheck_text(service: dict[str, Any]) -> str:
    return " ".join(str(part) for part in service["healthcheck"]["test"])


# --- the services ---------------------------------------------------------------------------------

def test_every_service_runs_as_an_api_and_a_worker() -> None:
    names = service_names()
    assert names, "no service folders found under services/"
    for name in names:
        for role in ("api", "worker"):
            assert f"{name}-{role}" in services(), f"docker-compose.yml lacks {name}-{role}"


def test_services_use_the_native_stack_ports() -> None:
    ports = {name: (api, metrics) for name, api, metrics in native("services.py", "SERVICES")}
    for name in service_names():
        assert name in ports, f"deploy/local/stacklib/servers/services.py lacks {name}"
        api_port, metrics_port = ports[name]
        api, worker = services()[f"{name}-api"], services()[f"{name}-worker"]
        command = " ".join(api["command"])
        assert f"dms_{name}.main:create_app --factory" in command
        assert f"--port {api_port}" in command and "--host 0.0.0.0" in command
        assert f"http://127.0.0.1:{api_port}/healthz" in healthcheck_text(api)
        assert worker["command"] == ["python", "-m", f"dms_{name}.worker"]
        assert str(worker["environment"]["DMS_WORKER_METRICS_PORT"]) == str(metrics_port)
        assert f"http://127.0.0.1:{metrics_port}/metrics" in healthcheck_text(worker)
        for container in (api, worker):
            assert container["environment"]["DMS_SERVICE_NAME"] == name


def test_services_are_built_from_their_dockerfile_at_their_version() -> None:
    for name in service_names():
        for role in ("api", "worker"):
            container = services()[f"{name}-{role}"]
            assert container["build"] == {"context": ".",
                                          "dockerfile": f"services/{name}/Dockerfile"}
            assert container["image"] == f"dms-{name}:{package_version(name)}"


def test_only_ingest_receives_its_secrets() -> None:
    for name, container in services().items():
        if "env_file" not in container:
            continue
        assert container["env_file"] in ("deploy/prod.env", ["deploy/prod.env"]), name
        environment = container.get("environment") or {}
        assert isinstance(environment, dict), f"{name}: use the mapping form of environment"
        for secret in INGEST_ONLY_SECRETS:
            if name in ("ingest-api", "ingest-worker"):
                assert secret not in environment, f"{name} must get {secret} from prod.env"
            else:
                assert environment.get(secret) == "", f"{name} must blank {secret}"


def test_gateway_routes_to_every_api() -> None:
    gateway = services()["gateway"]
    template = ROOT / "deploy" / "gateway" / "dms.conf.template"
    placeholders = set(re.findall(r"\$\{(DMS_[A-Z_]+)\}", template.read_text()))
    environment = gateway["environment"]
    assert placeholders <= set(environment), "the gateway leaves a template placeholder unset"
    ports = {name: api for name, api, _ in native("services.py", "SERVICES")}
    for name in service_names():
        assert environment[f"DMS_{name.upper()}_UPSTREAM"] == f"{name}-api:{ports[name]}"
        assert gateway["depends_on"][f"{name}-api"]["condition"] == "service_healthy"
    assert str(environment["DMS_GATEWAY_LISTEN"]) == str(native("nginx.py", "PORT"))
    assert ("./deploy/gateway/dms.conf.template:/etc/nginx/templates/default.conf.template:ro"
            in gateway["volumes"])


def test_topics_init_reads_the_topic_list() -> None:
    job = services()["topics-init"]
    assert "./deploy/kafka-topics.txt:/etc/dms/kafka-topics.txt:ro" in job["volumes"]
    script = job["command"][0]
    assert "/etc/dms/kafka-topics.txt" in script and ".dlq" in script
    assert job["image"] == services()["kafka"]["image"]


# --- health, dependencies, volumes, ports ---------------------------------------------------------

def test_every_container_has_a_healthcheck() -> None:
    for name, container in services().items():
        check = container.get("healthcheck")
        assert isinstance(check, dict), f"{name} has no healthcheck"
        if is_job(container):
            assert check == {"disable": True}, f"job {name} should declare healthcheck.disable"
            continue
        assert not check.get("disable"), f"{name} disables its healthcheck"
        test = check.get("test")
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name
        assert container.get("restart") == "unless-stopped", f"{name} should restart"


def test_depends_on_waits_for_health_or_completion() -> None:
    waited_for: set[str] = set()
    for name, container in services().items():
        depends = container.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions, not a list"
        for target, rule in depends.items():
            assert target in services(), f"{name} depends on unknown {target}"
            condition = rule.get("condition")
            assert condition in HEALTH_CONDITIONS, f"{name} -> {target}: {condition}"
            expected = ("service_completed_successfully" if is_job(services()[target])
                        else "service_healthy")
            assert condition == expected, f"{name} -> {target} should be {expected}"
            if rule.get("required", True) is False:
                assert services()[target].get("profiles"), f"{target} is optional but unprofiled"
            waited_for.add(target)
    for name, container in services().items():
        if is_job(container):
            assert name in waited_for, f"nothing waits for job {name}"


def test_service_processes_wait_for_the_stores_and_jobs() -> None:
    for name in service_names():
        for role in ("api", "worker"):
            depends = services()[f"{name}-{role}"]["depends_on"]
            assert {"postgres", "opensearch", "topics-init", "bucket-init"} <= set(depends)


def mounts(container: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) of each volume entry, short or long syntax."""
    found = []
    for entry in container.get("volumes", []):
        if isinstance(entry, str):
            parts = entry.split(":")
            source, target = parts[0], parts[1] if len(parts) > 1 else parts[0]
            read_only = len(parts) > 2 and "ro" in parts[2].split(",")
        else:
            source, target = entry.get("source", ""), entry["target"]
            read_only = bool(entry.get("read_only"))
        found.append((source, target, read_only))
    return found


def test_data_lives_in_named_volumes_and_bind_mounts_are_read_only_repo_files() -> None:
    declared = set(compose().get("volumes") or {})
    used: set[str] = set()
    for name, container in services().items():
        for source, _target, read_only in mounts(container):
            if source.startswith((".", "/", "~")) or not source:
                # A bind mount: only a committed configuration file, read-only.
                assert source.startswith("./deploy/"), f"{name}: bind mount {source}"
                assert (ROOT / source).is_file(), f"{name}: {source} is not a repository file"
                assert read_only, f"{name}: {source} must be mounted read-only"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
    assert used == declared, f"declared but unused volumes: {declared - used}"
    for store in STORES:
        assert any(source in declared for source, _, _ in mounts(services()[store])), store


def test_only_the_gateway_publishes_a_port() -> None:
    for name, container in services().items():
        if "ports" in container and name != "gateway":
            assert container.get("profiles"), f"{name} publishes a port outside a profile"
    assert services()["gateway"]["ports"] == ["8080:8080"]


# --- images and versions --------------------------------------------------------------------------

def test_every_image_is_pinned() -> None:
    for name, container in services().items():
        image = container.get("image")
        assert image, f"{name} names no image"
        _, tag = split_image(image)
        assert tag and tag != "latest", f"{name}: {image} is not pinned"
        assert re.search(r"\d", tag), f"{name}: {image} has no version in its tag"
        if "build" in container:
            assert re.fullmatch(r"dms-[a-z]+:\d+\.\d+\.\d+", image), f"{name}: {image}"


def test_servers_run_the_native_stack_versions() -> None:
    assert image_tag("kafka") == native("kafka.py", "KAFKA_VERSION")
    assert image_tag("opensearch") == native("opensearch.py", "OPENSEARCH_VERSION")
    assert image_tag("versitygw") == native("s3.py", "VERSITYGW_VERSION")
    postgres_major = image_tag("postgres").split(".")[0].split("-")[0]
    assert postgres_major == native("postgres.py", "MAJOR")
    assert split_image(services()["kafka"]["image"])[0] == "apache/kafka"
    assert split_image(services()["opensearch"]["image"])[0] == "opensearchproject/opensearch"
    assert split_image(services()["versitygw"]["image"])[0] == "versity/versitygw"
    assert split_image(services()["postgres"]["image"])[0] == "postgres"


def test_minio_is_only_a_profile() -> None:
    assert services()["minio"].get("profiles") == ["minio"]
    for name, container in services().items():
        rule = container.get("depends_on", {}).get("minio")
        if rule is not None:
            assert rule.get("required") is False, f"{name} must not need minio"


# --- Dockerfiles ----------------------------------------------------------------------------------

def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def uv_version() -> str:
    match = re.search(r"^UV_VERSION\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, "the Makefile no longer pins UV_VERSION"
    return match.group(1)


@pytest.mark.parametrize("name", service_names())
def test_dockerfile_is_multi_stage_pinned_and_locked(name: str) -> None:
    path = ROOT / "services" / name / "Dockerfile"
    assert path.is_file(), f"services/{name}/Dockerfile is missing"
    instructions = dockerfile_instructions(path)
    stages: list[str] = []
    bases: list[str] = []
    for keyword, args in instructions:
        if keyword != "FROM":
            continue
        words = [w for w in args.split() if not w.startswith("--")]
        base = words[0]
        if base not in stages:  # an earlier stage needs no tag
            _, tag = split_image(base)
            assert tag and tag != "latest" and re.search(r"\d", tag), f"FROM {base} is not pinned"
            assert base.startswith("python:3.11"), f"FROM {base}: the workspace is Python 3.11"
            bases.append(base)
        if len(words) == 3 and words[1].upper() == "AS":
            stages.append(words[2])
    assert len(bases) >= 2, "expected a builder and a runtime stage"
    assert len(set(bases)) == 1, "the runtime must use the builder's Python (the venv links it)"
    runs = [args for keyword, args in instructions if keyword == "RUN"]
    syncs = [run for run in runs if "uv sync" in run]
    assert syncs and all("--frozen" in run and f"--package dms-{name}" in run
                         and "--no-dev" in run for run in syncs)
    assert any(f"pip install uv=={uv_version()}" in run for run in runs)
    copies = " ".join(args for keyword, args in instructions if keyword == "COPY")
    for member in (ROOT / "services").glob("*/pyproject.toml"):
        assert str(member.relative_to(ROOT)) in copies, f"{member.parent.name} is not copied"
    final_stage = instructions[max(i for i, (k, _) in enumerate(instructions) if k == "FROM"):]
    users = [args for keyword, args in final_stage if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "runs as root"
    assert any(keyword == "COPY" and "--from=" in args for keyword, args in final_stage)


def test_dockerignore_lets_in_only_the_build_inputs() -> None:
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "*", ".dockerignore should start by excluding everything"
    allowed = ("!pyproject.toml", "!uv.lock", "!services/")
    for line in lines[1:]:
        if line.startswith("!"):
            assert line.startswith(allowed), f".dockerignore lets in {line}"


# --- deploy/prod.env.example ----------------------------------------------------------------------

def settings_fields() -> dict[str, bool]:
    """DMS_<FIELD> -> whether it is a secret, for every settings class under services/.

    Read with `ast`, so that a service's settings count even before its package imports:
    ServiceSettings and, transitively, every class deriving from it.
    """
    classes: list[tuple[list[str], ast.ClassDef]] = []
    for path in (ROOT / "services").glob("*/src/**/*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases]
                classes.append((bases, node))
    settings = {"ServiceSettings"}
    changed = True
    while changed:
        changed = False
        for bases, node in classes:
            if node.name not in settings and settings.intersection(bases):
                settings.add(node.name)
                changed = True
    fields: dict[str, bool] = {}
    for _bases, node in classes:
        if node.name not in settings:
            continue
        for item in node.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                field = item.target.id
                annotation = ast.unparse(item.annotation)
                if field.startswith("_") or field == "model_config" or "ClassVar" in annotation:
                    continue
                variable = f"DMS_{field.upper()}"
                fields[variable] = fields.get(variable, False) or "SecretStr" in annotation
    assert "DMS_DATABASE_URL" in fields, "ServiceSettings was not found under services/"
    return fields


def literal_variables() -> set[str]:
    """DMS_* names that the services' code reads by name (os.environ and the like)."""
    found: set[str] = set()
    for path in (ROOT / "services").glob("*/src/**/*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.fullmatch(r"DMS_[A-Z0-9_]+", node.value):
                    found.add(node.value)
    return found


def test_env_example_names_every_setting() -> None:
    example = env_example()
    wanted = set(settings_fields()) | literal_variables() | set(EXTRA_SECRETS)
    dev_env = (ROOT / "deploy" / "local" / "dev.env").read_text()
    wanted |= set(re.findall(r"^(DMS_[A-Z0-9_]+)=", dev_env, re.MULTILINE))
    missing = sorted(wanted - set(example))
    assert not missing, f"add to deploy/prod.env.example (commented if optional): {missing}"
    for variable in PER_CONTAINER:
        assert not example.get(variable, ("", False))[1], f"{variable} is set per container"


def test_env_example_secrets_are_refused_placeholders() -> None:
    example = env_example()
    secrets = {name for name, secret in settings_fields().items() if secret}
    for variable in sorted(secrets | set(EXTRA_SECRETS)):
        assert variable in example, f"deploy/prod.env.example lacks {variable}"
        value, is_set = example[variable]
        assert is_set, f"{variable} must be set (to a placeholder), not commented out"
        with pytest.raises(ValueError, match="placeholder"):
            refuse_placeholder(value, variable.removeprefix("DMS_").lower())


def test_env_example_points_at_the_compose_servers() -> None:
    example = env_example()
    assert example["DMS_KAFKA_BOOTSTRAP"][0] == "kafka:9092"
    assert example["DMS_S3_ENDPOINT"][0] == "versitygw:9000"
    assert example["DMS_OPENSEARCH_URL"][0] == "http://opensearch:9200"
    assert example["DMS_KAFKA_TOPIC_PREFIX"] == ("", True)


# --- the compose CLI, where it exists -------------------------------------------------------------

def compose_plugin() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True,
                           timeout=60, check=False)
    return probe.returncode == 0


@pytest.mark.parametrize("profile", [None, "minio"])
def test_docker_compose_config_accepts_the_file(tmp_path: Path, profile: str | None) -> None:
    """`docker compose config -q` validates against the compose specification, engine or not.

    Any error it reports fails. It runs on a copy beside a prod.env made from the example, since
    the real deploy/prod.env is a site's own.
    """
    assert compose_plugin(), ("the docker compose plugin is missing: run `make test-deps` "
                              "(deploy/local/compose-plugin) to build it")
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    (tmp_path / "deploy").mkdir()
    shutil.copy(ENV_EXAMPLE, tmp_path / "deploy" / "prod.env")
    command = ["docker", "compose", "-f", str(tmp_path / "docker-compose.yml")]
    if profile:
        command += ["--profile", profile]
    result = subprocess.run([*command, "config", "-q"], capture_output=True, text=True,
                            timeout=120, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # An unescaped `$` in a script would be substituted by compose, with a warning.
    assert "variable is not set" not in result.stderr, result.stderr
