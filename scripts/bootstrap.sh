#!/usr/bin/env bash
# Installs what running ConsentBridge needs on a fresh Debian machine with Swift 6.x already
# present: librdkafka (Kafka client and embedded broker), SQLite, jemalloc and pkg-config. The test
# tools are installed by scripts/bootstrap-test.sh. Safe to run repeatedly.
set -euo pipefail

need_apt=()
dpkg -s librdkafka-dev >/dev/null 2>&1 || need_apt+=(librdkafka-dev)
dpkg -s libsqlite3-dev >/dev/null 2>&1 || need_apt+=(libsqlite3-dev)
# The allocator the executable links (Package.swift, ProcessAllocator.swift).
dpkg -s libjemalloc-dev >/dev/null 2>&1 || need_apt+=(libjemalloc-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bootstrap: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
