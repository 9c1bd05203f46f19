"""Helpers for test_end_to_end.py: the running bridge, Kafka I/O, fixtures from the contracts,
and the contract check of everything the bridge writes.

Everything here is independent of the bridge's own code: Kafka through confluent-kafka,
contracts through jsonschema, stores through sqlite3. Fixtures come from the published
examples in Contracts/examples, never from the bridge's encoders.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import jsonschema
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

import schema_formats

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "Contracts"

# Topics of Contracts/asyncapi.yaml. The bridge writes OUTPUT_TOPICS; EPJ and NAV write the rest.
# NAV has two systems: its case system (the NAV veileder, nav.ips.*, nav.disclosures) and the
# IPS job specialist's follow-up solution (nav.followup.*).
CONSENT_TOPIC = "health.consent"
HEALTH_OUTBOUND = "health.ips.outbound"
NAV_OUTBOUND = "nav.ips.outbound"
NAV_INBOUND = "nav.ips.inbound"
NAV_FOLLOWUP_OUTBOUND = "nav.followup.outbound"
NAV_FOLLOWUP_INBOUND = "nav.followup.inbound"
HEALTH_INBOUND = "health.ips.inbound"
HEALTH_RECEIPTS = "health.ips.receipts"
NAV_RECEIPTS = "nav.ips.receipts"
NAV_FOLLOWUP_RECEIPTS = "nav.followup.receipts"
HEALTH_DISCLOSURES = "health.disclosures"
NAV_DISCLOSURES = "nav.disclosures"
NAV_FOLLOWUP_DISCLOSURES = "nav.followup.disclosures"
REJECTED = "bridge.rejected"
HEALTH_BREACHES = "health.breaches"  # R10: written by every sink, read by the health side
NAV_BREACHES = "nav.breaches"
NAV_OUTBOUND_TOPICS = (NAV_OUTBOUND, NAV_FOLLOWUP_OUTBOUND)
INBOUND_TOPICS = (NAV_INBOUND, NAV_FOLLOWUP_INBOUND, HEALTH_INBOUND)
RECEIPT_TOPICS = (HEALTH_RECEIPTS, NAV_RECEIPTS, NAV_FOLLOWUP_RECEIPTS)
DISCLOSURE_TOPICS = (HEALTH_DISCLOSURES, NAV_DISCLOSURES, NAV_FOLLOWUP_DISCLOSURES)
# Receipts go to the sending system's own receipts topic.
RECEIPTS_OF = {HEALTH_OUTBOUND: HEALTH_RECEIPTS, NAV_OUTBOUND: NAV_RECEIPTS, NAV_FOLLOWUP_OUTBOUND: NAV_FOLLOWUP_RECEIPTS}
OUTPUT_TOPICS = (
    NAV_INBOUND, NAV_FOLLOWUP_INBOUND, HEALTH_INBOUND, HEALTH_RECEIPTS, NAV_RECEIPTS, NAV_FOLLOWUP_RECEIPTS,
    HEALTH_DISCLOSURES, NAV_DISCLOSURES, NAV_FOLLOWUP_DISCLOSURES, REJECTED)

# CloudEvents binary mode: every message of asyncapi.yaml requires these headers.
REQUIRED_HEADERS = ("ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion", "content-type")

# Consumer groups of the sinks (defaults of docs/configuration.md) and the topics they read
# (asyncapi.yaml channel descriptions: "read by ... health sink" / "NAV sink").
SINK_STORES = {
    "health.sqlite": ("consent-bridge-health-sink", (CONSENT_TOPIC, HEALTH_INBOUND, HEALTH_DISCLOSURES, HEALTH_BREACHES)),
    "nav.sqlite": ("consent-bridge-nav-sink", (NAV_INBOUND, NAV_OUTBOUND, NAV_DISCLOSURES, NAV_BREACHES)),
    "followup.sqlite": ("consent-bridge-followup-sink",
                        (NAV_FOLLOWUP_INBOUND, NAV_FOLLOWUP_OUTBOUND, NAV_FOLLOWUP_DISCLOSURES, NAV_BREACHES)),
}
# Which NAV system's store logs what a NAV source topic disclosed (R9).
NAV_STORE_OF = {NAV_OUTBOUND: "nav.sqlite", NAV_FOLLOWUP_OUTBOUND: "followup.sqlite"}

EVENT_DIRECTIONS = ("health-to-nav", "nav-to-health")


# ---- time -----------------------------------------------------------------------------------

def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def wait_until(what: str, condition, timeout: float, interval: float = 0.1, alive=None):
    """Polls `condition` until it returns a truthy value; raises TimeoutError naming `what`.
    `alive` (optional) is called each round so a crashed process fails at once, not at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None:
            alive()
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# ---- synthetic identity numbers -------------------------------------------------------------

_WEIGHTS_1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_WEIGHTS_2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _check_digit(digits, weights):
    remainder = sum(d * w for d, w in zip(digits, weights)) % 11
    check = 11 - remainder
    return 0 if check == 11 else (None if check == 10 else check)


def is_valid_fodselsnummer(text: str) -> bool:
    """Both mod-11 check digits (the rule every Norwegian identity number follows)."""
    if not re.fullmatch(r"[0-9]{11}", text):
        return False
    digits = [int(c) for c in text]
    return _check_digit(digits[:9], _WEIGHTS_1) == digits[9] and _check_digit(digits[:10], _WEIGHTS_2) == digits[10]


def synthetic_fodselsnummer(birth: date, first_individual: int) -> str:
    """A Skatteetaten/Tenor-style synthetic fødselsnummer (month + 80) for `birth`, with the
    first individual number at or after `first_individual` (0-499: born 1900-1999) whose check
    digits exist. Synthetic numbers cannot collide with a real person's."""
    assert 1900 <= birth.year <= 1999, "individual numbers 000-499 encode the 1900s"
    for individual in range(first_individual, 500):
        base = [int(c) for c in f"{birth.day:02d}{birth.month + 80:02d}{birth.year % 100:02d}{individual:03d}"]
        first = _check_digit(base, _WEIGHTS_1)
        if first is None:
            continue
        second = _check_digit(base + [first], _WEIGHTS_2)
        if second is None:
            continue
        number = "".join(map(str, base + [first, second]))
        assert is_valid_fodselsnummer(number)
        return number
    raise ValueError("no valid individual number left")


# ---- contracts ------------------------------------------------------------------------------

def format_checker():
    """The format checker of the Python oracles (schema_formats.py)."""
    return schema_formats.format_checker(jsonschema)


@dataclass
class Contract:
    name: str  # file name without .schema.json = the examples folder
    path: Path
    schema: dict
    validator: jsonschema.Draft202012Validator

    @property
    def ce_type(self) -> str:
        return self.schema["x-ce-type"]

    @property
    def direction(self) -> str:
        return self.schema.get("x-direction", "")

    @property
    def source_topic(self) -> str | None:
        return self.schema.get("x-source-topic")

    @property
    def subject_pointer(self) -> str | None:
        return self.schema.get("x-subject-field")

    @property
    def destination_topics(self) -> list[str]:
        """Where the bridge forwards this contract: its x-destination-topic, or one topic per
        recipient role (x-destinations: role -> that role's own system's inbound topic)."""
        topics = []
        if self.schema.get("x-destination-topic"):
            topics.append(self.schema["x-destination-topic"])
        for topic in (self.schema.get("x-destinations") or {}).values():
            if topic not in topics:
                topics.append(topic)
        return topics

    @property
    def topics_written(self) -> set[str]:
        """The topics asyncapi.yaml lets this contract appear on."""
        topics = set(self.schema.get("x-topics", [])) | set(self.destination_topics)
        if self.schema.get("x-source-topic"):
            topics.add(self.schema["x-source-topic"])
        return topics

    def valid_examples(self) -> list[tuple[str, dict]]:
        folder = CONTRACTS / "examples" / self.name / "valid"
        return [(p.name, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(folder.glob("*.json"))]


def load_contracts() -> dict[str, Contract]:
    """Every schema under Contracts/schemas (subfolders included), by x-ce-type."""
    checker = format_checker()
    contracts: dict[str, Contract] = {}
    for path in sorted((CONTRACTS / "schemas").rglob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        contract = Contract(
            name=path.name.removesuffix(".schema.json"), path=path, schema=schema,
            validator=jsonschema.Draft202012Validator(schema, format_checker=checker))
        assert contract.ce_type not in contracts, f"two schemas claim ce_type {contract.ce_type}"
        contracts[contract.ce_type] = contract
    return contracts


def set_pointer(document: dict, pointer: str, value) -> None:
    """Sets the value at an RFC 6901 JSON pointer whose parents exist."""
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.lstrip("/").split("/")]
    target = document
    for token in tokens[:-1]:
        target = target[int(token)] if isinstance(target, list) else target[token]
    target[tokens[-1]] = value


def get_pointer(document, pointer: str):
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.lstrip("/").split("/")]
    target = document
    for token in tokens:
        target = target[int(token)] if isinstance(target, list) else target[token]
    return target


def parent_of(document: dict, pointer: str) -> dict:
    return get_pointer(document, pointer.rsplit("/", 1)[0]) if pointer.count("/") > 1 else document


# ---- the bridge process ---------------------------------------------------------------------

def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def terminate(process: subprocess.Popen, timeout: float):
    """SIGTERM (graceful), then SIGKILL if it has not exited within `timeout` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def sealing_keys(label: str) -> dict[str, str]:
    """Both sides' sealing keys for a bridge run as deployed (each side its own key, as R9
    requires), or for an embedded run whose quarantine must be opened after it ends. The keys
    are fixed test keys; `label` names their ids (`health-<label>-1`, `nav-<label>-1`)."""
    return {
        "CONSENT_BRIDGE_HEALTH_SEALING_KEY_ID": f"health-{label}-1",
        "CONSENT_BRIDGE_HEALTH_SEALING_KEY": base64.b64encode(bytes(range(32))).decode(),
        "CONSENT_BRIDGE_NAV_SEALING_KEY_ID": f"nav-{label}-1",
        "CONSENT_BRIDGE_NAV_SEALING_KEY": base64.b64encode(bytes(range(100, 132))).decode(),
    }


class BrokerProcess:
    """`consent-bridge broker`: the Kafka-protocol broker in a process of its own, with the
    project's topics, so that it outlives a bridge that is stopped and started again."""

    def __init__(self, binary: str, workdir: Path, port: int | None = None):
        """`port`: a stable bootstrap address (`--port`), so that a broker started again in
        its place is reached at the same address, as a rebuilt cluster behind a load balancer."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.output_path = workdir / "broker.stdout.log"
        self._output = open(self.output_path, "wb")
        self.process = subprocess.Popen(
            [binary, "broker", "--contracts", str(CONTRACTS)] + (["--port", str(port)] if port else []), cwd=workdir,
            stdout=self._output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.bootstrap = None

        def printed():
            if self.process.poll() is not None:
                raise AssertionError(f"consent-bridge broker exited: {self.output_path.read_text()}")
            match = re.search(r"^bootstrap: (\S+)$", self.output_path.read_text(), re.MULTILINE)
            self.bootstrap = match.group(1) if match else None
            return self.bootstrap is not None
        wait_until("the broker's `bootstrap:` line", printed, 60)

    def stop(self):
        terminate(self.process, 30)
        self._output.close()


class BridgeProcess:
    """`consent-bridge run --embedded true` with the bridge and all three sinks, SQLite stores in
    `data_dir`, the HTTP listener on a free loopback port and synthetic ids allowed.

    With `broker` (a `BrokerProcess`'s bootstrap address) it runs the bridge alone, not
    embedded, against that broker, as a deployment does: then `extra_env` must hold both sides'
    sealing keys, and the bridge can be stopped and started again over the same stores."""

    def __init__(self, binary: str, workdir: Path, extra_env: dict[str, str] | None = None, broker: str | None = None):
        self.binary = binary
        self.workdir = workdir
        self.extra_env = dict(extra_env or {})
        self.broker = broker
        self.data_dir = workdir / "data"
        self.http_port = free_loopback_port()
        self.stderr_path = workdir / "bridge.stderr.log"
        self.bootstrap: str | None = None
        self.returncode: int | None = None
        self._stdout_lines: list[str] = []
        self._bootstrap_seen = threading.Event()
        self.process: subprocess.Popen | None = None

    @property
    def environment(self) -> dict[str, str]:
        """The configuration shared with the `disclosures` command. Other CONSENT_BRIDGE_*
        variables of the caller are dropped: the bridge refuses unknown ones, and a stray
        store URL must not point the test at a real database."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_BRIDGE_") or k == "CONSENT_BRIDGE_BIN"}
        env["CONSENT_BRIDGE_DATA_DIRECTORY"] = str(self.data_dir)
        env.update(self.extra_env)
        return env

    def start(self) -> "BridgeProcess":
        arguments = [
            self.binary, "run", "--contracts-directory", str(CONTRACTS),
            "--http-listen-address", f"127.0.0.1:{self.http_port}",
        ]
        if self.broker is None:
            arguments += ["--embedded", "true", "--roles", "bridge,health-sink,nav-sink,followup-sink"]
        else:
            arguments += [
                "--roles", "bridge", "--health-kafka-bootstrap-servers", self.broker,
                "--nav-kafka-bootstrap-servers", self.broker,
                "--agreements-registry", str(CONTRACTS / "registry" / "ips-agreements.development.json"),
            ]
            self.bootstrap = self.broker
            self._bootstrap_seen.set()
        # stderr goes to a file: a pipe nobody drains would block the bridge's logging.
        self._stderr_file = open(self.stderr_path, "ab")  # a restart appends
        self.process = subprocess.Popen(
            arguments, cwd=self.workdir, env=self.environment,
            stdout=subprocess.PIPE, stderr=self._stderr_file, stdin=subprocess.DEVNULL)
        threading.Thread(target=self._drain_stdout, daemon=True).start()
        return self

    def _drain_stdout(self):
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._stdout_lines.append(line)
            match = re.fullmatch(r"bootstrap: (\S+)", line.strip())
            if match and self.bootstrap is None:
                self.bootstrap = match.group(1)
                self._bootstrap_seen.set()

    def stderr_tail(self, characters: int = 6000) -> str:
        try:
            text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no stderr)"
        return text[-characters:]

    def diagnostics(self) -> str:
        return (f"exit code: {self.process.poll() if self.process else None}\n"
                f"stdout: {self._stdout_lines!r}\n--- stderr (tail) ---\n{self.stderr_tail()}")

    def assert_alive(self):
        if self.process.poll() is not None:
            raise AssertionError(f"consent-bridge exited unexpectedly\n{self.diagnostics()}")

    def wait_for_bootstrap(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while not self._bootstrap_seen.wait(0.1):
            self.assert_alive()
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no `bootstrap: HOST:PORT` line on stdout within {timeout} s\n{self.diagnostics()}")
        return self.bootstrap

    def operator_api(self, path: str, token: str, method: str = "GET") -> dict | str:
        """One request to the operator service over HTTP with a bearer token: the decoded JSON
        body, or the text of `/metrics`."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}{path}", method=method,
            headers={"Authorization": f"Bearer {token}"}, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read().decode("utf-8")
        return body if path == "/metrics" else json.loads(body)

    def wait_until_ready(self, timeout: float = 90):
        url = f"http://127.0.0.1:{self.http_port}/health/ready"

        def ready():
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    return response.status == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                return False

        try:
            wait_until(f"GET {url} = 200", ready, timeout, interval=0.2, alive=self.assert_alive)
        except TimeoutError as error:
            raise AssertionError(f"{error}\n{self.diagnostics()}") from None

    def stop(self, timeout: float = 45) -> int:
        """SIGTERM (graceful: drain and close the stores), then SIGKILL if it hangs."""
        if self.process is None:
            return -1
        terminate(self.process, timeout)
        self.returncode = self.process.returncode
        self._stderr_file.close()
        return self.returncode

    def store_path(self, name: str) -> Path:
        return self.data_dir / name


@contextlib.contextmanager
def read_only(path: Path):
    """A read-only connection, closed afterwards: the test looks, it never writes a store
    (and holds no snapshot that would keep the bridge's checkpoints from finishing)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    connection.row_factory = sqlite3.Row
    try:
        yield connection
    finally:
        connection.close()


def table_columns(connection: sqlite3.Connection, table: str) -> list[str]:
    return [row["name"] for row in connection.execute(f"PRAGMA table_info({table})")]


def require_columns(connection: sqlite3.Connection, table: str, *columns: str) -> None:
    present = table_columns(connection, table)
    missing = [c for c in columns if c not in present]
    assert not missing, f"table {table} has no column(s) {missing}; it has {present}"


# ---- Kafka ----------------------------------------------------------------------------------

@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    def header_values(self, name: str) -> list[str]:
        return [(v or b"").decode("utf-8", "replace") for n, v in self.headers if n == name]

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if len(values) == 1 else None

    @property
    def ce_id(self) -> str | None:
        return self.header("ce_id")

    @property
    def ce_type(self) -> str | None:
        return self.header("ce_type")

    def all_bytes(self) -> bytes:
        """Key, header names and values, and body: everything a recipient can read."""
        parts = [self.key or b"", self.value or b""]
        for name, value in self.headers:
            parts += [name.encode("utf-8"), value or b""]
        return b"\x00".join(parts)

    def json(self):
        return strict_json(self.value)

    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


def strict_json(data: bytes | None):
    """json.loads that refuses what the contracts' JSON does not allow: duplicate keys and
    NaN/Infinity (Python accepts both by default)."""
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        duplicates = {k for k in keys if keys.count(k) > 1}
        if duplicates:
            raise ValueError(f"duplicate keys {sorted(duplicates)}")
        return dict(pairs)

    def no_constants(name):
        raise ValueError(f"non-JSON number {name}")

    if data is None:
        raise ValueError("no body (tombstone)")
    return json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constants)


def producer(bootstrap: str, **overrides) -> Producer:
    config = {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5}
    config.update(overrides)
    return Producer(config)


def _consumer(bootstrap: str) -> Consumer:
    # A fresh group that never commits: this reader must not disturb anyone's offsets.
    return Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"e2e-reader-{uuid.uuid4()}", "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "fetch.wait.max.ms": 10, "enable.partition.eof": False,
    })


def _partitions(consumer: Consumer, topics) -> list[TopicPartition]:
    metadata = consumer.list_topics(timeout=10)
    partitions = []
    for topic in topics:
        described = metadata.topics.get(topic)
        assert described is not None and described.error is None, f"topic {topic} is missing on the broker"
        partitions += [TopicPartition(topic, p) for p in sorted(described.partitions)]
    return partitions


def high_watermarks(bootstrap: str, topics) -> dict[tuple[str, int], int]:
    consumer = _consumer(bootstrap)
    try:
        return {(tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10, cached=False)[1]
                for tp in _partitions(consumer, topics)}
    finally:
        consumer.close()


def _to_record(message) -> Record:
    return Record(message.topic(), message.partition(), message.offset(), message.key(), message.value(),
                  list(message.headers() or []))


def read_everything(bootstrap: str, topics, timeout: float = 30) -> dict[str, list[Record]]:
    """Every record of `topics` from the beginning up to the high watermarks taken first."""
    consumer = _consumer(bootstrap)
    try:
        partitions = _partitions(consumer, topics)
        targets = {}
        for tp in partitions:
            low, high = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
            if high > low:
                targets[(tp.topic, tp.partition)] = high
        records: dict[str, list[Record]] = {topic: [] for topic in topics}
        if not targets:
            return records
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for (t, p) in targets])
        done: set[tuple[str, int]] = set()
        deadline = time.monotonic() + timeout
        while len(done) < len(targets):
            if time.monotonic() > deadline:
                missing = {k: v for k, v in targets.items() if k not in done}
                raise TimeoutError(f"could not read up to the high watermarks of {missing}")
            for message in consumer.consume(500, 0.2):
                if message.error():
                    raise KafkaException(message.error())
                key = (message.topic(), message.partition())
                if key in targets and message.offset() < targets[key]:
                    records[message.topic()].append(_to_record(message))
                    if message.offset() + 1 >= targets[key]:
                        done.add(key)
            # Positions also cover offsets without a record (control records, compaction).
            for tp in consumer.position([TopicPartition(t, p) for (t, p) in targets if (t, p) not in done]):
                if tp.offset >= 0 and tp.offset >= targets[(tp.topic, tp.partition)]:
                    done.add((tp.topic, tp.partition))
        for topic in records:
            records[topic].sort(key=lambda r: (r.partition, r.offset))
        return records
    finally:
        consumer.close()


class ReceiptWatcher:
    """Reads every receipt topic from the beginning and notes when each messageId's receipt
    was first seen. Start it before producing when receipt latency matters."""

    def __init__(self, bootstrap: str):
        self.consumer = _consumer(bootstrap)
        self.consumer.assign([TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING)
                              for tp in _partitions(self.consumer, RECEIPT_TOPICS)])
        self.receipts: dict[str, tuple[str, dict]] = {}  # messageId -> (topic, body)
        self.seen_at: dict[str, float] = {}  # messageId -> time.monotonic()
        self.unreadable: list[str] = []

    def poll(self, seconds: float = 0.1):
        for message in self.consumer.consume(500, seconds):
            if message.error():
                raise KafkaException(message.error())
            now = time.monotonic()
            try:
                body = strict_json(message.value())
                message_id = body["messageId"]
            except (ValueError, KeyError, TypeError) as error:
                self.unreadable.append(f"{message.topic()}[{message.partition()}]@{message.offset()}: {error}")
                continue
            self.receipts.setdefault(message_id, (message.topic(), body))
            self.seen_at.setdefault(message_id, now)

    def wait_for(self, message_ids, timeout: float, alive=None) -> set[str]:
        """Polls until every id has a receipt or `timeout` passes; returns the ids still missing."""
        wanted = set(message_ids)
        deadline = time.monotonic() + timeout
        while not wanted <= self.receipts.keys() and time.monotonic() < deadline:
            if alive is not None:
                alive()
            self.poll(0.1)
        return wanted - self.receipts.keys()

    def close(self):
        self.consumer.close()


# ---- what was published ---------------------------------------------------------------------

@dataclass
class PublishedEvent:
    ce_id: str
    ce_type: str
    contract: str
    example: str
    state: str  # consent state of the subject: full / partial / none / withdrawn
    subject: str
    topic: str
    direction: str
    body: dict = field(repr=False)
    sent_at: float | None = None  # monotonic time of the delivery report

    @property
    def label(self) -> str:
        return f"{self.contract}/{self.example} [{self.state}]"


def cloud_event_headers(ce_id: str, ce_type: str, source: str) -> list[tuple[str, bytes]]:
    return [
        ("ce_id", ce_id.encode()), ("ce_type", ce_type.encode()), ("ce_source", source.encode()),
        ("ce_time", rfc3339(utc_now()).encode()), ("ce_specversion", b"1.0"), ("content-type", b"application/json"),
    ]


def source_of(topic: str) -> str:
    return "urn:no:ips:test:epj" if topic.startswith("health.") else "urn:no:ips:test:nav-fagsystem"


def publish(prod: Producer, items, timeout: float = 30):
    """Produces (topic, key, body bytes, headers, on_sent) items and waits for every delivery
    report; returns the errors by index (empty when everything reached the broker)."""
    errors: dict[int, str] = {}

    def report(index, callback):
        def on_delivery(error, _message):
            if error is not None:
                errors[index] = str(error)
            elif callback is not None:
                callback(time.monotonic())
        return on_delivery

    for index, (topic, key, value, headers, callback) in enumerate(items):
        prod.produce(topic, key=key, value=value, headers=headers, on_delivery=report(index, callback))
        prod.poll(0)
    remaining = prod.flush(timeout)
    assert remaining == 0, f"{remaining} messages not delivered within {timeout} s"
    return errors


def event_from_example(
    contract: Contract, example_name: str, example: dict, state: str, patient: "Patient"
) -> PublishedEvent:
    """The example with the subject set to `patient` and a fresh eventId / ce_id. The
    subject's birthDate (where the contract has one) follows the patient, so the event stays
    internally consistent."""
    body = copy.deepcopy(example)
    set_pointer(body, contract.subject_pointer, patient.fnr)
    holder = parent_of(body, contract.subject_pointer)
    if "birthDate" in holder:
        holder["birthDate"] = patient.birth.isoformat()
    ce_id = str(uuid.uuid4())
    if "eventId" in body:
        body["eventId"] = str(uuid.uuid4())
    errors = list(contract.validator.iter_errors(body))
    assert not errors, f"fixture {contract.name}/{example_name} no longer matches its schema: {errors[0].message}"
    return PublishedEvent(
        ce_id=ce_id, ce_type=contract.ce_type, contract=contract.name, example=example_name, state=state,
        subject=patient.fnr, topic=contract.source_topic, direction=contract.direction, body=body)


@dataclass
class Patient:
    state: str
    birth: date
    fnr: str


# ---- consent records ------------------------------------------------------------------------

def consent_record(example: dict, patient: Patient, consent_id: str, version: int, recorded: datetime,
                   valid_for_days: int | None = 365) -> dict:
    """A consent example re-targeted to `patient`, recorded at `recorded` and in force from then
    (validUntil, where the example has one, a year later: the examples' own dates expire)."""
    record = copy.deepcopy(example)
    record.update(patientId=patient.fnr, consentId=consent_id, version=version,
                  recordedAt=rfc3339(recorded), validFrom=rfc3339(recorded))
    if "validUntil" in record and valid_for_days is not None:
        record["validUntil"] = rfc3339(recorded + timedelta(days=valid_for_days))
    return record


def consent_example(name: str) -> dict:
    return json.loads((CONTRACTS / "examples" / "consent" / "valid" / name).read_text(encoding="utf-8"))


def wait_for_consent_view(bridge: BridgeProcess, expected: dict[str, int], timeout: float = 30):
    """Waits until the bridge's persisted consent view holds `expected` (patient -> version).
    The bridge also gates each event batch on the consent topic's high watermarks, so this
    wait only keeps a slow start from being mistaken for a consent bug."""
    path = bridge.store_path("bridge.sqlite")

    def caught_up():
        if not path.exists():
            return False
        try:
            with read_only(path) as db:
                query = "SELECT subject_key, version FROM consent_view"
                rows = {r["subject_key"]: r["version"] for r in db.execute(query)}
        except sqlite3.OperationalError:
            return False  # not migrated yet
        return all(rows.get(subject) == version for subject, version in expected.items())

    wait_until("the bridge's consent view", caught_up, timeout, interval=0.1, alive=bridge.assert_alive)


def wait_for_outbox_settled(bridge: BridgeProcess, timeout: float = 30):
    """Waits until the relay has settled every outbox row (docs/architecture.md: the view
    outbox_status). Receipts alone do not prove that the other producer's rows (e.g. on
    nav.ips.inbound) are visible yet."""
    path = bridge.store_path("bridge.sqlite")

    def settled():
        with read_only(path) as db:
            try:
                return db.execute("SELECT COUNT(*) FROM outbox_status WHERE status = 'pending'").fetchone()[0] == 0
            except sqlite3.OperationalError as error:
                raise TimeoutError(f"cannot tell whether the relay has settled (bridge.sqlite: {error})") from None

    wait_until("the relay to publish every outbox row", settled, timeout, interval=0.1, alive=bridge.assert_alive)


def wait_for_sinks(bridge: BridgeProcess, bootstrap: str, timeout: float = 30):
    """Waits until every sink has stored offsets at the high watermarks of every topic it
    read (records refused by a sink move its offsets too), so the stores are complete."""
    def caught_up():
        for store, (group, topics) in SINK_STORES.items():
            highs = {k: v for k, v in high_watermarks(bootstrap, topics).items() if v > 0}
            with read_only(bridge.store_path(store)) as db:
                stored = {(r["topic"], r["partition_id"]): r["next_offset"] for r in db.execute(
                    "SELECT topic, partition_id, next_offset FROM consumer_offsets WHERE consumer_group = ?", (group,))}
            if any(stored.get(k, 0) < high for k, high in highs.items()):
                return False
        return True

    wait_until("the health, NAV case and follow-up sinks to reach the high watermarks", caught_up, timeout, interval=0.2,
               alive=bridge.assert_alive)


# ---- contract check of the bridge's output --------------------------------------------------

class FailureReport:
    """Failures grouped by (ce_type, error), counted, with one example each."""

    def __init__(self):
        self.groups: dict[tuple[str, str], list[str]] = defaultdict(list)

    def add(self, ce_type: str | None, error: str, example: str):
        self.groups[(ce_type or "(no ce_type)", error)].append(example)

    def __bool__(self):
        return bool(self.groups)

    def total(self) -> int:
        return sum(len(v) for v in self.groups.values())

    def render(self, title: str) -> str:
        lines = [f"{title}: {self.total()} failure(s) in {len(self.groups)} group(s)"]
        for (ce_type, error), examples in sorted(self.groups.items()):
            lines.append(f"  [{ce_type}] {error}  x{len(examples)}")
            lines.append(f"      e.g. {examples[0]}")
        return "\n".join(lines)


def _schema_path(error: jsonschema.ValidationError) -> str:
    # Array indices collapse to [] so the same fault in many records forms one group.
    return "/" + "/".join("[]" if isinstance(p, int) else str(p) for p in error.absolute_path)


def check_record_against_contract(record: Record, contracts: dict[str, Contract], checker, report: FailureReport):
    where = f"{record.where()} ce_id={record.header_values('ce_id')}"
    ce_types = record.header_values("ce_type")
    ce_type = ce_types[0] if ce_types else None

    # Headers: CloudEvents binary mode as asyncapi.yaml's message headers describe it.
    for name in REQUIRED_HEADERS:
        count = len(record.header_values(name))
        if count != 1:
            report.add(ce_type, f"header {name} present {count} times (want exactly 1)", where)
    if record.header_values("ce_specversion") not in ([], ["1.0"]):
        report.add(ce_type, "header ce_specversion is not '1.0'",
                   f"{where} value={record.header_values('ce_specversion')}")
    if record.header_values("content-type") not in ([], ["application/json"]):
        report.add(ce_type, "header content-type is not application/json",
                   f"{where} value={record.header_values('content-type')}")
    for value in record.header_values("ce_time"):
        if not checker.conforms(value, "date-time"):
            report.add(ce_type, "header ce_time is not an RFC 3339 date-time", f"{where} value={value!r}")

    if ce_type is None:
        report.add(None, "no ce_type header: no contract to validate the body against", where)
        return
    contract = contracts.get(ce_type)
    if contract is None:
        report.add(ce_type, "ce_type names no schema in Contracts/schemas", where)
        return
    if record.topic not in contract.topics_written:
        report.add(ce_type, f"on topic {record.topic}, not one of its contract's topics "
                   f"{sorted(contract.topics_written)}", where)
    try:
        body = record.json()
    except (ValueError, UnicodeDecodeError) as error:
        report.add(ce_type, f"body is not JSON: {error}", where)
        return
    for error in contract.validator.iter_errors(body):
        message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
        report.add(ce_type, f"{_schema_path(error)}: {error.validator} ({contract.path.name})", f"{where}: {message}")
