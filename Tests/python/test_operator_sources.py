"""R16 as an operator meets it: a sender's `ce_source` is shown as written only when the
deployment lists it as one of its own systems (`operator.known-sources`).

A source is text the sender chose. The envelope check refuses national numbers and addresses
in it, but a name fits a URI (`urn:epj:Kari.Nordmann`). The real `consent-bridge run` (the
bridge alone, as deployed) against `consent-bridge broker` in a process of its own; events
published with confluent-kafka, rejected for want of consent; then, from outside, over HTTP
and through the `rejections` command: the listed source as written, the other as
`unlisted-<8 hex>` (the same for both of its events), and the name nowhere.

Needs CONSENT_BRIDGE_BIN (CI sets it to the debug binary); skipped only without it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import date

import pytest

from e2e_support import (
    HEALTH_OUTBOUND, BridgeProcess, BrokerProcess, Patient, ReceiptWatcher, cloud_event_headers, event_from_example,
    load_contracts, producer, publish, read_only, sealing_keys, synthetic_fodselsnummer,
)

BIN = os.environ.get("CONSENT_BRIDGE_BIN")

pytestmark = pytest.mark.skipif(
    not BIN, reason="CONSENT_BRIDGE_BIN is not set (CI sets it to the built consent-bridge binary)"
)

TOKEN = "viewer-token-sources-0123456789"
CE_TYPE = "no.ips.health.work-relevant-health.v1"
LISTED = "urn:no:ips:helse-vest:epj"
NAMED = "urn:epj:Kari.Nordmann"


def api(bridge: BridgeProcess, path: str) -> dict:
    return bridge.operator_api(path, TOKEN)


def test_operators_see_a_source_as_written_only_when_it_is_listed(tmp_path):
    contract = load_contracts()[CE_TYPE]
    birth = date(1979, 11, 23)
    patient = Patient("none", birth, synthetic_fodselsnummer(birth, 317))
    name, example = contract.valid_examples()[0]
    events = [event_from_example(contract, name, example, "none", patient) for _ in range(3)]
    assert all(event.topic == HEALTH_OUTBOUND for event in events)
    sources = {events[0].ce_id: LISTED, events[1].ce_id: NAMED, events[2].ce_id: NAMED}
    environment = {
        **sealing_keys("sources"),
        "CONSENT_BRIDGE_OPERATOR_VIEWER_TOKENS": TOKEN,
        "CONSENT_BRIDGE_OPERATOR_KNOWN_SOURCES": f"urn:no:ips:helse-vest:nav, {LISTED}",
    }
    broker = BrokerProcess(BIN, tmp_path)
    bridge = BridgeProcess(BIN, tmp_path, extra_env=environment, broker=broker.bootstrap)
    try:
        bridge.start()
        bridge.wait_until_ready()
        watcher = ReceiptWatcher(broker.bootstrap)
        try:
            errors = publish(producer(broker.bootstrap), [(
                event.topic, patient.fnr.encode(), json.dumps(event.body, ensure_ascii=False).encode("utf-8"),
                cloud_event_headers(event.ce_id, event.ce_type, sources[event.ce_id]), None) for event in events])
            assert not errors, errors
            missing = watcher.wait_for(list(sources), 60, alive=bridge.assert_alive)
            assert not missing, f"no receipt for {len(missing)} event(s)"
        finally:
            watcher.close()
        assert {watcher.receipts[id][1]["reasonCode"] for id in sources} == {"no-consent"}

        listed = {item["messageId"]: item["ceSource"] for item in api(bridge, "/api/rejections")["items"]}
        assert set(listed) == set(sources), listed
        assert listed[events[0].ce_id] == LISTED
        shown = {listed[events[1].ce_id], listed[events[2].ce_id]}
        assert len(shown) == 1, "one source, one digest: operators can tell the two came from one system"
        digest = shown.pop()
        assert re.fullmatch(r"unlisted-[0-9a-f]{8}", digest), digest

        address = f"127.0.0.1:{bridge.http_port}"
        commands = [["rejections", "list"], ["rejections", "list", "--json"],
                    ["rejections", "show", events[1].ce_id], ["rejections", "show", events[1].ce_id, "--json"]]
        outputs = []
        for command in commands:
            result = subprocess.run([BIN, *command, "--token", TOKEN, "--address", address],
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            outputs.append(result.stdout + result.stderr)
        assert digest in outputs[2] and LISTED not in outputs[2]
        for text in outputs + [json.dumps(api(bridge, f"/api/rejections/{id}")) for id in sources]:
            assert "Nordmann" not in text
            assert patient.fnr not in text

        # The bridge store keeps the source as sent: a redrive decides the event again with the
        # envelope it came with, and listing the source later shows it as written.
        with read_only(bridge.store_path("bridge.sqlite")) as db:
            stored = {row["message_id"]: row["ce_source"] for row in db.execute(
                "SELECT message_id, ce_source FROM rejections")}
        assert stored == sources
    finally:
        exit_code = bridge.stop()
        broker.stop()
    assert exit_code == 0, bridge.stderr_tail(3000)
    assert "Nordmann" not in bridge.stderr_tail(1_000_000)
