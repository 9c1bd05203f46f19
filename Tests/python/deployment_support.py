"""Helpers for test_deployment.py: load the deployment files and the documented key table."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
README = ROOT / "README.md"
ASYNCAPI = ROOT / "Contracts" / "asyncapi.yaml"
CONFIG_DOC = ROOT / "docs" / "configuration.md"
TOPICS = ROOT / "deploy" / "kafka" / "topics.txt"
ACLS = ROOT / "deploy" / "kafka" / "acls.txt"
LINT_CONFIG = ROOT / "deploy" / "compose-lint.yml"
BRIDGE_IMAGE = "consent-bridge"


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def bridge_services(spec: dict) -> dict[str, dict]:
    """Services that run the consent-bridge image (built from this repository)."""
    return {
        name: service
        for name, service in spec["services"].items()
        if str(service.get("image", "")).split(":")[0] == BRIDGE_IMAGE or "build" in service
    }


@dataclass(frozen=True)
class DocumentedKey:
    name: str
    environment: str
    flag: str
    default: str | None
    secret: bool


def documented_keys() -> dict[str, DocumentedKey]:
    """The generated key table of docs/configuration.md, by environment variable name."""
    text = CONFIG_DOC.read_text()
    begin = text.index("<!-- configuration-keys:begin")
    end = text.index("<!-- configuration-keys:end -->")
    keys = {}
    for line in text[begin:end].splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        unquote = lambda cell: cell.strip("`") if cell.startswith("`") else None  # noqa: E731
        key = DocumentedKey(
            name=unquote(cells[0]),
            environment=unquote(cells[1]),
            flag=unquote(cells[2]),
            default=unquote(cells[4]),
            secret=cells[5] == "yes",
        )
        keys[key.environment] = key
    return keys


def topic_table() -> dict[str, tuple[int, dict[str, str]]]:
    """deploy/kafka/topics.txt: topic -> (partitions, configs)."""
    topics = {}
    for line in TOPICS.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, partitions, configs = line.split()
        topics[name] = (int(partitions), dict(item.split("=", 1) for item in configs.split(",")))
    return topics


@dataclass(frozen=True)
class Acl:
    principal: str
    operation: str
    resource: str
    name: str
    pattern: str


def acl_table() -> list[Acl]:
    acls = []
    for line in ACLS.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        acls.append(Acl(*line.split()))
    return acls


def asyncapi_topics() -> dict[str, dict]:
    """Contracts/asyncapi.yaml channels: topic address -> its Kafka settings (x-kafka, or
    bindings.kafka as a fallback), whatever the channel ids are."""
    spec = yaml.safe_load(ASYNCAPI.read_text())
    topics = {}
    for channel_id, channel in (spec.get("channels") or {}).items():
        address = channel.get("address") or channel_id
        settings = channel.get("x-kafka")
        if settings is None:
            settings = (channel.get("bindings") or {}).get("kafka") or {}
        topics[address] = settings
    return topics


def asyncapi_kafka_configs(settings: dict) -> tuple[int | None, dict[str, str]]:
    """(partitions, topic configs) from one channel's x-kafka block, tolerant of nesting
    configs under `configs`/`topicConfiguration` and of cleanup.policy given as a list."""
    partitions = settings.get("partitions")
    configs: dict[str, str] = {}
    for source in (settings, settings.get("configs") or {}, settings.get("topicConfiguration") or {}):
        for key, value in source.items():
            if key in ("topic", "partitions", "replicas", "replicationFactor", "replication-factor", "configs",
                       "topicConfiguration", "bindingVersion", "key", "description"):
                continue
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            if isinstance(value, bool):
                value = str(value).lower()
            configs[key] = str(value)
    return (int(partitions) if partitions is not None else None), configs


def generate_secrets(directory: Path) -> dict[str, str]:
    subprocess.run(["sh", str(ROOT / "deploy" / "generate-secrets.sh"), str(directory)], check=True,
                   capture_output=True, text=True)
    return {path.name: path.read_text() for path in directory.iterdir() if not path.name.startswith(".")}


def stage_compose_project(tmp: Path) -> Path:
    """A copy of docker-compose.yml and deploy/ with freshly generated secrets."""
    shutil.copy(COMPOSE, tmp / "docker-compose.yml")
    real_secrets = lambda directory, names: [  # noqa: E731  (never copy a developer's real secrets)
        n for n in names if Path(directory).name == "secrets" and not n.endswith(".example") and n != ".gitignore"]
    shutil.copytree(ROOT / "deploy", tmp / "deploy", ignore=real_secrets)
    generate_secrets(tmp / "deploy" / "secrets")
    return tmp


def is_aes256_key(text: str) -> bool:
    try:
        return len(base64.b64decode(text, validate=True)) == 32
    except ValueError:
        return False


def readme_build_commands() -> list[str]:
    """`swift build …` commands (fenced lines or inline code) in README.md outside the
    production section (the lead's part)."""
    text = README.read_text()
    text = re.sub(r"<!-- production:begin -->.*?<!-- production:end -->", "", text, flags=re.S)
    commands = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.strip().lstrip("$ ").strip()
            if line.startswith("swift build"):
                commands.append(line)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    commands += [span.strip() for span in re.findall(r"`(swift build[^`]*)`", text)]
    return commands


def dockerfile_stages() -> list[tuple[str, list[str]]]:
    """(FROM line, RUN commands with continuations joined) per stage."""
    stages: list[tuple[str, list[str]]] = []
    logical = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    for line in logical.splitlines():
        line = line.strip()
        if line.startswith("FROM "):
            stages.append((line, []))
        elif stages:
            stages[-1][1].append(line)
    return stages


def bridge_binary() -> str | None:
    path = os.environ.get("CONSENT_BRIDGE_BIN")
    return path if path and os.access(path, os.X_OK) else None
