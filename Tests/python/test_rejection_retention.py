"""R9 over time, the way an operator meets it: a rejected message's sealed payload stays in the
bridge store only as long as `rejections.sealed-payload-retention-hours` says.

The real `consent-bridge run` (the bridge alone, not embedded, as deployed) against
`consent-bridge broker` in a process of its own, so that the bridge can be stopped and started
again over the same SQLite store. A message rejected for lack of consent is redrivable at
first; the store is then moved past the retention (its `received_at` set back, instead of
waiting a day), the bridge started again, and from outside: the sealed bytes are gone from the
store's files, the operator API says the copy was erased and when, a redrive answers
`expired` even though the patient has now consented, nothing crosses, the erasure is counted,
and the counts and trends keep the rejection.

Needs CONSENT_BRIDGE_BIN (CI sets it to the debug binary); skipped only without it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from datetime import date, timedelta

import pytest

from e2e_support import (
    CONSENT_TOPIC, HEALTH_OUTBOUND, INBOUND_TOPICS, BridgeProcess, BrokerProcess, Patient, ReceiptWatcher,
    cloud_event_headers, consent_example, consent_record, event_from_example, load_contracts, producer, publish,
    read_everything, read_only, sealing_keys, source_of, synthetic_fodselsnummer, utc_now, wait_for_consent_view,
    wait_until,
)

BIN = os.environ.get("CONSENT_BRIDGE_BIN")

pytestmark = pytest.mark.skipif(
    not BIN, reason="CONSENT_BRIDGE_BIN is not set (CI sets it to the built consent-bridge binary)"
)

TOKEN = "operator-token-retention-0123456789"
RETENTION_HOURS = 24
CE_TYPE = "no.ips.health.work-relevant-health.v1"


def api(bridge: BridgeProcess, path: str, method: str = "GET") -> dict | str:
    return bridge.operator_api(path, TOKEN, method)


def sealed_payload(bridge: BridgeProcess, message_id: str) -> bytes | None:
    with read_only(bridge.store_path("bridge.sqlite")) as db:
        row = db.execute("SELECT sealed_payload FROM rejections WHERE message_id = ?", (message_id,)).fetchone()
    assert row is not None, "the rejection is not in the bridge store"
    return None if row["sealed_payload"] is None else bytes(row["sealed_payload"])


def test_a_rejections_sealed_payload_is_erased_when_its_retention_ends(tmp_path):
    contract = load_contracts()[CE_TYPE]
    birth = date(1983, 4, 7)
    patient = Patient("none", birth, synthetic_fodselsnummer(birth, 211))
    name, example = contract.valid_examples()[0]
    event = event_from_example(contract, name, example, "none", patient)
    assert event.topic == HEALTH_OUTBOUND
    environment = {
        **sealing_keys("retention"),
        "CONSENT_BRIDGE_OPERATOR_OPERATOR_TOKENS": TOKEN,
        "CONSENT_BRIDGE_REJECTIONS_SEALED_PAYLOAD_RETENTION_HOURS": str(RETENTION_HOURS),
        # The mock broker keeps a stopped member in its group until its session times out, and
        # the restarted bridge is ready only once its pipelines have rejoined.
        "CONSENT_BRIDGE_KAFKA_SESSION_TIMEOUT_MS": "6000",
    }
    broker = BrokerProcess(BIN, tmp_path)
    bridge = BridgeProcess(BIN, tmp_path, extra_env=environment, broker=broker.bootstrap)
    try:
        bridge.start()
        bridge.wait_until_ready()
        prod = producer(broker.bootstrap)
        watcher = ReceiptWatcher(broker.bootstrap)
        try:
            errors = publish(prod, [(
                event.topic, patient.fnr.encode(), json.dumps(event.body, ensure_ascii=False).encode("utf-8"),
                cloud_event_headers(event.ce_id, event.ce_type, source_of(event.topic)), None)])
            assert not errors, errors
            assert not watcher.wait_for([event.ce_id], 60, alive=bridge.assert_alive), "no receipt"
        finally:
            watcher.close()
        receipt = watcher.receipts[event.ce_id][1]
        assert receipt["outcome"] == "rejected", receipt
        sealed = sealed_payload(bridge, event.ce_id)
        assert sealed, "a rejection for lack of consent keeps its payload sealed, for a redrive"
        before = api(bridge, f"/api/rejections/{event.ce_id}")
        assert before["sealed"] is True and before["redrivable"] is True, before
        assert before["sealedCopyErasedAt"] is None
        assert bridge.stop() == 0, bridge.stderr_tail(3000)

        # A day and an hour later: the store's clock is moved back instead of waiting.
        received = (utc_now() - timedelta(hours=RETENTION_HOURS + 1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        with sqlite3.connect(bridge.store_path("bridge.sqlite")) as db:
            db.execute("UPDATE rejections SET received_at = ? WHERE message_id = ?", (received, event.ce_id))
        bridge.start()
        bridge.wait_until_ready()
        wait_until("the expired payload erased", lambda: sealed_payload(bridge, event.ce_id) is None, 60,
                   interval=0.2, alive=bridge.assert_alive)

        after = api(bridge, f"/api/rejections/{event.ce_id}")
        assert after["sealed"] is False and after["redrivable"] is False, after
        assert after["sealedCopyErasedAt"], after
        assert (after["reasonCode"], after["receivedAt"][:19]) == (before["reasonCode"], received[:19])
        # The patient consents now; the rejected message is past its retention all the same.
        # (A consent id that is not a UUID makes the record unreadable: the person would have no
        # consent, and the redrive's answer would not show that the retention decides it.)
        consent = consent_record(consent_example("granted-full-written.json"), patient, str(uuid.uuid4()), 1,
                                 utc_now() - timedelta(days=1))
        errors = publish(prod, [(CONSENT_TOPIC, patient.fnr.encode(), json.dumps(consent).encode(),
                                 cloud_event_headers(str(uuid.uuid4()), "no.ips.health.consent.v1",
                                                     source_of(CONSENT_TOPIC)), None)])
        assert not errors, errors
        wait_for_consent_view(bridge, {patient.fnr: 1})
        redriven = api(bridge, f"/api/rejections/{event.ce_id}/redrive", method="POST")
        assert redriven["outcome"] == "expired", redriven
        counts = api(bridge, "/api/rejections/counts?bucket=day")
        assert sum(counts["totals"].values()) == 1, "counts and trends keep the rejection"
        assert "consent_bridge_rejection_payloads_erased_total 1" in api(bridge, "/metrics")
        crossed = read_everything(broker.bootstrap, INBOUND_TOPICS, timeout=20)
        assert not any(records for records in crossed.values()), "something crossed"
    finally:
        exit_code = bridge.stop()
        broker.stop()
    assert exit_code == 0, bridge.stderr_tail(3000)

    # On disk: the sealed bytes are overwritten, not only unlinked. (The person's number is in
    # the store, rightly: the consent view the bridge decides with is keyed by it.)
    files = sorted(bridge.data_dir.glob("bridge.sqlite*"))
    assert files
    for path in files:
        assert sealed not in path.read_bytes(), f"{path.name} still holds the erased sealed payload"
    assert patient.fnr not in bridge.stderr_tail(10_000_000), "the person reached the logs"
