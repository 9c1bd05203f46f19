"""The command line as an integrator or operator meets it: `decide` (dry run, no broker),
`send --dry-run` (the contract check before anything is sent), `agreements` (R14) and how
`rejections` reports what the operator service refuses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

BIN = os.environ.get("CONSENT_BRIDGE_BIN")
ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "Contracts"
EXAMPLES = CONTRACTS / "examples"

pytestmark = pytest.mark.skipif(not BIN, reason="CONSENT_BRIDGE_BIN is not set (scripts/test sets it)")


def run(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, *arguments], cwd=ROOT, capture_output=True, text=True, timeout=60)


def consent_file(tmp_path: Path, patient: str, categories: list[str]) -> Path:
    consent = json.loads((EXAMPLES / "consent/valid/granted-full-written.json").read_text())
    consent.update(patientId=patient, categories=categories, validFrom="2026-01-01T00:00:00Z", recordedAt="2026-01-01T00:00:00Z")
    consent.pop("validUntil", None)
    path = tmp_path / "consent.json"
    path.write_text(json.dumps(consent))
    return path


def test_decide_shows_what_would_cross_in_which_form_and_why(tmp_path):
    referral = EXAMPLES / "referral/valid/not-sick-listed-minimal.json"
    patient = json.loads(referral.read_text())["patient"]["fodselsnummer"]
    # With a consent to identity and participation: forwarded, the rest left out.
    consent = consent_file(tmp_path, patient, ["identity-and-contact", "ips-participation"])
    decided = run("decide", "--type", "referral", "--event", str(referral), "--consent", str(consent), "--json")
    assert decided.returncode == 0, decided.stderr
    result = json.loads(decided.stdout)
    assert result["outcome"] == "forward" and result["code"] == "accepted"
    # One copy per role the consent names, each to that role's own system (R9, R13).
    copies = {copy["role"]: copy for copy in result["copies"]}
    assert copies["ips-job-specialist"]["destinationTopic"] == "nav.followup.inbound"
    assert copies["ips-job-specialist"]["wouldCross"]["patient"]["fodselsnummer"] == patient
    # Without consent: nothing crosses, with the reason in both languages (R7).
    refused = json.loads(run("decide", "--type", "no.ips.health.referral.v1", "--event", str(referral), "--json").stdout)
    assert refused["outcome"] == "reject" and refused["reason"]["code"] == "referral-requires-consent"
    assert refused["reason"]["english"] and refused["reason"]["norwegian"]
    # A case discussion without consent crosses only in anonymous form (R2).
    discussion = sorted((EXAMPLES / "anonymous-case-discussion/valid").glob("*.json"))[0]
    anonymous = json.loads(run("decide", "--type", "anonymous-case-discussion", "--event", str(discussion), "--json").stdout)
    assert anonymous["outcome"] == "forward-anonymous"
    assert "fodselsnummer" not in json.dumps(anonymous["wouldCross"])
    # Nor the person's number under another name: every 11-digit number of the example is gone.
    numbers = set(re.findall(r"(?<!\d)\d{11}(?!\d)", discussion.read_text(encoding="utf-8")))
    assert numbers, "the example names nobody: the check below would prove nothing"
    assert not numbers & set(re.findall(r"\d{11}", json.dumps(anonymous["wouldCross"])))


def test_decide_applies_the_registry_of_ips_agreements(tmp_path):
    referral = EXAMPLES / "referral/valid/not-sick-listed-minimal.json"
    patient = json.loads(referral.read_text())["patient"]["fodselsnummer"]
    consent = consent_file(tmp_path, patient, ["identity-and-contact", "ips-participation"])
    registry = tmp_path / "agreements.json"
    registry.write_text(json.dumps({"agreements": [
        {"teamId": "fact-oslo-sentrum", "organisationNumber": "974589095", "validFrom": "2025-01-01"}]}))
    result = json.loads(run("decide", "--type", "referral", "--event", str(referral), "--consent", str(consent),
                            "--agreements", str(registry), "--json").stdout)
    assert result["outcome"] == "reject" and result["reason"]["code"] == "no-ips-agreement" and result["reason"]["rule"] == "R14"


def test_send_checks_the_contract_first_and_names_each_broken_field(tmp_path):
    event = json.loads((EXAMPLES / "referral/valid/not-sick-listed-minimal.json").read_text())
    event["patient"]["fodselsnummer"] = "1234"
    event["unexpected"] = True
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(event))
    sent = run("send", "--type", "referral", "--file", str(path), "--bootstrap", "127.0.0.1:1", "--dry-run")
    assert sent.returncode == 65
    assert "/patient/fodselsnummer" in sent.stderr and "pattern" in sent.stderr
    assert "additionalProperties" in sent.stderr or "/unexpected" in sent.stderr
    assert "1234" not in sent.stderr, "the error repeats a value from the message"
    valid = run("send", "--type", "referral", "--file", str(EXAMPLES / "referral/valid/not-sick-listed-minimal.json"), "--dry-run")
    assert valid.returncode == 0 and "valid" in valid.stdout


def test_agreements_list_and_check(tmp_path):
    listed = run("agreements", "list", "--json", "--on", "2026-12-04")
    assert listed.returncode == 0, listed.stderr
    teams = {a["teamId"]: a["holds"] for a in json.loads(listed.stdout)["agreements"]}
    assert teams == {"act-bergen-nord": True, "fact-oslo-sentrum": True}
    assert run("agreements", "check", "--team", "act-bergen-nord", "--organisation", "983974724").returncode == 0
    assert run("agreements", "check", "--team", "fact-oslo-sentrum", "--organisation", "974589095", "--on", "2029-01-01").returncode == 1
    broken = tmp_path / "broken.json"
    broken.write_text('{"agreements": [')
    refused = run("agreements", "check", "--file", str(broken), "--team", "act-bergen-nord", "--organisation", "983974724")
    assert refused.returncode == 65 and "no referral" in refused.stderr


def test_rejections_refuses_what_cannot_be_a_message_id_before_asking_the_service():
    # Port 9 (discard) has no operator service: the refusal must come before any request.
    for arguments in (["show", "bogus/../../x"], ["show", "a" * 201], ["redrive", "kafka:t:0:1", "a b"]):
        result = run("rejections", *arguments, "--token", "viewer-token-0123456789", "--address", "127.0.0.1:9")
        assert result.returncode == 64, result.stderr
        assert "not a message id" in result.stderr, result.stderr
        assert "not reachable" not in result.stderr and "bogus" not in result.stderr, result.stderr


class _OperatorServiceStandIn(BaseHTTPRequestHandler):
    """Answers as the operator service does for a bad filter (400 with a code), and with a bare
    404 (no JSON: not the operator service) for anything else."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path.startswith("/api/rejections?") and "reason=bogus" in self.path:
            body = json.dumps({"error": {"code": "invalid-reason", "message": "reason must be known."}}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
        else:
            body = b""
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


def test_rejections_prints_the_services_code_or_the_plain_status():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OperatorServiceStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"127.0.0.1:{server.server_address[1]}"
    try:
        listed = run("rejections", "list", "--reason", "bogus", "--token", "viewer-token-0123456789",
                     "--address", address)
        assert listed.returncode == 1
        assert listed.stderr.strip() == "refused (400 invalid-reason): reason must be known.", listed.stderr
        shown = run("rejections", "show", "kafka:t:0:1", "--token", "viewer-token-0123456789", "--address", address)
        assert shown.returncode == 1
        assert shown.stderr.strip().lower() == "refused (404): not found", shown.stderr
    finally:
        server.shutdown()


def test_bench_bridge_counts_the_bridges_cpu_apart_from_broker_and_load():
    """Issue 18: `bench bridge --broker process` runs the broker and the load generator in
    processes of their own, so `bridge_cpu_us_per_event` is the bridge's own; the load's share
    is reported beside it. A small paced run: the figures exist and hang together (their size
    depends on the machine and the build, so only what must hold is checked)."""
    result = subprocess.run(
        [BIN, "bench", "bridge", "--events", "150", "--rate", "300", "--broker", "process", "--json",
         "--linger-ms", "2", "--log-format", "json", "--contracts", str(CONTRACTS)],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["broker_in_process"] == 0
    # The producers' linger.ms, when given, is said with the figures it produced.
    assert figures["linger_ms"] == 2, figures
    for key in ("bridge_cpu_us_per_event", "load_cpu_us_per_event", "equal_work_cpu_us_per_event"):
        assert figures[key] > 0, (key, figures)
    # What the bridge's store wrote per event (its WAL and checkpoints; at least the rows).
    assert figures["bridge_written_kb_per_event"] > 0.5, figures
    # The store's and the Kafka clients' threads (found by name; 10 ms ticks) are part of the whole.
    store, kafka = figures["bridge_store_thread_cpu_us_per_event"], figures["bridge_kafka_threads_cpu_us_per_event"]
    assert 0 <= store and 0 <= kafka, figures
    assert store + kafka <= figures["bridge_cpu_us_per_event"] + 20 * 10_000 / 150, figures
    # The host's steal over the bridge's run (/proc/stat), so a slow hour is told from a slow build.
    assert 0 <= figures["bridge_machine_steal_pct"] <= 100, figures
    # Paced at 300/s, no system can deliver faster than it is offered.
    for key in ("passthrough_per_s", "equal_work_per_s", "equal_work_pipelined_per_s", "bridge_per_s"):
        assert 0 < figures[key] <= 330, (key, figures)
    # (The ratio is of the unrounded rates: allow the rounding.)
    assert abs(figures["ratio_equal_work"] - figures["bridge_per_s"] / figures["equal_work_per_s"]) < 0.02, figures
    assert abs(figures["ratio_equal_work_pipelined"]
               - figures["bridge_per_s"] / figures["equal_work_pipelined_per_s"]) < 0.02, figures
    assert "the broker and the load in processes of their own" in result.stderr
    # The executable runs on the allocator it is linked with (Package.swift), and the figures
    # say so: the CPU per event depends on it.
    assert figures["allocator"].startswith("jemalloc 5."), figures
    assert f"allocator {figures['allocator']}" in result.stderr
    # With --log-format the bridge logs as `run` does by default: a line per decision, counted
    # in the figures, which say so.
    assert figures["log_format"] == "json", figures
    assert ", log at info in json" in result.stderr
    decided = [json.loads(line) for line in result.stderr.splitlines()
               if line.startswith("{") and '"Decided"' in line]
    # Every offered event's line (and the warm-up event's, sent before the timed part).
    assert len({line["event.id"] for line in decided}) >= 150, len(decided)
    assert all(line["level"] == "info" and line["decision.outcome"] for line in decided)
    refused = run("bench", "bridge", "--linger-ms", "5000")
    assert refused.returncode != 0 and "--linger-ms" in refused.stderr, refused.stderr


def test_bench_store_measures_the_batch_sizes_asked_for():
    """Issue 18: the PostgreSQL target is at batches of 500 events, so `bench store` takes the
    sizes to measure; each result says how many batches of that size it wrote, and what it
    wrote adds up. A size that is not a positive whole number is refused before anything runs."""
    result = run("bench", "store", "--batch-sizes", "3,40", "--seconds", "0.2", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["engine"] == "sqlite"
    assert [entry["batchSize"] for entry in document["results"]] == [3, 40]
    for entry in document["results"]:
        assert entry["messages"] == entry["batches"] * entry["batchSize"], entry
        assert entry["messagesPerSecond"] > 0 and entry["rows"] >= entry["messages"], entry
    for bad in ("0,5", "five", ""):
        refused = run("bench", "store", "--batch-sizes", bad)
        assert refused.returncode != 0 and "--batch-sizes" in refused.stderr, (bad, refused.stderr)


def test_bench_decide_prints_the_decide_stages_cpu_per_event():
    """Issue 18: `bench decide` measures the pipeline's deciding stage alone (decide, build,
    encode rows) on one thread. Its JSON line holds the two parts and their rate; the report
    shows that every referral was forwarded, so the path measured is the forwarding one."""
    result = run("bench", "decide", "--events", "600", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert sorted(figures) == ["decide_us_per_event", "events_per_cpu_s", "prepare_us_per_event"], figures
    assert figures["decide_us_per_event"] > 0 and figures["prepare_us_per_event"] > 0, figures
    total = figures["decide_us_per_event"] + figures["prepare_us_per_event"]
    assert abs(figures["events_per_cpu_s"] - 1e6 / total) <= 0.02 * figures["events_per_cpu_s"] + 1, figures
    assert "forward: 600" in result.stderr, result.stderr


def test_bench_compare_runs_two_builds_in_interleaved_pairs():
    """Issue 18: figures are compared only between builds measured in the same minutes.
    `scripts/bench-compare` runs a bench command with two binaries alternately and prints
    min / median / max of every figure per build; here both builds are this one."""
    script = ROOT / "scripts" / "bench-compare"
    result = subprocess.run(
        [str(script), BIN, BIN, "--pairs", "2", "--", "bench", "policy", "--decisions", "2000",
         "--contracts", str(CONTRACTS)],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count("pair ") == 4, result.stderr  # base, this; base, this
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("2 interleaved pairs of `bench policy")
    figures = {line.split()[0]: line for line in lines[2:]}
    assert set(figures) == {"decisions_per_s", "p50_us", "p99_us"}, lines
    for line in figures.values():
        base, this = line.split("  →  ")
        for summary in (base.split(None, 1)[1], this):
            low, median, high = (float(value) for value in summary.split(" / "))
            assert 0 < low <= median <= high, line
    refused = subprocess.run([str(script), BIN, BIN, "bench", "policy"], capture_output=True, text=True)
    assert refused.returncode != 0 and "usage" in refused.stderr


@pytest.fixture(scope="module")
def broker():
    """`consent-bridge broker` (the embedded mock cluster) in the background; yields its bootstrap."""
    process = subprocess.Popen([BIN, "broker", "--contracts", str(CONTRACTS)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("bootstrap: "), f"the broker printed {line!r}"
        yield line.split(": ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_simulate_stops_cleanly_after_count_and_says_what_it_sent(broker):
    done = run("simulate", "nav", "--bootstrap", broker, "--count", "3", "--rate", "50")
    assert done.returncode == 0, done.stderr
    assert "ServiceGroupError" not in done.stderr and "unexpectedly" not in done.stderr
    assert "nav: sent 3 events (" in done.stderr, done.stderr
    assert "initial consent" not in done.stderr

    # EPJ: the consents it records first are told apart from the events --count limits
    # (10 persons: 7 have a consent).
    done = run("simulate", "epj", "--bootstrap", broker, "--count", "5", "--rate", "50", "--patients", "10")
    assert done.returncode == 0, done.stderr
    assert "epj: sent 5 events (" in done.stderr, done.stderr
    assert "after 7 initial consents" in done.stderr, done.stderr


def test_health_exits_1_when_it_cannot_read_its_configuration():
    # A container health check knows healthy (0) and unhealthy (1); Docker reserves the rest.
    done = run("health", "--embedded", "S3cret-maybe")
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "embedded" in done.stderr and "S3cret" not in done.stderr + done.stdout
    assert "configuration that cannot be read" in run("health", "--help").stdout.replace("\n", " ").replace("  ", " ")


def test_documented_non_configuration_variables_do_not_stop_other_commands():
    environment = dict(os.environ, CONSENT_BRIDGE_OPERATOR_TOKEN="operator-token-0123456789abcdef",
                       CONSENT_BRIDGE_BENCH_POSTGRES_URL="postgres://bench:S3cret@127.0.0.1:5432/postgres")
    done = subprocess.run([BIN, "config", "check", "--embedded", "true"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env=environment)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("value", ["postgres:/u:pLEAK@h/db", "postgres:u:pLEAK@h/db", "postgres//u:pLEAK@h/db"])
def test_a_store_that_looks_like_a_mistyped_url_is_refused_without_echoing_it(value, tmp_path):
    for command in (["config", "check"], ["config", "print"]):
        done = run(*command, "--embedded", "true", "--bridge-store", value)
        assert done.returncode == 78, (command, done.stdout)
        assert "bridge.store" in done.stderr
        assert "pLEAK" not in done.stdout + done.stderr


def test_every_sealing_key_problem_is_reported_at_once(tmp_path):
    base = tmp_path / "base.conf"
    base.write_text("embedded = true\n")
    done = run("config", "check", "--config", str(base), "--health-sealing-key", "not-base64")
    assert done.returncode == 78
    assert "health.sealing.key-id" in done.stderr
    assert "health.sealing.key:" in done.stderr, done.stderr
    assert "not-base64" not in done.stderr


def test_config_check_reports_a_missing_file_beside_every_other_problem(tmp_path):
    # An outside audit: with a missing registry and a bad batch size, only the batch size was
    # reported; the registry came up after the operator had fixed it (docs/configuration.md:
    # "Every problem is reported at once").
    missing = tmp_path / "no-such-registry.json"
    done = run("config", "check", "--embedded", "true", "--roles", "bridge",
               "--agreements-registry", str(missing), "--pipeline-batch-size", "0")
    assert done.returncode == 78, done.stdout
    assert "agreements.registry" in done.stderr and "pipeline.batch-size" in done.stderr, done.stderr
    assert str(missing) not in done.stderr
    assert run("config", "check", "--embedded", "true", "--roles", "bridge").returncode == 0


@pytest.mark.parametrize("command", [["broker"], ["demo", "--duration", "5"]])
def test_started_outside_the_repository_it_says_where_it_looked_for_the_contracts_and_how_to_point_to_them(
        command, tmp_path):
    """The default contracts directory is relative to the working directory: started elsewhere,
    the process stops at once and says which file it looked for and which option sets it (it
    used to print only `asyncapi.yaml: missing or unreadable`), and leaves no data directory
    of its own behind."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    result = subprocess.run([BIN, *command], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "TMPDIR": str(temporary)})
    assert result.returncode != 0
    assert not list(temporary.iterdir()), "a data directory was left behind"
    assert f"{tmp_path}/Contracts/asyncapi.yaml" in result.stderr, result.stderr
    assert "--contracts" in result.stderr and "contracts.directory" in result.stderr, result.stderr
