"""R4 as a new user meets it: `consent-bridge demo` (whose EPJ simulator records every
consent the bridge then discloses under) must leave those consents in the health journal.

The simulator once published consents without their CloudEvents headers: the bridge took them
and disclosed under them, the journal refused every one (`missing-cloudevent-headers`), and the
health access report showed "consents (0)" above disclosures "under consent version 1". Here the
demo runs by itself, then the journal's consent history (health.sqlite) is read with sqlite3 and
compared with what the bridge store's consent view (bridge.sqlite) holds."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

BIN = os.environ.get("CONSENT_BRIDGE_BIN")
ROOT = Path(__file__).resolve().parents[2]
DURATION = 15  # s the demo runs by itself

pytestmark = pytest.mark.skipif(not BIN, reason="CONSENT_BRIDGE_BIN is not set (scripts/test sets it)")


def read(path: Path, query: str) -> list[tuple]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        return connection.execute(query).fetchall()


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("simulated-consents") / "data"
    done = subprocess.run(
        [BIN, "demo", "--duration", str(DURATION), "--json", "--http-listen-address", "127.0.0.1:0",
         "--contracts", str(ROOT / "Contracts"), "--data-directory", str(data), "--rate", "4", "--patients", "20"],
        cwd=ROOT, capture_output=True, text=True, timeout=DURATION + 120)
    assert done.returncode == 0, f"demo exited {done.returncode}:\n{done.stderr[-3000:]}"
    return data


def test_the_journal_records_every_consent_the_simulator_sends(demo_data):
    journal = demo_data / "health.sqlite"
    refused = read(journal, "SELECT reason_code, count(*) FROM sink_rejections "
                            "WHERE source_topic = 'health.consent' GROUP BY reason_code")
    assert refused == [], f"the journal refused simulated consents: {refused}"
    rows = read(journal, "SELECT patient_id, consent_id, version, status FROM consent_history")
    assert rows, "the journal recorded no consent"
    assert all(status in ("granted", "withdrawn") for *_, status in rows), rows
    # 20 persons: 14 have a consent recorded before the first event (7 in every 10).
    assert len({patient for patient, *_ in rows}) == 14


def test_the_journal_holds_the_consents_the_bridge_decides_under(demo_data):
    journal: dict[str, dict] = defaultdict(lambda: {"ids": set(), "versions": set()})
    for patient, consent_id, version, _ in read(
            demo_data / "health.sqlite", "SELECT patient_id, consent_id, version, status FROM consent_history"):
        journal[patient]["ids"].add(consent_id)
        journal[patient]["versions"].add(version)
    view = {patient: (consent_id, version) for patient, consent_id, version in read(
        demo_data / "bridge.sqlite", "SELECT subject_key, consent_id, version FROM consent_view")}
    assert view, "the bridge store's consent view is empty"
    # Counts only in the messages: the persons are synthetic, but a test prints no fødselsnummer either.
    differing = len(set(view) ^ set(journal))
    assert differing == 0, f"{differing} persons have a consent in the bridge's view or the journal, not both"
    for patient, (consent_id, version) in view.items():
        assert journal[patient]["ids"] == {consent_id}, "another consent id in the journal"
        # Every version the bridge has seen is in the journal, the one it decides under the latest.
        assert journal[patient]["versions"] == set(range(1, version + 1)), "the journal misses a version"


def test_the_health_access_report_lists_the_consents(demo_data):
    patient, version = read(demo_data / "bridge.sqlite",
                            "SELECT subject_key, version FROM consent_view ORDER BY subject_key LIMIT 1")[0]
    done = subprocess.run(
        [BIN, "access-report", "--side", "health", "--patient", patient, "--allow-synthetic-ids", "--format", "json",
         "--embedded", "true", "--data-directory", str(demo_data)],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    code = done.returncode  # (not `done` itself in the message: its arguments hold the person)
    assert code == 0, done.stderr
    sections = {section["title"]: section["rows"] for section in json.loads(done.stdout)["sections"]}
    assert sections["consents"], "the health access report lists no consent (\"consents (0)\")"
    assert len(sections["consents"]) == version
