#!/bin/sh
# Entrypoint wrapper for the apache/kafka broker containers (docker-compose.yml).
# Builds the SASL/PLAIN user table from the Compose secrets /run/secrets/sasl-*-password
# (deploy/secrets/, not committed) into a JAAS file readable only by the broker user, then
# starts the image's own entrypoint. Passwords never appear in the compose file, the
# image, the environment or the process list.
set -eu
SECRETS_DIR="${SECRETS_DIR:-/run/secrets}"

secret() {
    if [ ! -r "$SECRETS_DIR/$1" ] || [ ! -s "$SECRETS_DIR/$1" ]; then
        echo "start-broker: secret $1 is missing or empty (run deploy/generate-secrets.sh)" >&2
        exit 1
    fi
    tr -d '\r\n' < "$SECRETS_DIR/$1"
}
SASL_ADMIN_PASSWORD=$(secret sasl-admin-password)
SASL_BRIDGE_PASSWORD=$(secret sasl-bridge-password)
SASL_HEALTH_PASSWORD=$(secret sasl-health-password)
SASL_NAV_PASSWORD=$(secret sasl-nav-password)
SASL_FOLLOWUP_PASSWORD=$(secret sasl-followup-password)
SASL_HEALTH_SINK_PASSWORD=$(secret sasl-health-sink-password)
SASL_NAV_SINK_PASSWORD=$(secret sasl-nav-sink-password)
SASL_FOLLOWUP_SINK_PASSWORD=$(secret sasl-followup-sink-password)
SASL_OPERATOR_PASSWORD=$(secret sasl-operator-password)

secrets="${KAFKA_SECRETS_DIR:-/tmp/kafka-secrets}"
umask 077
mkdir -p "$secrets"
cat > "$secrets/kafka_server_jaas.conf" <<JAAS
KafkaServer {
    org.apache.kafka.common.security.plain.PlainLoginModule required
    username="admin"
    password="$SASL_ADMIN_PASSWORD"
    user_admin="$SASL_ADMIN_PASSWORD"
    user_bridge="$SASL_BRIDGE_PASSWORD"
    user_health="$SASL_HEALTH_PASSWORD"
    user_nav="$SASL_NAV_PASSWORD"
    user_followup="$SASL_FOLLOWUP_PASSWORD"
    user_health-sink="$SASL_HEALTH_SINK_PASSWORD"
    user_nav-sink="$SASL_NAV_SINK_PASSWORD"
    user_followup-sink="$SASL_FOLLOWUP_SINK_PASSWORD"
    user_operator="$SASL_OPERATOR_PASSWORD";
};
JAAS
# Client settings for the health check (kafka-broker-api-versions.sh) in this container.
cat > "$secrets/admin.properties" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$SASL_ADMIN_PASSWORD";
PROPS
# The passwords were shell variables, never exported; clear them anyway.
unset SASL_ADMIN_PASSWORD SASL_BRIDGE_PASSWORD SASL_HEALTH_PASSWORD SASL_NAV_PASSWORD \
      SASL_FOLLOWUP_PASSWORD SASL_HEALTH_SINK_PASSWORD SASL_NAV_SINK_PASSWORD \
      SASL_FOLLOWUP_SINK_PASSWORD SASL_OPERATOR_PASSWORD

# KAFKA_OPTS is passed to the JVM, not turned into a server property by the image.
export KAFKA_OPTS="${KAFKA_OPTS:-} -Djava.security.auth.login.config=$secrets/kafka_server_jaas.conf"
exec "${KAFKA_RUN:-/etc/kafka/docker/run}"
