#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster, then removes the cluster.
#
#   scripts/with-postgres.sh swift test --filter ConsentStorageTests
#
# - Uses Debian's PostgreSQL (/usr/lib/postgresql/<version>/bin); installs the `postgresql`
#   package with apt-get only when no server binaries are found.
# - The cluster lives in a new temporary folder, is owned by a non-root user (PostgreSQL
#   refuses to run as root; as root this script creates/uses the system user `consentci`),
#   listens on 127.0.0.1 only, on a free port, and accepts only password (SCRAM) logins
#   over TCP.
# - Creates the role and database the tests use (the role may create databases, so each
#   test suite can make its own clean database) and exports
#     CONSENT_BRIDGE_TEST_POSTGRES_URL=postgres://USER:PASSWORD@127.0.0.1:PORT/DB
# - Runs the command with that variable set, stops the cluster, deletes the folder, and
#   exits with the command's exit code.
# - WITH_POSTGRES_DURABLE=1 keeps the server's default durability (fsync on); otherwise fsync
#   and full-page writes are off, which only tests may assume.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARGUMENT...]" >&2
    exit 64
fi

log() { echo "with-postgres: $*" >&2; }

find_pg_bin() {
    local candidate
    # Newest major version first.
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
        if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" && -x "$candidate/postgres" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if ! PG_BIN=$(find_pg_bin); then
    if [[ $(id -u) -ne 0 ]]; then
        log "PostgreSQL server binaries are missing and installing them needs root: apt-get install -y postgresql"
        exit 69
    fi
    log "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    PG_BIN=$(find_pg_bin) || { log "no PostgreSQL server binaries after installing postgresql"; exit 69; }
fi

# PostgreSQL will not run as root: run the server as a dedicated unprivileged user.
if [[ $(id -u) -eq 0 ]]; then
    PG_USER=consentci
    if ! id -u "$PG_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER"
    fi
    as_pg() { runuser -u "$PG_USER" -- "$@"; }
else
    PG_USER=$(id -un)
    as_pg() { "$@"; }
fi

CLUSTER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/consent-pg.XXXXXX")
chmod 700 "$CLUSTER_DIR"
if [[ $(id -u) -eq 0 ]]; then
    chown "$PG_USER" "$CLUSTER_DIR"
fi
DATA_DIR="$CLUSTER_DIR/data"
SOCKET_DIR="$CLUSTER_DIR/socket"
SERVER_LOG="$CLUSTER_DIR/server.log"
STARTED=0

cleanup() {
    local status=$?
    if [[ $STARTED -eq 1 ]]; then
        as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m fast -w stop >/dev/null 2>&1 || {
            log "fast stop failed; stopping immediately"
            as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m immediate -w stop >/dev/null 2>&1 || true
        }
    fi
    rm -rf "$CLUSTER_DIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

random_hex() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

SUPERUSER_PASSWORD=$(random_hex)
TEST_ROLE=consent_test
TEST_DB=consent_test
TEST_PASSWORD=$(random_hex)

as_pg mkdir -p "$SOCKET_DIR"
printf '%s\n' "$SUPERUSER_PASSWORD" | as_pg tee "$CLUSTER_DIR/pwfile" >/dev/null
as_pg "$PG_BIN/initdb" -D "$DATA_DIR" -U postgres --pwfile="$CLUSTER_DIR/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
rm -f "$CLUSTER_DIR/pwfile"

# A free port on the loopback interface (the kernel picks one; a race with another
# process taking it before the server binds is retried below).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Tests need no durability across a machine crash: fsync off makes them faster. Benchmarks of
# the production store set WITH_POSTGRES_DURABLE=1 to keep the server's defaults (fsync,
# full-page writes).
DURABILITY="-c fsync=off -c full_page_writes=off"
if [[ "${WITH_POSTGRES_DURABLE:-0}" == 1 ]]; then
    DURABILITY=""
    log "server defaults for durability (fsync on)"
fi

for attempt in 1 2 3 4 5; do
    PORT=$(free_port)
    if as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$SERVER_LOG" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $SOCKET_DIR $DURABILITY" \
        start >/dev/null; then
        STARTED=1
        break
    fi
    log "server did not start on port $PORT (attempt $attempt)"
    tail -n 5 "$SERVER_LOG" >&2 || true
done
if [[ $STARTED -ne 1 ]]; then
    log "could not start PostgreSQL"
    exit 70
fi

psql_admin() {
    as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PORT" -U postgres -d postgres "$@"
}
psql_admin -c "CREATE ROLE $TEST_ROLE LOGIN CREATEDB PASSWORD '$TEST_PASSWORD'"
psql_admin -c "CREATE DATABASE $TEST_DB OWNER $TEST_ROLE"

export CONSENT_BRIDGE_TEST_POSTGRES_URL="postgres://$TEST_ROLE:$TEST_PASSWORD@127.0.0.1:$PORT/$TEST_DB"
log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (cluster in $CLUSTER_DIR)"

set +e
"$@"
status=$?
set -e
exit "$status"
