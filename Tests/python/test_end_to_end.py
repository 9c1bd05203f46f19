"""End to end, the way EPJ and NAV meet the product: the real `consent-bridge run --embedded
true` binary (bridge, health sink and NAV sink), driven only through Kafka and read back
through Kafka, its HTTP health endpoint, its SQLite stores and its `disclosures` command.

Independent oracles: confluent-kafka is the Kafka client, jsonschema (Draft 2020-12 with
format checking) validates against the published contracts in Contracts/schemas, sqlite3
reads the stores. Fixtures are the examples in Contracts/examples/<contract>/valid, never
output of the bridge's own encoders, so an encoder bug cannot hide behind a matching fixture.

Scenario (module fixture, one bridge): consent records for four synthetic patients (full,
partial, none, withdrawn), then every valid example of every event contract once per
patient; wait for every receipt; read everything the bridge wrote. The tests then check the
contracts of every record, the consent outcomes (docs/rules.md R2, R3, R5, R6, R7, R15, R16) and
the stores (R4, R10). A second test feeds oversized events ahead of ordinary traffic.

Needs CONSENT_BRIDGE_BIN (CI sets it to the debug binary); skipped only without it.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest

from e2e_support import (
    CONSENT_TOPIC, DISCLOSURE_TOPICS, EVENT_DIRECTIONS, HEALTH_BREACHES, HEALTH_INBOUND, HEALTH_OUTBOUND,
    INBOUND_TOPICS, NAV_BREACHES, NAV_INBOUND, NAV_OUTBOUND_TOPICS, NAV_STORE_OF, OUTPUT_TOPICS, RECEIPTS_OF,
    REJECTED, BridgeProcess, FailureReport, Patient, PublishedEvent, ReceiptWatcher, check_record_against_contract,
    cloud_event_headers, consent_example, consent_record, event_from_example, format_checker, get_pointer,
    load_contracts, producer, publish, read_everything, read_only, require_columns, sealing_keys, source_of,
    synthetic_fodselsnummer, utc_now, wait_for_consent_view, wait_for_outbox_settled, wait_for_sinks, wait_until,
)

BIN = os.environ.get("CONSENT_BRIDGE_BIN")

pytestmark = pytest.mark.skipif(
    not BIN, reason="CONSENT_BRIDGE_BIN is not set (CI sets it to the built consent-bridge binary)"
)

RECEIPT_TIMEOUT = 60  # s, for the whole scenario; generous for a debug build on two cores
BODY_LIMIT = 256 * 1024  # the largest record the bridge promises to write on bridge.rejected

# One synthetic patient per consent state. Distinct birth dates keep the numbers apart.
PATIENTS = {
    state: Patient(state, birth, synthetic_fodselsnummer(birth, 101 + 37 * index))
    for index, (state, birth) in enumerate([
        ("full", date(1988, 5, 14)),
        ("partial", date(1991, 9, 23)),
        ("none", date(1979, 1, 30)),
        ("withdrawn", date(1985, 11, 2)),
    ])
}
ALL_TEST_IDS = {p.fnr for p in PATIENTS.values()}


# ---- the scenario ---------------------------------------------------------------------------

@dataclass
class Scenario:
    bridge: BridgeProcess
    bootstrap: str
    contracts: dict
    consents: dict[str, list[dict]]
    events: list[PublishedEvent]
    receipts: dict[str, tuple[str, dict]]
    missing_receipts: set[str]
    records: dict[str, list]
    exit_code: int | None = None
    # Waits that timed out: reported by the test that depends on them, not hidden.
    problems: list[str] = field(default_factory=list)
    _notices: list | None = field(default=None, repr=False)
    _event_of: dict | None = field(default=None, repr=False)

    def events_where(self, state=None, contract=None):
        return [e for e in self.events
                if (state is None or e.state == state) and (contract is None or e.contract == contract)]

    def crossed(self, event: PublishedEvent) -> list:
        """The records on the event's destination topics (x-destination-topic, or each
        recipient role's topic of x-destinations) that carry it: the same ce_id, or the copy its
        receipt or disclosure notice names (forwardedId, disclosureId as ce_id or decision
        header, the anonymous form's caseReference), so a bridge that gives the copy an id of
        its own is still followed."""
        destinations = self.contracts[event.ce_type].destination_topics
        if not destinations:
            return []
        notices = [n for n in self.disclosure_notices() if n.get("messageId") == event.ce_id]
        ids = {event.ce_id} | {n.get("disclosureId") for n in notices}
        receipt = self.receipts.get(event.ce_id, (None, {}))[1]
        if receipt.get("forwardedId"):
            ids.add(receipt["forwardedId"])
        references = {n["caseReference"] for n in notices if n.get("caseReference")}
        return [r for destination in destinations for r in self.records[destination]
                if r.ce_id in ids or r.header("cb_decision_id") in ids or self._case_reference(r) in references]

    def disclosure_notices(self) -> list[dict]:
        if self._notices is None:
            self._notices = []
            for topic in DISCLOSURE_TOPICS:
                for record in self.records[topic]:
                    try:
                        self._notices.append(record.json())
                    except ValueError:
                        pass  # reported by the contract test
        return self._notices

    @staticmethod
    def _case_reference(record):
        try:
            body = record.json()
        except ValueError:
            return None
        return body.get("caseReference") if isinstance(body, dict) else None

    def event_of(self, record):
        """The published event a record on an inbound topic carries, if any."""
        if self._event_of is None:
            self._event_of = {}
            for event in self.events:
                for crossed in self.crossed(event):
                    self._event_of[(crossed.topic, crossed.partition, crossed.offset)] = event
        return self._event_of.get((record.topic, record.partition, record.offset))


@pytest.fixture(scope="module")
def contracts():
    return load_contracts()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, contracts):
    bridge = BridgeProcess(BIN, tmp_path_factory.mktemp("e2e")).start()
    try:
        result = run_scenario(bridge, contracts)
        print("\nrecords per topic the bridge writes:")
        for topic in OUTPUT_TOPICS:
            print(f"  {topic:25} {len(result.records[topic])}")
        print(f"published: {len(result.events)} events; receipts: {len(result.receipts)}; "
              f"missing: {len(result.missing_receipts)}")
        print_outcomes(result)
        # Stop gracefully before the store checks: the SQLite files are complete once it exits.
        result.exit_code = bridge.stop()
        yield result
    finally:
        bridge.stop()


def print_outcomes(scenario: Scenario):
    """Receipt outcome/reason per contract and consent state: what a sender would see."""
    states = list(PATIENTS)
    print(f"receipts (outcome/reasonCode) {'':28}" + "".join(f"{state:38}" for state in states))
    for contract in sorted({e.contract for e in scenario.events}):
        cells = []
        for state in states:
            seen = set()
            for event in scenario.events_where(state, contract):
                body = scenario.receipts.get(event.ce_id, (None, None))[1]
                seen.add(f"{body.get('outcome')}/{body.get('reasonCode')}" if body else "none")
            cells.append(",".join(sorted(seen)))
        print(f"  {contract:56}" + "".join(f"{cell:38}" for cell in cells))


def run_scenario(bridge: BridgeProcess, contracts) -> Scenario:
    """Publishes consents and events, waits for the receipts and for the bridge and sinks to
    settle, and reads every output topic. Our Kafka clients end with this function, before the
    bridge (and its embedded broker) stops."""
    bootstrap = bridge.wait_for_bootstrap()
    bridge.wait_until_ready()
    prod = producer(bootstrap)
    consents = publish_consents(bridge, prod, contracts)
    events = build_events(contracts)
    watcher = ReceiptWatcher(bootstrap)
    try:
        errors = publish(prod, [
            (e.topic, e.subject.encode(), json.dumps(e.body, ensure_ascii=False).encode("utf-8"),
             cloud_event_headers(e.ce_id, e.ce_type, source_of(e.topic)), None)
            for e in events])
        assert not errors, f"the embedded broker refused test events: {errors}"
        missing = watcher.wait_for([e.ce_id for e in events], RECEIPT_TIMEOUT, alive=bridge.assert_alive)
    finally:
        watcher.close()

    problems = []
    for wait in (lambda: wait_for_outbox_settled(bridge), lambda: wait_for_sinks(bridge, bootstrap)):
        try:
            wait()
        except TimeoutError as error:
            problems.append(str(error))
    records = read_everything(bootstrap, OUTPUT_TOPICS)
    return Scenario(bridge, bootstrap, contracts, consents, events, dict(watcher.receipts), missing, records,
                    problems=problems)


def publish_consents(bridge: BridgeProcess, prod, contracts) -> dict[str, list[dict]]:
    """Full, partial and withdrawn (granted v1, withdrawn v2) consents; none for "none".
    Times are relative to now: the examples' own validity dates expire."""
    now = utc_now()
    full = consent_example("granted-full-written.json")
    narrow = consent_example("granted-narrow-oral.json")
    withdrawn = consent_example("withdrawn.json")
    withdrawn_id = str(uuid.uuid4())
    consents = {
        "full": [consent_record(full, PATIENTS["full"], str(uuid.uuid4()), 1, now - timedelta(days=1))],
        "partial": [consent_record(narrow, PATIENTS["partial"], str(uuid.uuid4()), 1, now - timedelta(days=1))],
        "withdrawn": [
            consent_record(full, PATIENTS["withdrawn"], withdrawn_id, 1, now - timedelta(days=2)),
            consent_record(withdrawn, PATIENTS["withdrawn"], withdrawn_id, 2, now - timedelta(hours=1)),
        ],
    }
    consent_contract = contracts["no.ips.health.consent.v1"]
    for records in consents.values():
        for record in records:
            problems = list(consent_contract.validator.iter_errors(record))
            assert not problems, f"consent fixture does not match consent.schema.json: {problems[0].message}"

    errors = publish(prod, [
        (CONSENT_TOPIC, record["patientId"].encode(), json.dumps(record).encode(),
         cloud_event_headers(str(uuid.uuid4()), "no.ips.health.consent.v1", source_of(CONSENT_TOPIC)), None)
        for records in consents.values() for record in records])
    assert not errors, f"the embedded broker refused consent records: {errors}"
    wait_for_consent_view(bridge, {PATIENTS[state].fnr: records[-1]["version"] for state, records in consents.items()})
    return consents


def build_events(contracts) -> list[PublishedEvent]:
    """Every valid example of every crossing contract, once per consent state. NAV's internal
    follow-up notes (x-direction nav-internal) go on their x-source-topic too, as NAV publishes
    them: without them the R3 check below would pass without having been tried."""
    events = []
    for contract in sorted(contracts.values(), key=lambda c: c.name):
        if contract.direction not in EVENT_DIRECTIONS and contract.direction != "nav-internal":
            continue
        examples = contract.valid_examples()
        assert examples, f"{contract.name}: no valid examples to publish"
        for example_name, example in examples:
            for state, patient in PATIENTS.items():
                events.append(event_from_example(contract, example_name, example, state, patient))
    return events


# ---- 1. every record the bridge wrote matches its published contract -------------------------

def test_every_record_the_bridge_writes_matches_its_contract(scenario):
    checker = format_checker()
    report = FailureReport()
    checked = Counter()
    for topic in OUTPUT_TOPICS:
        for record in scenario.records[topic]:
            check_record_against_contract(record, scenario.contracts, checker, report)
            checked[record.ce_type] += 1
    print("\nrecords checked per ce_type:", dict(sorted(checked.items(), key=lambda kv: str(kv[0]))))
    if report:
        pytest.fail(report.render("records that break their contract (Contracts/schemas, asyncapi.yaml headers)"),
                    pytrace=False)


# ---- 2. what crossed, what did not ---------------------------------------------------------

def _identified_leaves_outside_scope(body, schema, scope: set[str], path="") -> list[str]:
    """Pointers of leaves whose schema node (or an ancestor) has an x-consent-category not in
    `scope` (R6: only consented categories cross)."""
    outside = []
    category = schema.get("x-consent-category")
    if category is not None and category not in scope:
        return [path or "/"]
    if isinstance(body, dict):
        for key, value in body.items():
            child = schema.get("properties", {}).get(key, {})
            outside += _identified_leaves_outside_scope(value, child, scope, f"{path}/{key}")
    elif isinstance(body, list):
        for index, item in enumerate(body):
            outside += _identified_leaves_outside_scope(item, schema.get("items", {}), scope, f"{path}/{index}")
    return outside


def test_the_bridges_own_client_settings_draw_no_librdkafka_warnings(scenario):
    """A warning in the log should tell an operator something: the bridge's own Kafka settings
    (consumer keys given to a producer or admin client) draw none, so real ones stand out."""
    warnings = [line for line in scenario.bridge.stderr_tail(10_000_000).splitlines()
                if "CONFWARN" in line and "warning" in line.lower()]
    assert not warnings, f"{len(warnings)} librdkafka configuration warnings, e.g. {warnings[0]}"


def test_consent_decides_what_crosses(scenario):
    failures = FailureReport()
    outcome = {ce_id: body.get("outcome") for ce_id, (_, body) in scenario.receipts.items()}

    # Every event gets a receipt, on the sender's own side.
    for event in scenario.events:
        if event.ce_id in scenario.missing_receipts:
            failures.add(event.ce_type, f"no receipt within {RECEIPT_TIMEOUT} s", event.label)
            continue
        topic, _ = scenario.receipts[event.ce_id]
        own = RECEIPTS_OF[event.topic]
        if topic != own:
            failures.add(event.ce_type, f"receipt on {topic}, not the sender's {own}", event.label)

    # R1/R6: with full consent (every recipient role) the referral crosses, identified, exactly
    # once to each recipient role's own system.
    for event in scenario.events_where("full", "referral"):
        crossed = scenario.crossed(event)
        destinations = scenario.contracts[event.ce_type].destination_topics
        if outcome.get(event.ce_id) != "accepted":
            failures.add(event.ce_type, "full-consent referral: receipt outcome is not accepted",
                         f"{event.label}: outcome={outcome.get(event.ce_id)!r}")
        per_topic = Counter(record.topic for record in crossed)
        if any(per_topic[topic] != 1 for topic in destinations) or len(crossed) != len(destinations):
            failures.add(event.ce_type, f"full-consent referral: not exactly once on each of {destinations}",
                         f"{event.label}: {dict(per_topic)}")
        elif any(get_pointer(record.json(), scenario.contracts[event.ce_type].subject_pointer) != event.subject
                 for record in crossed):
            failures.add(event.ce_type, "full-consent referral crossed without naming the patient", event.label)

    # R7: no referral without consent, and never an anonymous one.
    for event in scenario.events_where("none", "referral"):
        if scenario.crossed(event):
            failures.add(event.ce_type, "R7: no-consent referral crossed to a NAV system", event.label)
        if outcome.get(event.ce_id) not in (None, "rejected"):
            failures.add(event.ce_type, "R7: no-consent referral receipt is not rejected",
                         f"{event.label}: outcome={outcome.get(event.ce_id)!r}")

    # R2: without consent a case discussion crosses only in anonymous form.
    for event in scenario.events_where("none", "anonymous-case-discussion"):
        crossed = scenario.crossed(event)
        if outcome.get(event.ce_id) != "anonymized" or len(crossed) != 1:
            failures.add(event.ce_type, "R2: no-consent case discussion did not cross once in anonymous form",
                         f"{event.label}: outcome={outcome.get(event.ce_id)!r}, records={len(crossed)}")

    # R2/R5/R16: a fødselsnummer reaches the other side only in an identified record about
    # that very person under a consent in force. Anonymous records, records about patients
    # without (or after withdrawing) consent, keys and headers included: none at all.
    for topic in INBOUND_TOPICS:
        for record in scenario.records[topic]:
            event = scenario.event_of(record)
            allowed = set()
            if event and event.state in ("full", "partial") and outcome.get(event.ce_id) == "accepted":
                allowed = {event.subject}
            found = {fnr for fnr in ALL_TEST_IDS if fnr.encode() in record.all_bytes()} - allowed
            for fnr in sorted(found):
                whose = next(p.state for p in PATIENTS.values() if p.fnr == fnr)
                failures.add(record.ce_type, f"fødselsnummer of the '{whose}' patient on {topic}",
                             f"{record.where()} ({event.label if event else 'unknown ce_id'}, "
                             f"outcome={outcome.get(event.ce_id) if event else None!r})")

    # R5: after a withdrawal nothing identified crosses; and (docs/rules.md R5, second sentence)
    # the anonymous path is closed for that person too.
    for event in scenario.events_where("withdrawn"):
        if event.direction not in EVENT_DIRECTIONS:
            continue
        crossed = scenario.crossed(event)
        identified = [r for r in crossed if event.subject.encode() in r.all_bytes()]
        if identified or outcome.get(event.ce_id) == "accepted":
            failures.add(event.ce_type, "R5: crossed in identified form after the consent was withdrawn",
                         f"{event.label}: outcome={outcome.get(event.ce_id)!r}")
        elif crossed or outcome.get(event.ce_id) == "anonymized":
            failures.add(event.ce_type, "R5: crossed in anonymous form after the consent was withdrawn "
                         "(docs/rules.md R5: the anonymous path is closed after a withdrawal)",
                         f"{event.label}: outcome={outcome.get(event.ce_id)!r}, records={len(crossed)}")

    # R15: NAV's receipt must not reveal the EPJ consent state. For the same NAV event, the
    # receipts about a patient without consent, with a narrowed one or after a withdrawal
    # are indistinguishable whenever the event was not delivered as sent, and no reason on
    # NAV's receipts names consent.
    for contract, example in sorted({(e.contract, e.example) for e in scenario.events if e.topic in NAV_OUTBOUND_TOPICS}):
        seen = {}
        for event in scenario.events_where(contract=contract):
            if event.example != example or event.state == "full" or event.ce_id not in scenario.receipts:
                continue
            body = scenario.receipts[event.ce_id][1]
            if body.get("outcome") != "accepted":
                seen[event.state] = f"{body.get('outcome')}/{body.get('reasonCode')}"
            if "consent" in str(body.get("reasonCode", "")):
                failures.add(event.ce_type, "R15: a receipt on a NAV receipts topic names the EPJ consent",
                             f"{event.label}: reasonCode={body.get('reasonCode')!r}")
        if len(set(seen.values())) > 1:
            failures.add(scenario.events_where(contract=contract)[0].ce_type,
                         "R15: NAV's receipts differ by the patient's EPJ consent state",
                         f"{contract}/{example}: {seen}")

    # R3: NAV's follow-up documentation never reaches the journal's inbound topic.
    follow_up_ids = {e.ce_id for e in scenario.events if "follow-up-note" in e.ce_type}
    for record in scenario.records[HEALTH_INBOUND]:
        if "follow-up-note" in (record.ce_type or "") or record.ce_id in follow_up_ids:
            failures.add(record.ce_type, "R3: follow-up note on health.ips.inbound", record.where())

    # R6: an identified record under the partial consent carries only consented categories.
    partial_scope = set(scenario.consents["partial"][-1]["categories"])
    for event in scenario.events_where("partial"):
        if outcome.get(event.ce_id) != "accepted" or event.direction not in EVENT_DIRECTIONS:
            continue
        for record in scenario.crossed(event):
            outside = _identified_leaves_outside_scope(
                record.json(), scenario.contracts[event.ce_type].schema, partial_scope)
            if outside:
                failures.add(event.ce_type, "R6: unconsented category crossed under the partial consent",
                             f"{event.label}: {outside[:5]}")

    # Exactly once in the topics (docs/architecture.md): no ce_id twice on one topic.
    for topic in OUTPUT_TOPICS:
        seen = {}
        for record in scenario.records[topic]:
            key = record.ce_id
            if key is not None and key in seen:
                failures.add(record.ce_type, f"ce_id published twice on {topic}", f"{seen[key]} and {record.where()}")
            seen.setdefault(key, record.where())

    if failures:
        pytest.fail(failures.render("consent outcomes"), pytrace=False)


# ---- 3. the stores: R4 documentation in the journal, nothing refused -------------------------

def test_stores_document_every_disclosure(scenario):
    failures = []
    failures += [f"wait failed before the stores were read: {p}" for p in scenario.problems]
    if scenario.exit_code != 0:
        failures.append(f"SIGTERM did not stop the bridge cleanly: exit code {scenario.exit_code}\n"
                        f"{scenario.bridge.stderr_tail(3000)}")

    data = scenario.bridge.data_dir
    with read_only(data / "bridge.sqlite") as bridge_db:
        require_columns(bridge_db, "disclosures", "disclosure_id", "event_id", "direction")
        # Each sending system's store logs what it disclosed (R4): the journal (health.sqlite)
        # everything health→NAV; what NAV's case system disclosed in nav.sqlite, what the job
        # specialist's follow-up solution disclosed in followup.sqlite (R9).
        def disclosed(direction, source_topics):
            marks = ", ".join("?" for _ in source_topics)
            return {r["disclosure_id"]: r["event_id"] for r in bridge_db.execute(
                "SELECT d.disclosure_id, d.event_id FROM ("
                "SELECT disclosure_id, event_id, direction FROM disclosures "
                "UNION ALL SELECT disclosure_id, message_id, direction FROM anonymous_disclosures) d "
                "JOIN decisions m ON m.message_id = d.event_id "
                f"WHERE d.direction = ? AND m.source_topic IN ({marks})",
                (direction, *source_topics))}

        bridge_disclosures = {"health-to-nav": disclosed("health-to-nav", [HEALTH_OUTBOUND])}
        expected_in = {"health.sqlite": bridge_disclosures["health-to-nav"]}
        for source_topic, store in NAV_STORE_OF.items():
            expected_in[store] = disclosed("nav-to-health", [source_topic])
    if not expected_in["followup.sqlite"]:
        failures.append("the bridge recorded no disclosure from the follow-up solution: the scenario proves nothing")

    counts = {}
    for store, expected in expected_in.items():
        with read_only(data / store) as db:
            require_columns(db, "disclosure_log", "disclosure_id")
            require_columns(db, "sink_rejections", "source_topic", "ce_type", "reason_code")
            logged = {r["disclosure_id"] for r in db.execute("SELECT disclosure_id FROM disclosure_log")}
            refused = db.execute(
                "SELECT source_topic, ce_type, reason_code, COUNT(*) AS n FROM sink_rejections "
                "GROUP BY source_topic, ce_type, reason_code ORDER BY n DESC").fetchall()
        counts[store] = (len(logged), len(expected))
        missing = sorted(set(expected) - logged)
        if missing:
            failures.append(f"R4: {store} disclosure_log lacks {len(missing)} of the {len(expected)} "
                            f"disclosures the bridge recorded (e.g. disclosure {missing[0]} "
                            f"of event {expected[missing[0]]})")
        strangers = sorted(logged - set(expected))
        if strangers:
            failures.append(f"R9: {store} disclosure_log holds {len(strangers)} disclosure(s) its system did not "
                            f"make (e.g. {strangers[0]})")
        for row in refused:
            failures.append(f"{store}: the sink refused {row['n']} record(s) from {row['source_topic']} "
                            f"(ce_type {row['ce_type']}, reason {row['reason_code']})")
    print("\ndisclosures (in the side's store / recorded by the bridge):",
          ", ".join(f"{store} {have}/{want}" for store, (have, want) in counts.items()))

    # The patient's access report (R4, R11) lists the full-consent referral's disclosure.
    referral_ids = {e.ce_id for e in scenario.events_where("full", "referral")}
    wanted = {d for d, event_id in bridge_disclosures["health-to-nav"].items() if event_id in referral_ids}
    report = subprocess.run(
        [BIN, "disclosures", "--patient", PATIENTS["full"].fnr, "--format", "json", "--allow-synthetic-ids",
         "--embedded", "true"],
        env=scenario.bridge.environment, cwd=scenario.bridge.workdir, capture_output=True, text=True, timeout=60)
    if not wanted:
        failures.append("the bridge store recorded no disclosure for the full-consent referrals")
    if report.returncode != 0:
        failures.append(f"`disclosures --patient <full> --format json` exited {report.returncode}: "
                        f"{report.stderr.strip() or report.stdout.strip()}")
    else:
        listed = json.loads(report.stdout) if report.stdout.strip().startswith("[") else []
        listed_ids = {entry.get("disclosureId") for entry in listed}
        if not wanted <= listed_ids:
            failures.append(f"`disclosures` for the full-consent patient lists {len(listed)} disclosure(s) "
                            f"but not the referral's {sorted(wanted - listed_ids)}; "
                            f"output: {report.stdout.strip()[:300]}")

    if failures:
        pytest.fail("stores and disclosure report:\n" + "\n".join(f"  - {f}" for f in failures), pytrace=False)


def _rows_as_text(db):
    """Every row of every table, as one text per row (blobs read as UTF-8)."""
    tables = [r["name"] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for row in db.execute(f'SELECT * FROM "{table}"'):
            yield table, " ".join(
                v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row if v is not None)


def test_bridge_store_keeps_no_person_link_for_anonymous_forwards(scenario):
    """R2: an anonymous copy's case reference is tied to the person only in the sending side's
    journal; once the bridge has handed the notice over, its own store holds no row that pairs
    the person with the case reference or the copy's id, and a person without consent appears
    nowhere in it."""
    failures = []
    data = scenario.bridge.data_dir
    with read_only(data / "health.sqlite") as journal:
        require_columns(journal, "disclosure_log", "subject_id", "form", "case_reference", "disclosure_id")
        anonymous = journal.execute(
            "SELECT subject_id, case_reference, disclosure_id FROM disclosure_log WHERE form = 'anonymous'").fetchall()
    if not anonymous:
        failures.append("the journal recorded no anonymous disclosure: the scenario proves nothing")
    with read_only(data / "bridge.sqlite") as bridge_db:
        rows = list(_rows_as_text(bridge_db))
    for entry in anonymous:
        for table, text in rows:
            if entry["subject_id"] in text and (entry["case_reference"] in text or entry["disclosure_id"] in text):
                failures.append(f"R2: bridge.sqlite table {table} ties the person to anonymous copy "
                                f"{entry['disclosure_id']}")
    unconsented = PATIENTS["none"].fnr
    holding = sorted({table for table, text in rows if unconsented in text})
    if holding:
        failures.append(f"R2: the no-consent patient's fødselsnummer is in bridge.sqlite tables {holding}")
    if failures:
        pytest.fail("bridge store:\n" + "\n".join(f"  - {f}" for f in failures[:20]), pytrace=False)


def test_bridge_store_keeps_no_copy_once_handed_over(scenario):
    """R9: what crosses is documented in the receiving side's own store; the bridge hands it
    over and keeps none of it. Once the relay has settled its outbox, no row of bridge.sqlite
    holds a copy's payload or a record's key, and none of the records the other sides
    received (copies and disclosure notices, byte for byte as read from their topics) is in
    the store's files on disk, erased cells included (the bridge has stopped: its files are
    complete)."""
    assert not scenario.problems, scenario.problems
    data = scenario.bridge.data_dir
    with read_only(data / "bridge.sqlite") as bridge_db:
        rows = bridge_db.execute(
            "SELECT COUNT(*) AS n, SUM(length(payload) > 0 OR kafka_key IS NOT NULL OR follower1_key IS NOT NULL"
            " OR follower2_key IS NOT NULL) AS kept FROM outbox").fetchone()
    assert rows["n"] > 0, "the bridge stored no outbox row: the scenario proves nothing"
    assert rows["kept"] == 0, f"{rows['kept']} of {rows['n']} settled outbox rows still hold a copy's content"
    # Nor who a copy was about or what the person consented to: the relay's re-check headers
    # (subject, categories) go with the content. The disclosure log keeps the person (R4).
    with read_only(data / "bridge.sqlite") as bridge_db:
        headers = [value for row in bridge_db.execute(
            "SELECT headers, follower1_headers, follower2_headers FROM outbox") for value in row if value]
    naming = [text for text in headers if any(fnr in text for fnr in ALL_TEST_IDS) or "cb-internal" in text]
    assert not naming, f"{len(naming)} settled outbox headers still name the person, e.g. {naming[0][:80]}…"
    on_disk = b"".join(path.read_bytes() for path in data.glob("bridge.sqlite*"))
    handed_over = [record for topic in INBOUND_TOPICS + DISCLOSURE_TOPICS for record in scenario.records[topic]
                   if record.value]
    assert handed_over, "nothing crossed: the scenario proves nothing"
    found = Counter(record.topic for record in handed_over if record.value in on_disk)
    assert not found, f"records the other side received are still in the bridge store's files: {dict(found)}"


def test_access_reports_come_from_each_sides_own_store_alone(scenario, tmp_path):
    """R11: each controller answers for its own part from its own store: the health report is
    made with only the journal at hand, each NAV system's with only its own store (R9)."""
    import shutil
    patient = PATIENTS["full"].fnr
    reports = {}
    for side, store in (("health", "health.sqlite"), ("nav", "nav.sqlite"), ("followup", "followup.sqlite")):
        alone = tmp_path / side
        alone.mkdir()
        for suffix in ("", "-wal", "-shm"):
            source = scenario.bridge.data_dir / (store + suffix)
            if source.exists():
                shutil.copy(source, alone / (store + suffix))
        result = subprocess.run(
            [BIN, "access-report", "--side", side, "--patient", patient, "--format", "json", "--allow-synthetic-ids",
             "--embedded", "true", "--data-directory", str(alone)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{side}: {result.stderr}"
        reports[side] = {s["title"]: s["rows"] for s in json.loads(result.stdout)["sections"]}
        assert sorted(p.name for p in alone.iterdir() if not p.name.startswith(store)) == [], "the report wrote beside the store"
    health, nav, followup = reports["health"], reports["nav"], reports["followup"]
    assert health["consents"], "the journal's report lists no consent for the consented patient"
    assert any(row["type"] == "no.ips.health.referral.v1" for row in health["disclosed to NAV"])
    # The full consent names both NAV roles: each system received its own copy of the referral.
    for name, report in (("nav", nav), ("followup", followup)):
        assert any(row["type"] == "no.ips.health.referral.v1" for row in report["received from the health service"]), name
        assert report["registered as IPS participant"], f"{name}: a referred participant is registered"
    # The NAV veileder never receives what is for the job specialist alone (R9).
    job_specialist_only = {"no.ips.health.work-relevant-health.v1", "no.ips.health.treatment-coordination.v1"}
    assert not job_specialist_only & {row["type"] for row in nav["received from the health service"]}
    assert job_specialist_only & {row["type"] for row in followup["received from the health service"]}, \
        "the scenario sends the job specialist work-relevant health or treatment coordination"


def test_navs_access_report_lists_as_shared_only_what_crossed(scenario, tmp_path):
    """R11 (the auditor's case): NAV's candidate suggestion about a person without consent
    crosses only in the anonymous form; NAV's report lists it as sent and shared, never also as
    NAV's own documentation "never shared"; what did not cross is never listed as shared."""
    import shutil
    patient = PATIENTS["none"].fnr
    for side, store in (("nav", "nav.sqlite"), ("followup", "followup.sqlite")):
        alone = tmp_path / side
        alone.mkdir()
        for suffix in ("", "-wal", "-shm"):
            source = scenario.bridge.data_dir / (store + suffix)
            if source.exists():
                shutil.copy(source, alone / (store + suffix))
        result = subprocess.run(
            [BIN, "access-report", "--side", side, "--patient", patient, "--format", "json", "--allow-synthetic-ids",
             "--embedded", "true", "--data-directory", str(alone)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{side}: {result.stderr}"
        report = {s["title"]: s["rows"] for s in json.loads(result.stdout)["sections"]}
        sent = {row["type"] for row in report["sent for the health service, through the consent bridge"]}
        shared = report["shared with the health service"]
        never_shared = {row["type"] for row in report["NAV's own follow-up documentation (never shared)"]}
        assert all(row["status"] == "disclosed" for row in shared), f"{side}: {shared}"
        assert not {row["type"] for row in shared} & never_shared, f"{side}: listed as shared and as never shared"
        assert not sent & never_shared, f"{side}: an event sent for health listed as never shared"
        if side == "nav":
            assert "no.ips.nav.candidate-suggestion.v1" in sent
            assert any(row["type"] == "no.ips.nav.candidate-suggestion.v1" for row in shared), \
                "the anonymous form of the candidate suggestion crossed"
            assert never_shared == set(), "NAV's case system has no documentation that never crosses"
        else:
            assert never_shared == {"no.ips.nav.follow-up-note.v1"}, never_shared

# ---- 4. oversized inputs do not hold up ordinary traffic --------------------------------------

OVERSIZED = {"~900 KB": 900 * 1024, "~2 MB": 2 * 1024 * 1024}
ORDINARY_COUNT = 100
ORDINARY_DEADLINE = 30  # s from sending to the receipt
SEND_INTERVAL = 0.02  # s: 50 referrals/s, so receipts spread over several batches and latencies mean something


def test_oversized_events_do_not_stall_ordinary_traffic(tmp_path, contracts):
    bridge = BridgeProcess(BIN, tmp_path).start()
    try:
        failures, latencies = feed_oversized_then_ordinary(bridge, contracts)
    finally:
        exit_code = bridge.stop()
    if latencies:
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
        print(f"\nreceipt latency of {len(ordered)} consented referrals after the oversized events: "
              f"p50 {statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
              f"max {ordered[-1] * 1000:.0f} ms")
    if exit_code != 0:
        failures.append(f"SIGTERM did not stop the bridge cleanly: exit code {exit_code}")
    if failures:
        pytest.fail("oversized inputs:\n" + "\n".join(f"  - {f}" for f in failures), pytrace=False)


def feed_oversized_then_ordinary(bridge: BridgeProcess, contracts) -> tuple[list[str], list[float]]:
    """One ~900 KB and one ~2 MB referral, then 100 ordinary consented referrals once the
    big ones have been decided (so the ordinary ones meet a bridge that has already handled
    them). Returns the failures and the ordinary referrals' receipt latencies."""
    referral = contracts["no.ips.health.referral.v1"]
    examples = referral.valid_examples()
    patient = Patient("full", date(1993, 7, 7), synthetic_fodselsnummer(date(1993, 7, 7), 211))
    bootstrap = bridge.wait_for_bootstrap()
    bridge.wait_until_ready()
    # Large enough for the 2 MB event (librdkafka's default cap is 1 MB).
    prod = producer(bootstrap, **{"message.max.bytes": 10 * 1024 * 1024})
    consent = consent_record(consent_example("granted-full-written.json"), patient, str(uuid.uuid4()), 1,
                             utc_now() - timedelta(days=1))
    errors = publish(prod, [(CONSENT_TOPIC, patient.fnr.encode(), json.dumps(consent).encode(),
                             cloud_event_headers(str(uuid.uuid4()), "no.ips.health.consent.v1",
                                                 source_of(CONSENT_TOPIC)), None)])
    assert not errors, errors
    wait_for_consent_view(bridge, {patient.fnr: 1})

    def as_item(event: PublishedEvent):
        body = json.dumps(event.body, ensure_ascii=False).encode("utf-8")
        return (HEALTH_OUTBOUND, event.subject.encode(), body,
                cloud_event_headers(event.ce_id, event.ce_type, source_of(HEALTH_OUTBOUND)), None)

    failures = []
    watcher = ReceiptWatcher(bootstrap)
    try:
        # Valid JSON, a real referral, with one free-text field blown up past every limit.
        oversized = {}
        for label, size in OVERSIZED.items():
            event = event_from_example(referral, examples[0][0], examples[0][1], "full", patient)
            event.body["referral"]["jobGoal"] = "x" * size
            errors = publish(prod, [as_item(event)])
            if not errors:
                oversized[label] = event
            elif label == "~2 MB":
                print(f"\nthe embedded broker refused the 2 MB produce ({errors[0]}): that part is not tested")
            else:
                failures.append(f"the embedded broker refused the {label} event: {errors[0]}")
        missing = watcher.wait_for([e.ce_id for e in oversized.values()], 30, alive=bridge.assert_alive)
        for label, event in oversized.items():
            receipt = watcher.receipts.get(event.ce_id)
            print(f"{label} event: receipt {receipt[1].get('outcome')}/{receipt[1].get('reasonCode')}" if receipt
                  else f"{label} event: no receipt")
            if event.ce_id in missing:
                failures.append(f"the {label} event got no receipt within 30 s")

        ordinary, sent_at = [], {}
        start = time.monotonic()
        for index in range(ORDINARY_COUNT):
            # Reading receipts is the pause between sends, so each receipt is timed as it lands.
            while (pause := start + index * SEND_INTERVAL - time.monotonic()) > 0:
                watcher.poll(pause)
            name, example = examples[index % len(examples)]
            event = event_from_example(referral, name, example, "full", patient)
            topic, key, value, headers, _ = as_item(event)
            prod.produce(topic, key=key, value=value, headers=headers)
            prod.poll(0)
            sent_at[event.ce_id] = time.monotonic()
            ordinary.append(event)
        assert prod.flush(30) == 0, "ordinary referrals not delivered to the embedded broker"
        watcher.wait_for(sent_at, max(0.0, max(sent_at.values()) + ORDINARY_DEADLINE - time.monotonic()),
                         alive=bridge.assert_alive)

        latencies, missing_count, late, not_accepted = [], 0, 0, []
        for event in ordinary:
            if event.ce_id not in watcher.receipts:
                missing_count += 1
                continue
            latency = watcher.seen_at[event.ce_id] - sent_at[event.ce_id]
            latencies.append(latency)
            late += latency > ORDINARY_DEADLINE
            if watcher.receipts[event.ce_id][1].get("outcome") != "accepted":
                not_accepted.append(watcher.receipts[event.ce_id][1])
        if missing_count:
            failures.append(f"{missing_count} of {ORDINARY_COUNT} consented referrals sent after the oversized events "
                            f"got no receipt within {ORDINARY_DEADLINE} s")
        if late:
            failures.append(f"{late} of {ORDINARY_COUNT} consented referrals got their receipt more than "
                            f"{ORDINARY_DEADLINE} s after being sent")
        if not_accepted:
            failures.append(f"{len(not_accepted)} of {ORDINARY_COUNT} consented referrals were not accepted, "
                            f"e.g. {not_accepted[0]}")
    finally:
        watcher.close()
    del prod  # our client goes before the embedded broker does

    failures += check_rejection_notices(bridge, bootstrap, contracts, oversized)
    return failures, latencies


def check_rejection_notices(bridge, bootstrap, contracts, oversized: dict) -> list[str]:
    """bridge.rejected: a notice for each oversized event (it was rejected: the operator must
    learn of it), none larger than 256 KiB, each true to rejected.schema.json."""
    failures = []

    def notices():
        return read_everything(bootstrap, [REJECTED])[REJECTED]

    def named(records):
        ids = set()
        for record in records:
            try:
                ids.add(record.json().get("messageId"))
            except (ValueError, AttributeError):
                pass
        return ids

    wanted = {event.ce_id: label for label, event in oversized.items()}
    try:
        wait_until("rejection notices of the oversized events", lambda: set(wanted) <= named(notices()), 30,
                   interval=0.5, alive=bridge.assert_alive)
    except TimeoutError:
        pass  # reported below, from what is there
    rejected = notices()
    for ce_id in sorted(set(wanted) - named(rejected)):
        failures.append(f"no notice on bridge.rejected for the {wanted[ce_id]} event within 30 s")

    checker, report = format_checker(), FailureReport()
    for record in rejected:
        size = len(record.value or b"")
        if size > BODY_LIMIT:
            report.add(record.ce_type, f"record larger than {BODY_LIMIT} bytes", f"{record.where()}: {size} bytes")
        check_record_against_contract(record, contracts, checker, report)
    largest = max((len(r.value or b"") for r in rejected), default=0)
    print(f"bridge.rejected: {len(rejected)} record(s), largest {largest} bytes")
    if report:
        failures.append(report.render("bridge.rejected"))
    return failures


# ---- R10: breaches ----------------------------------------------------------------------------

def test_R10_sinks_take_nothing_the_bridge_published_for_a_breach(scenario):
    """Every record the bridge forwarded honours its contract, so neither sink quarantined
    anything and no breach notice exists. The sinks must have taken the scenario's output
    first (an empty quarantine of a sink that read nothing proves nothing)."""
    assert not scenario.problems, scenario.problems
    data = scenario.bridge.data_dir
    taken = {"health.sqlite": "disclosure_log", "nav.sqlite": "events_from_health",
             "followup.sqlite": "events_from_health"}
    for store, table in taken.items():
        with read_only(data / store) as db:
            assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] > 0, f"{store}: {table} is empty"
            require_columns(db, "quarantine", "breach_id", "reason_code")
            reasons = [row["reason_code"] for row in db.execute("SELECT reason_code FROM quarantine")]
            assert not reasons, f"{store} quarantined bridge output: {Counter(reasons)}"


def test_R10_breaches_at_either_sink_reach_both_parties(tmp_path, contracts):
    """A faulty writer puts on each inbound topic what that side must never hold. Each sink
    quarantines it sealed (out of its tables) and both parties' breach topics carry a
    content-free notice that honours breach-notice.schema.json; both stores file them."""
    patient = PATIENTS["full"].fnr
    def example(ce_type):
        contract = contracts[ce_type]
        name, body = contract.valid_examples()[0]
        return event_from_example(contract, name, body, "full", PATIENTS["full"]).body
    job_status = example("no.ips.nav.job-status.v1")
    referral = example("no.ips.health.referral.v1")
    with_diagnosis = dict(referral, diagnosis=f"F20 hos {patient}")
    # Valid against its contract, but its treatment reason is health information the veileder's
    # case system may never hold (R13); the bridge removes it from the veileder's copy.
    change = contracts["no.ips.health.participation-change.v1"]
    with_reason = next(
        event_from_example(change, name, body, "full", PATIENTS["full"]).body
        for name, body in change.valid_examples() if "reason" in body)
    provoked = [  # (topic, ce_type, body, reason, detecting sink)
        (HEALTH_INBOUND, "no.ips.nav.follow-up-note.v1", {"note": f"oppfølging av {patient}"},
         "nav-internal-documentation", "health-journal-sink"),
        (HEALTH_INBOUND, "no.ips.nav.job-status.v1", dict(job_status, extra=patient), "contract-violation", "health-journal-sink"),
        (NAV_INBOUND, "no.ips.health.referral.v1", with_diagnosis, "contract-violation", "nav-case-sink"),
        (NAV_INBOUND, "no.ips.nav.follow-up-note.v1", job_status, "unaccepted-event-type", "nav-case-sink"),
        (NAV_INBOUND, "no.ips.health.participation-change.v1", with_reason, "not-for-recipient-role", "nav-case-sink"),
    ]
    # Sealing keys of the two sides, so that the security officer can open the quarantine after the
    # run (an embedded run without them seals with a key that ends with the run).
    keys = sealing_keys("test")
    bridge = BridgeProcess(BIN, tmp_path, extra_env=keys).start()
    try:
        bootstrap = bridge.wait_for_bootstrap()
        bridge.wait_until_ready()
        prod = producer(bootstrap)
        errors = publish(prod, [
            (topic, patient.encode(), json.dumps(body, ensure_ascii=False).encode("utf-8"),
             cloud_event_headers(str(uuid.uuid4()), ce_type, "urn:test:faulty-writer"), None)
            for topic, ce_type, body, _, _ in provoked])
        assert not errors, errors

        def notices_arrived():
            records = read_everything(bootstrap, (HEALTH_BREACHES, NAV_BREACHES), timeout=10)
            return all(len(records[t]) >= len(provoked) for t in (HEALTH_BREACHES, NAV_BREACHES))
        wait_until("breach notices on both breach topics", notices_arrived, 60, interval=0.5, alive=bridge.assert_alive)
        wait_for_sinks(bridge, bootstrap)
        records = read_everything(bootstrap, (HEALTH_BREACHES, NAV_BREACHES))
    finally:
        exit_code = bridge.stop()
    assert exit_code == 0, bridge.stderr_tail(3000)

    report = FailureReport()
    checker = format_checker()
    expected = sorted(f"{sink} {reason}" for _, _, _, reason, sink in provoked)
    for topic in (HEALTH_BREACHES, NAV_BREACHES):
        seen = []
        for record in records[topic]:
            check_record_against_contract(record, contracts, checker, report)
            assert patient.encode() not in record.all_bytes(), f"{record.where()}: the notice carries the person"
            notice = record.json()
            assert record.ce_id == notice["breachId"] and record.key == notice["breachId"].encode()
            seen.append(f"{notice['detectedBy']} {notice['reason']}")
        assert sorted(seen) == expected, f"{topic}: {sorted(seen)}"
    assert not report, report.render("breach notices")

    data = bridge.data_dir
    for store, table, quarantined in (("health.sqlite", "events_from_nav", 2), ("nav.sqlite", "events_from_health", 3)):
        with read_only(data / store) as db:
            filed = db.execute("SELECT COUNT(*) AS n FROM breach_log").fetchone()["n"]
            assert filed == len(provoked), f"{store} filed {filed} of {len(provoked)} breach notices"
            rows = db.execute("SELECT reason_code, sealed_record FROM quarantine").fetchall()
            assert len(rows) == quarantined, store
            for row in rows:
                assert patient.encode() not in bytes(row["sealed_record"]), f"{store}: quarantine holds the person in the clear"
            assert db.execute(f"SELECT COUNT(*) AS n FROM {table}").fetchone()["n"] == 0, f"{store}: a breach reached {table}"
    assert patient not in bridge.stderr_tail(10_000_000), "the person reached the logs"

    # The security officer's view of each side: filed notices and the own quarantine, no content.
    for side, quarantined in (("health", 2), ("nav", 3)):
        listed = subprocess.run(
            [BIN, "breaches", "--side", side, "--json", "--embedded", "true"],
            env=bridge.environment, capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        report = json.loads(listed.stdout)
        assert sorted(f"{n['detectedBy']} {n['reason']}" for n in report["filed"]) == expected
        assert len(report["quarantined"]) == quarantined
        assert patient not in listed.stdout + listed.stderr

    # The NAV side's security officer opens the record with the diagnosis: exactly as received,
    # into a file only its owner may read, never to the terminal.
    with read_only(data / "nav.sqlite") as db:
        breach_id = db.execute("SELECT breach_id FROM quarantine WHERE reason_code = 'contract-violation'").fetchone()[0]
    opened_path = tmp_path / "opened.json"
    opened = subprocess.run(
        [BIN, "breaches", "--side", "nav", "--open", breach_id, "--output", str(opened_path), "--embedded", "true"],
        env=bridge.environment, capture_output=True, text=True, timeout=60)
    assert opened.returncode == 0, opened.stderr
    assert patient not in opened.stdout + opened.stderr
    assert (opened_path.stat().st_mode & 0o777) == 0o600
    record = json.loads(opened_path.read_text())
    assert record["topic"] == NAV_INBOUND
    assert base64.b64decode(record["key"]).decode() == patient
    assert json.loads(base64.b64decode(record["value"]))["diagnosis"] == f"F20 hos {patient}"
    again = subprocess.run(
        [BIN, "breaches", "--side", "nav", "--open", breach_id, "--output", str(opened_path), "--embedded", "true"],
        env=bridge.environment, capture_output=True, text=True, timeout=60)
    assert again.returncode != 0, "an existing file is never overwritten"
    # Only NAV's key opens NAV's quarantine.
    wrong_key = dict(bridge.environment, CONSENT_BRIDGE_NAV_SEALING_KEY=base64.b64encode(bytes(range(200, 232))).decode())
    refused = subprocess.run(
        [BIN, "breaches", "--side", "nav", "--open", breach_id, "--output", str(tmp_path / "x.json"), "--embedded", "true"],
        env=wrong_key, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "does not open" in refused.stderr, refused.stderr
    assert not (tmp_path / "x.json").exists()
