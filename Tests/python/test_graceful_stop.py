"""A graceful stop (SIGTERM, as `docker stop` sends) while the bridge is still working through a
backlog, the way an operator meets it: the real `consent-bridge run` (the bridge alone, SQLite,
as deployed) against `consent-bridge broker` in a process of its own.

The process must exit 0 with nothing recorded left unpublished: the pipelines stop deciding
first, and the relay then publishes everything they recorded. Checked from outside: the bridge
store's outbox (the view `outbox_status`) and what an independent client reads on NAV's topics.
Until 2026-12-07 a pipeline cancelled mid-batch rethrew its cancellation, so the service group
cancelled every other service, the relay's drain among them.

Needs CONSENT_BRIDGE_BIN (CI sets it to the debug binary); skipped only without it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections import Counter
from datetime import date, timedelta

import pytest

from e2e_support import (
    CONSENT_TOPIC, INBOUND_TOPICS, BridgeProcess, BrokerProcess, Patient, cloud_event_headers, consent_example,
    consent_record, event_from_example, load_contracts, producer, publish, read_everything, read_only, sealing_keys,
    source_of, synthetic_fodselsnummer, utc_now, wait_until,
)

BIN = os.environ.get("CONSENT_BRIDGE_BIN")

pytestmark = pytest.mark.skipif(
    not BIN, reason="CONSENT_BRIDGE_BIN is not set (CI sets it to the built consent-bridge binary)"
)

CE_TYPE = "no.ips.health.referral.v1"
BACKLOG = 20_000
# SIGTERM once this many are decided: well inside the backlog, so the pipelines are deciding.
STOP_AFTER = 100


def decided(bridge: BridgeProcess) -> int:
    try:
        with read_only(bridge.store_path("bridge.sqlite")) as db:
            return db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created or migrated yet


def test_sigterm_while_deciding_exits_0_and_publishes_everything_recorded(tmp_path):
    contract = load_contracts()[CE_TYPE]
    birth = date(1988, 2, 14)
    patient = Patient("full", birth, synthetic_fodselsnummer(birth, 211))
    name, example = contract.valid_examples()[0]
    environment = sealing_keys("stop")
    broker = BrokerProcess(BIN, tmp_path)
    bridge = BridgeProcess(BIN, tmp_path, extra_env=environment, broker=broker.bootstrap)
    try:
        # The consent, then the backlog, all before the bridge starts: it meets a full topic.
        prod = producer(broker.bootstrap)
        consent = consent_record(consent_example("granted-full-written.json"), patient, str(uuid.uuid4()), 1,
                                 utc_now() - timedelta(days=1))
        items = [(CONSENT_TOPIC, patient.fnr.encode(), json.dumps(consent).encode(),
                  cloud_event_headers(str(uuid.uuid4()), "no.ips.health.consent.v1", source_of(CONSENT_TOPIC)), None)]
        for _ in range(BACKLOG):
            event = event_from_example(contract, name, example, "full", patient)
            items.append((event.topic, patient.fnr.encode(), json.dumps(event.body, ensure_ascii=False).encode(),
                          cloud_event_headers(event.ce_id, event.ce_type, source_of(event.topic)), None))
        errors = publish(prod, items, timeout=60)
        assert not errors, list(errors.values())[:3]

        bridge.start()
        wait_until(f"{STOP_AFTER} events decided", lambda: decided(bridge) >= STOP_AFTER, 120, interval=0.02,
                   alive=bridge.assert_alive)
        exit_code = bridge.stop(timeout=60)
        assert exit_code == 0, f"SIGTERM mid-stream: exit code {exit_code}\n{bridge.stderr_tail(3000)}"

        with read_only(bridge.store_path("bridge.sqlite")) as db:
            count = db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
            forwarded = db.execute("SELECT COUNT(*) FROM decisions WHERE outcome = 'forward'").fetchone()[0]
            pending = db.execute("SELECT COUNT(*) FROM outbox_status WHERE status = 'pending'").fetchone()[0]
            disclosed = {row[0] for row in db.execute("SELECT disclosure_id FROM disclosures")}
        print(f"\n{count} of {BACKLOG} decided when the bridge stopped")
        assert count < BACKLOG, "the stop came after the backlog was done: nothing was tested mid-stream"
        assert forwarded == count, f"{count - forwarded} of {count} consented referrals were not forwarded"
        assert pending == 0, f"the bridge exited with {pending} recorded outbox records unpublished"
        assert "Relay stopped with outbox rows pending" not in bridge.stderr_tail(200_000)

        # What NAV's systems receive: every recorded disclosure exactly once, nothing else.
        crossed = read_everything(broker.bootstrap, INBOUND_TOPICS, timeout=30)
        copies = Counter(record.ce_id for records in crossed.values() for record in records)
        assert set(copies) == disclosed, (
            f"{len(disclosed - set(copies))} recorded disclosures not on NAV's topics, "
            f"{len(set(copies) - disclosed)} copies on them not recorded")
        assert all(times == 1 for times in copies.values()), "a copy crossed more than once"
    finally:
        bridge.stop()
        broker.stop()
