#!/usr/bin/env bash
# Installs what the tests need beyond running (scripts/bootstrap.sh): kcat (interop tests),
# PostgreSQL (store tests), Debian's chromium and its driver (the operator page's browser
# test), and the Python tools the tests use as independent oracles. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh

need_apt=()
command -v kcat >/dev/null 2>&1 || need_apt+=(kcat)
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-pip)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bootstrap: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

python_packages=(jsonschema pytest confluent-kafka pyyaml selenium)
if [ -f scripts/python-requirements.txt ]; then
  mapfile -t extra < <(grep -vE '^\s*(#|$)' scripts/python-requirements.txt)
  python_packages+=("${extra[@]}")
fi
missing=$(python3 - "${python_packages[@]}" <<'PY'
import importlib.metadata, sys
missing = []
for name in sys.argv[1:]:
    base = name.split("==")[0].split(">=")[0]
    try:
        importlib.metadata.version(base)
    except importlib.metadata.PackageNotFoundError:
        missing.append(name)
print(" ".join(missing))
PY
)
if [ -n "$missing" ]; then
  echo "bootstrap: pip installing $missing"
  python3 -m pip install -q --disable-pip-version-check $missing
fi
