#!/usr/bin/env bash
# The main job on bundled demo data: installs what is needed, builds, imports
# Fixtures/demo's intel and customers into a fresh SQLite database, scans each
# customer's capture, and prints the report (headline first).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
bash scripts/install-deps.sh
swift build --product geneva >&2
GENEVA="$(swift build --show-bin-path)/geneva"
mkdir -p out
export GENEVA_DB="out/demo.sqlite"
rm -f "$GENEVA_DB" "$GENEVA_DB-wal" "$GENEVA_DB-shm"
{
  "$GENEVA" intel import Fixtures/demo/intel.csv
  "$GENEVA" customers import Fixtures/demo/customers.csv
  for capture in Fixtures/demo/captures/*.pcap; do
    "$GENEVA" scan --customer "$(basename "$capture" .pcap)" --sensor demo-sensor "$capture"
  done
} >&2
echo >&2
"$GENEVA" report --format text
