#!/bin/sh
# One-shot job (service `kafka-topics` in docker-compose.yml): creates the topics listed in
# deploy/kafka/topics.txt and the ACLs in deploy/kafka/acls.txt, as the super user `admin`.
# Idempotent: existing topics keep their data, their configs are brought in line, and
# adding an ACL that exists is a no-op. Exits non-zero on any failure, so the bridge
# (which depends on this job completing successfully) does not start on a half-made cluster.
set -eu

: "${BOOTSTRAP_SERVERS:?BOOTSTRAP_SERVERS is not set}"
: "${SASL_ADMIN_PASSWORD_FILE:?SASL_ADMIN_PASSWORD_FILE is not set}"
if [ ! -s "$SASL_ADMIN_PASSWORD_FILE" ]; then
    echo "kafka-topics: $SASL_ADMIN_PASSWORD_FILE is missing or empty (run deploy/generate-secrets.sh)" >&2
    exit 1
fi
SASL_ADMIN_PASSWORD=$(tr -d '\r\n' < "$SASL_ADMIN_PASSWORD_FILE")
REPLICATION_FACTOR="${REPLICATION_FACTOR:-3}"
MIN_INSYNC_REPLICAS="${MIN_INSYNC_REPLICAS:-2}"
TOPICS_FILE="${TOPICS_FILE:-/deploy/kafka/topics.txt}"
ACLS_FILE="${ACLS_FILE:-/deploy/kafka/acls.txt}"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"

umask 077
config=$(mktemp)
trap 'rm -f "$config"' EXIT
cat > "$config" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$SASL_ADMIN_PASSWORD";
PROPS
unset SASL_ADMIN_PASSWORD

kafka_tool() { tool=$1; shift; "$KAFKA_BIN/$tool" --bootstrap-server "$BOOTSTRAP_SERVERS" --command-config "$config" "$@"; }

BROKER_WAIT_ATTEMPTS="${BROKER_WAIT_ATTEMPTS:-60}"
BROKER_WAIT_SECONDS="${BROKER_WAIT_SECONDS:-5}"

echo "kafka-topics: waiting for $REPLICATION_FACTOR brokers"
attempt=0
until [ "$(kafka_tool kafka-broker-api-versions.sh 2>/dev/null | grep -c '(id: ')" -ge "$REPLICATION_FACTOR" ]; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge "$BROKER_WAIT_ATTEMPTS" ]; then
        echo "kafka-topics: fewer than $REPLICATION_FACTOR brokers after $attempt attempts" >&2
        exit 1
    fi
    sleep "$BROKER_WAIT_SECONDS"
done

grep -v '^[[:space:]]*#' "$TOPICS_FILE" | grep -v '^[[:space:]]*$' | while read -r topic partitions configs; do
    settings="min.insync.replicas=$MIN_INSYNC_REPLICAS,$configs"
    config_args=""
    for setting in $(echo "$settings" | tr ',' ' '); do config_args="$config_args --config $setting"; done
    echo "kafka-topics: $topic ($partitions partitions, replication $REPLICATION_FACTOR, $settings)"
    # shellcheck disable=SC2086
    kafka_tool kafka-topics.sh --create --if-not-exists --topic "$topic" \
        --partitions "$partitions" --replication-factor "$REPLICATION_FACTOR" $config_args
    kafka_tool kafka-configs.sh --alter --entity-type topics --entity-name "$topic" --add-config "$settings"
done

grep -v '^[[:space:]]*#' "$ACLS_FILE" | grep -v '^[[:space:]]*$' | while read -r principal operation resource name pattern; do
    case "$resource" in
        topic) target="--topic $name" ;;
        group) target="--group $name" ;;
        cluster) target="--cluster" ;;
        *) echo "kafka-topics: unknown ACL resource type $resource" >&2; exit 1 ;;
    esac
    echo "kafka-topics: allow User:$principal $operation on $resource $name ($pattern)"
    # shellcheck disable=SC2086
    kafka_tool kafka-acls.sh --add --allow-principal "User:$principal" --operation "$operation" \
        $target --resource-pattern-type "$pattern" > /dev/null
done
echo "kafka-topics: done"
