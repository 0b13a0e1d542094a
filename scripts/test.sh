#!/usr/bin/env bash
# Runs every test: installs what is needed, checks that the leaf targets
# import the standard library only, then `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
bash scripts/install-deps.sh
# The export tests check `geneva export` with independent tools from PyPI.
if ! python3 -c "import stix2validator, pymisp" 2>/dev/null; then
  echo "installing: stix2-validator pymisp (PyPI)" >&2
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore stix2-validator pymisp >&2
fi
# The store suite runs on SQLite and on PostgreSQL: a private server on loopback.
export GENEVA_TEST_DATABASE_URL="${GENEVA_TEST_DATABASE_URL:-$(bash scripts/postgres-test-server.sh)}"
echo "PostgreSQL for the tests: $GENEVA_TEST_DATABASE_URL" >&2
bash scripts/check-leaves.sh
swift build --build-tests
swift test --skip-build
