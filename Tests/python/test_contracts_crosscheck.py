"""Cross-check: the Swift schema validator and Python's jsonschema must agree on every case.

Runs Draft202012Validator (with date / date-time format checking) over every fixture in
Contracts/examples plus thousands of generated mutations of the valid fixtures (dropped and
added properties, wrong types, values outside enums, impossible dates, strings one code point
too long, numbers past their bounds ...) and asserts the Swift side, reached through the
hidden `consent-bridge contracts validate --schema X --stdin-jsonl` command, gives the same
verdict for each. One Swift process per schema validates all of that schema's cases.

Needs CONSENT_BRIDGE_BIN (CI sets it). date-time checking in jsonschema needs the
rfc3339-validator package; without it this test installs an equivalent checker of its own,
so the comparison never silently skips formats.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

import schema_formats
from contracts_mutations import mutations_of

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "Contracts"
BIN = os.environ.get("CONSENT_BRIDGE_BIN")
BODY_LIMIT = 256 * 1024  # JSONParseLimits.default.maxBytes

pytestmark = pytest.mark.skipif(
    not BIN, reason="CONSENT_BRIDGE_BIN is not set (CI sets it to the built consent-bridge binary)"
)

def format_checker():
    return schema_formats.format_checker(jsonschema)


def schema_files():
    return sorted((CONTRACTS / "schemas").glob("*.schema.json"))


def fixtures(name):
    cases = []
    for kind in ("valid", "invalid"):
        for path in sorted((CONTRACTS / "examples" / name / kind).glob("*.json")):
            cases.append((f"{kind}/{path.name}", json.loads(path.read_text(encoding="utf-8")), kind == "valid"))
    return cases


def swift_verdicts(schema_path, instances):
    lines = "".join(json.dumps(instance, ensure_ascii=False) + "\n" for instance in instances)
    result = subprocess.run(
        [BIN, "contracts", "validate", "--schema", str(schema_path), "--stdin-jsonl"],
        input=lines.encode("utf-8"),
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    verdicts = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert len(verdicts) == len(instances)
    return verdicts


@pytest.mark.parametrize("schema_path", schema_files(), ids=lambda p: p.name.removesuffix(".schema.json"))
def test_swift_and_jsonschema_agree(schema_path):
    name = schema_path.name.removesuffix(".schema.json")
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=format_checker())

    cases = fixtures(name)
    assert any(expected for _, _, expected in cases), f"{name}: no valid fixtures"
    for label, instance, expected in list(cases):
        if expected:
            for index, (what, mutated) in enumerate(mutations_of(instance, schema)):
                cases.append((f"{label} mutation {index}: {what}", mutated, None))

    python_verdicts = [validator.is_valid(instance) for _, instance, _ in cases]
    swift = swift_verdicts(schema_path, [instance for _, instance, _ in cases])

    disagreements = []
    for (label, instance, expected), python_valid, verdict in zip(cases, python_verdicts, swift):
        oversized = len(json.dumps(instance, ensure_ascii=False).encode("utf-8")) > BODY_LIMIT
        if oversized:
            # The strict parser's body limit comes before any schema: refusing is the contract.
            if verdict.get("parse") != "json.too-large":
                disagreements.append(f"{label}: over {BODY_LIMIT} bytes but not refused as json.too-large")
        elif "parse" in verdict:
            disagreements.append(f"{label}: Swift strict parse refused it ({verdict['parse']})")
        elif verdict["valid"] != python_valid:
            disagreements.append(f"{label}: jsonschema={python_valid} swift={verdict['valid']} {verdict.get('violations', '')}")
        if expected is not None and python_valid != expected:
            disagreements.append(f"{label}: fixture folder says valid={expected}, jsonschema says {python_valid}")
    assert not disagreements, f"{len(disagreements)} of {len(cases)} cases disagree:\n" + "\n".join(disagreements[:40])
    # The generated cases must exercise both verdicts, or the check proves little.
    assert python_verdicts.count(True) >= 1 and python_verdicts.count(False) >= 10


def _run_check(directory):
    return subprocess.run(
        [BIN, "contracts", "check", "--dir", str(directory)], capture_output=True, timeout=120, check=False
    )


def test_contracts_check_cli_passes_on_repo_and_fails_on_broken_copy(tmp_path):
    """`consent-bridge contracts check` exits 0 on the repository and non-zero, listing every
    problem as file#pointer: message, on a copy with an unclassified property (R8) and an
    example in the wrong folder."""
    ok = _run_check(CONTRACTS)
    assert ok.returncode == 0, ok.stdout.decode() + ok.stderr.decode()
    assert ok.stdout.decode().strip().splitlines()[-1].startswith("contracts OK:")

    import shutil

    broken = tmp_path / "Contracts"
    shutil.copytree(CONTRACTS, broken)
    schema_path = broken / "schemas" / "job-status-update.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    first = next(iter(schema["properties"]))
    del schema["properties"][first]["x-classification"]
    schema_path.write_text(json.dumps(schema, ensure_ascii=False, indent=2), encoding="utf-8")
    valid = sorted((broken / "examples" / "consent" / "valid").glob("*.json"))[0]
    shutil.copy(valid, broken / "examples" / "consent" / "invalid" / "wrong-folder.json")

    failed = _run_check(broken)
    output = failed.stdout.decode()
    assert failed.returncode != 0
    assert f"error: schemas/job-status-update.schema.json#/properties/{first}: property has no x-classification" in output
    assert "error: examples/consent/invalid/wrong-folder.json#: invalid example passes the schema" in output
    assert "contracts check FAILED" in output
