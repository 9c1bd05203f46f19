"""Kafka rebuilt behind the same address, as an operator meets it.

The real `consent-bridge run` (the bridge alone, as deployed) against `consent-bridge broker`
on a stable port. The broker is stopped and a new one started on the same port: a new, empty
cluster, whose logs then grow longer than the bridge's stored positions (its consent log
starting with a withdrawal). An outside audit saw a bridge resume there at its old positions:
the withdrawal and the first events were never read, 12 events per run ended with no receipt,
and later ones crossed under a consent already withdrawn.

Now the bridge must halt before reading anything and say which clusters; `kafka-cluster show`
must name them as an independent client sees them; `kafka-cluster adopt` must let it read the
new cluster's logs from their start, so every event on it is decided exactly once, under the
withdrawal, with receipts that keep their contract. The cluster ids are read with
confluent-kafka, not with the bridge's own client.

Needs CONSENT_BRIDGE_BIN (CI sets it to the debug binary); skipped only without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from datetime import date, timedelta

import pytest
from confluent_kafka.admin import AdminClient

from e2e_support import (
    CONSENT_TOPIC, CONTRACTS, HEALTH_OUTBOUND, INBOUND_TOPICS, RECEIPT_TOPICS, BridgeProcess, BrokerProcess,
    Patient, ReceiptWatcher, cloud_event_headers, consent_example, consent_record, event_from_example,
    free_loopback_port, load_contracts, producer, publish, read_everything, sealing_keys, source_of, strict_json,
    synthetic_fodselsnummer, utc_now,
)

BIN = os.environ.get("CONSENT_BRIDGE_BIN")

pytestmark = pytest.mark.skipif(
    not BIN, reason="CONSENT_BRIDGE_BIN is not set (CI sets it to the built consent-bridge binary)"
)

REFERRAL = "no.ips.health.referral.v1"


def cluster_id(bootstrap: str) -> str:
    return AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).cluster_id


def kafka_cluster(bridge: BridgeProcess, *arguments: str) -> subprocess.CompletedProcess:
    """`consent-bridge kafka-cluster …` with the bridge's own configuration."""
    configuration = [
        "--roles", "bridge", "--contracts-directory", str(CONTRACTS),
        "--health-kafka-bootstrap-servers", bridge.broker, "--nav-kafka-bootstrap-servers", bridge.broker,
        "--agreements-registry", str(CONTRACTS / "registry" / "ips-agreements.development.json"),
    ]
    return subprocess.run([BIN, "kafka-cluster", *arguments, *configuration], env=bridge.environment,
                          capture_output=True, text=True, timeout=60)


# The bridge alone, as deployed: both sides' sealing keys, and a short session so that a
# restarted bridge rejoins its groups quickly.
ENVIRONMENT = {
    **sealing_keys("replaced"),
    "CONSENT_BRIDGE_KAFKA_SESSION_TIMEOUT_MS": "6000",
}


def rebuilt_at_the_same_address(broker: BrokerProcess, directory) -> BrokerProcess:
    """Stops `broker` and starts a new, empty one on its port: another Kafka cluster (its own
    id) at the address the bridge is configured with."""
    broker.stop()
    replacement = BrokerProcess(BIN, directory, port=broker.port)
    assert replacement.bootstrap == broker.bootstrap
    return replacement


def consent_item(person: Patient, example_name: str, version: int):
    """A consent record (the example re-targeted to `person`) as `publish` takes it. The consent
    id is a UUID, as the consent contract requires, and the same for every version of the
    person's consent: with any other id the record is unreadable, the person has no consent, and
    nothing would cross whether or not the bridge noticed the replaced cluster."""
    consent_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:test:consent:{person.fnr}"))
    record = consent_record(consent_example(example_name), person, consent_id, version,
                            utc_now() - timedelta(minutes=10 - version))
    return (CONSENT_TOPIC, person.fnr.encode(), json.dumps(record).encode(),
            cloud_event_headers(str(uuid.uuid4()), "no.ips.health.consent.v1", source_of(CONSENT_TOPIC)), None)


def referral_items(referral, patient: Patient, count: int):
    """`count` referrals about `patient`: their ce_ids, and the items `publish` takes."""
    name, example = referral.valid_examples()[0]
    events = [event_from_example(referral, name, example, "full", patient) for _ in range(count)]
    items = [(HEALTH_OUTBOUND, patient.fnr.encode(), json.dumps(e.body, ensure_ascii=False).encode("utf-8"),
              cloud_event_headers(e.ce_id, e.ce_type, source_of(HEALTH_OUTBOUND)), None) for e in events]
    return [e.ce_id for e in events], items


def test_a_replaced_kafka_cluster_halts_the_bridge_until_an_operator_adopts_it(tmp_path):
    contracts = load_contracts()
    referral = contracts[REFERRAL]
    patient = Patient("full", date(1988, 2, 3), synthetic_fodselsnummer(date(1988, 2, 3), 311))
    other = Patient("full", date(1979, 9, 9), synthetic_fodselsnummer(date(1979, 9, 9), 411))
    def referrals(count: int):
        return referral_items(referral, patient, count)

    broker = BrokerProcess(BIN, tmp_path / "first-broker", port=free_loopback_port())
    bridge = BridgeProcess(BIN, tmp_path, extra_env=ENVIRONMENT, broker=broker.bootstrap)
    try:
        # The first cluster: a consent and three referrals, decided.
        bridge.start()
        bridge.wait_until_ready()
        first_ids, items = referrals(3)
        assert not publish(producer(broker.bootstrap), [consent_item(patient, "granted-full-written.json", 1)] + items)
        watcher = ReceiptWatcher(broker.bootstrap)
        try:
            assert not watcher.wait_for(first_ids, 60, alive=bridge.assert_alive), "no receipts on the first cluster"
        finally:
            watcher.close()
        # The consent is readable and covers the referrals: what is refused later is refused
        # for the cluster and the withdrawal, not for a consent the bridge could not read.
        outcomes = {watcher.receipts[ce_id][1]["outcome"] for ce_id in first_ids}
        assert outcomes == {"accepted"}, outcomes
        first_cluster = cluster_id(broker.bootstrap)
        assert bridge.stop() == 0, bridge.stderr_tail(3000)

        # Rebuilt at the same address: empty, then longer than the stored positions.
        broker = rebuilt_at_the_same_address(broker, tmp_path / "second-broker")
        second_cluster = cluster_id(broker.bootstrap)
        assert second_cluster and second_cluster != first_cluster
        new_ids, items = referrals(6)
        assert not publish(producer(broker.bootstrap),
                           [consent_item(patient, "withdrawn.json", 2), consent_item(other, "granted-full-written.json", 1)]
                           + items)

        # The bridge halts, says why and what to run, and reads nothing.
        bridge.start()
        try:
            code = bridge.process.wait(90)
        except subprocess.TimeoutExpired:
            pytest.fail("the bridge kept running on a replaced cluster\n" + bridge.diagnostics())
        bridge.stop()
        stderr = bridge.stderr_tail(200_000)
        assert code != 0, "a halt exits non-zero, so an orchestrator shows it"
        assert "kafka-cluster-replaced" in stderr, stderr[-3000:]
        assert f"kafka-cluster adopt --store bridge --replacing {first_cluster} --with {second_cluster}" in stderr, stderr[-3000:]
        assert patient.fnr not in stderr and other.fnr not in stderr
        outputs = read_everything(broker.bootstrap, INBOUND_TOPICS + RECEIPT_TOPICS, timeout=20)
        assert not any(outputs.values()), "the bridge wrote to the new cluster before an operator adopted it"

        # The operator looks, then adopts.
        shown = kafka_cluster(bridge, "show", "--store", "bridge", "--json")
        assert shown.returncode == 0, shown.stderr
        view = json.loads(shown.stdout)
        assert {b["clusterId"] for b in view["bindings"]} == {first_cluster}
        assert {b["topic"] for b in view["bindings"]} >= {CONSENT_TOPIC, HEALTH_OUTBOUND}
        assert view["clustersAnswering"] == {"health": second_cluster, "nav": second_cluster}
        # A mistyped id is refused: no configured cluster reports it, and nothing changes.
        typo = kafka_cluster(bridge, "adopt", "--store", "bridge", "--replacing", first_cluster,
                             "--with", second_cluster + "x")
        assert typo.returncode == 4, typo.stderr
        assert second_cluster in typo.stderr, typo.stderr
        still = json.loads(kafka_cluster(bridge, "show", "--store", "bridge", "--json").stdout)
        assert still["bindings"] == view["bindings"]
        adopted = kafka_cluster(bridge, "adopt", "--store", "bridge", "--replacing", first_cluster,
                                "--with", second_cluster)
        assert adopted.returncode == 0, adopted.stderr
        again = kafka_cluster(bridge, "adopt", "--store", "bridge", "--replacing", first_cluster,
                              "--with", second_cluster)
        assert again.returncode == 3, "a second adoption finds nothing bound to the old cluster"

        # Every referral on the new cluster decided once, under the withdrawal, none crossed.
        bridge.start()
        bridge.wait_until_ready()
        watcher = ReceiptWatcher(broker.bootstrap)
        try:
            missing = watcher.wait_for(new_ids, 60, alive=bridge.assert_alive)
        finally:
            watcher.close()
        assert not missing, f"{len(missing)} of 6 events on the new cluster have no receipt"
        outputs = read_everything(broker.bootstrap, INBOUND_TOPICS + RECEIPT_TOPICS, timeout=20)
        assert not any(outputs[topic] for topic in INBOUND_TOPICS), "a referral crossed after its withdrawal"
        receipts = [r for topic in RECEIPT_TOPICS for r in outputs[topic]]
        assert sorted(strict_json(r.value)["messageId"] for r in receipts) == sorted(new_ids)
        for record in receipts:
            body = strict_json(record.value)
            contract = contracts[record.ce_type]
            assert not list(contract.validator.iter_errors(body)), f"a receipt breaks its contract: {body}"
            assert body["reasonCode"] == "referral-requires-consent", body
    finally:
        exit_code = bridge.stop()
        broker.stop()
    assert exit_code == 0, bridge.stderr_tail(3000)


def test_a_kafka_cluster_replaced_under_a_running_bridge_stops_it(tmp_path):
    """The broker rebuilt at the same address while the bridge runs: the bridge must stop with
    the documented refusal (an outside audit saw it keep running, not ready, live 200), and
    nothing may reach the new cluster's inbound topics."""
    referral = load_contracts()[REFERRAL]
    patient = Patient("full", date(1985, 5, 6), synthetic_fodselsnummer(date(1985, 5, 6), 213))
    broker = BrokerProcess(BIN, tmp_path / "first-broker", port=free_loopback_port())
    bridge = BridgeProcess(BIN, tmp_path, extra_env=ENVIRONMENT, broker=broker.bootstrap)
    try:
        bridge.start()
        bridge.wait_until_ready()
        first_cluster = cluster_id(broker.bootstrap)
        broker = rebuilt_at_the_same_address(broker, tmp_path / "second-broker")
        second_cluster = cluster_id(broker.bootstrap)
        assert second_cluster != first_cluster
        _, items = referral_items(referral, patient, 1)
        assert not publish(producer(broker.bootstrap),
                           [consent_item(patient, "granted-full-written.json", 1)] + items)
        try:
            code = bridge.process.wait(90)
        except subprocess.TimeoutExpired:
            pytest.fail("the bridge kept running on a cluster replaced under it\n" + bridge.diagnostics())
        stderr = bridge.stderr_tail(200_000)
        assert code != 0
        assert f"--store bridge --replacing {first_cluster} --with {second_cluster}" in stderr, stderr[-3000:]
        assert patient.fnr not in stderr
        outputs = read_everything(broker.bootstrap, INBOUND_TOPICS, timeout=20)
        assert not any(outputs.values()), "something crossed to the replacement cluster"
    finally:
        bridge.stop()
        broker.stop()

