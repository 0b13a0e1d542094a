#!/usr/bin/env bash
# Intel import benchmark (issue 6): a generated 1,000,000-indicator STIX 2.1
# bundle and the same indicators as CSV, each imported into a fresh SQLite
# database by the release build; then the matching snapshot (IndicatorSet) is
# built from each database. Prints one JSON line per measurement.
#
#   bash Benchmarks/intel/run.sh [N] [WORKDIR]     # N = 1000000, WORKDIR = /tmp/geneva-intel-bench
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
N="${1:-1000000}"
WORK="${2:-/tmp/geneva-intel-bench}"
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
mkdir -p "$WORK"
if [ ! -s "$WORK/bench.csv" ] || [ "$(($(wc -l < "$WORK/bench.csv") - 1))" != "$N" ]; then
  python3 Benchmarks/intel/gen_intel.py "$WORK" "$N"
fi
swift build -c release --product geneva >&2
GENEVA="$(swift build -c release --show-bin-path)/geneva"
for f in bench.csv bench.stix.json; do
  db="$WORK/$f.sqlite"
  rm -f "$db" "$db-wal" "$db-shm"
  /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$GENEVA" intel import --db "$db" "$WORK/$f" >&2
  read -r seconds rss_kb < "$WORK/time.txt"
  size=$(stat -c %s "$WORK/$f")
  snapshot=$("$GENEVA" intel stats --db "$db" --snapshot --format json | python3 -c 'import json,sys; s=json.load(sys.stdin)["snapshot"]; print(s["bytes"], s["resident_growth_bytes"])')
  read -r set_bytes set_rss <<< "$snapshot"
  python3 - "$f" "$N" "$size" "$seconds" "$rss_kb" "$set_bytes" "$set_rss" <<'PY'
import json, sys
f, n, size, seconds, rss_kb, set_bytes, set_rss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
print(json.dumps({"file": f, "indicators": n, "file_bytes": size, "import_seconds": seconds,
                  "indicators_per_second": round(n / seconds), "import_peak_rss_bytes": rss_kb * 1024,
                  "import_peak_rss_over_file": round(rss_kb * 1024 / size, 2),
                  "snapshot_bytes": set_bytes, "snapshot_over_file": round(set_bytes / size, 3),
                  "snapshot_resident_growth_bytes": set_rss, "snapshot_resident_over_file": round(set_rss / size, 3)}))
PY
done
