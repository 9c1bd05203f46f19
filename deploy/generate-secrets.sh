#!/bin/sh
# Writes the Compose secrets of docker-compose.yml into deploy/secrets/ (git-ignored) with
# fresh random passwords and sealing keys, consistent across files: each store URL
# carries the password of its own PostgreSQL server; each Kafka client reads the same
# password file the brokers build their user table from.
# Refuses to overwrite (rotation is a deliberate step: docs/operations.md).
# Usage: deploy/generate-secrets.sh [SECRETS_DIR]
set -eu
dir="${1:-$(dirname "$0")/secrets}"
mkdir -p "$dir"
# The directory keeps other host users out; the files are world-readable so that the
# containers' non-root users (kafka, consent-bridge) can read their bind-mounted copies.
chmod 700 "$dir"
umask 022

names="sasl-admin-password sasl-bridge-password sasl-health-password sasl-nav-password
sasl-followup-password sasl-health-sink-password sasl-nav-sink-password
sasl-followup-sink-password sasl-operator-password
postgres-bridge-password postgres-health-password postgres-nav-password postgres-followup-password
bridge-store-url health-store-url nav-store-url followup-store-url health-sealing-key nav-sealing-key
operator-viewer-tokens operator-operator-tokens"
for name in $names; do
    if [ -e "$dir/$name" ]; then
        echo "generate-secrets: $dir/$name exists; remove the old secrets first to regenerate" >&2
        exit 1
    fi
done

# URL- and JAAS-safe random passwords: no character that needs escaping.
password() { head -c 24 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_'; }
sealing_key() { head -c 32 /dev/urandom | base64 | tr -d '\n'; }

for name in sasl-admin-password sasl-bridge-password sasl-health-password sasl-nav-password \
            sasl-followup-password sasl-health-sink-password sasl-nav-sink-password \
            sasl-followup-sink-password sasl-operator-password \
            postgres-bridge-password postgres-health-password postgres-nav-password \
            postgres-followup-password operator-viewer-tokens operator-operator-tokens; do
    password > "$dir/$name"
done
for side in bridge health nav followup; do
    printf 'postgres://%s:%s@postgres-%s:5432/%s?sslmode=disable' \
        "$side" "$(cat "$dir/postgres-$side-password")" "$side" "$side" > "$dir/$side-store-url"
done
sealing_key > "$dir/health-sealing-key"
sealing_key > "$dir/nav-sealing-key"
echo "generate-secrets: wrote $(echo $names | wc -w) secrets to $dir (never commit them)"
