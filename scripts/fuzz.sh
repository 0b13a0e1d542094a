#!/usr/bin/env bash
# libFuzzer over every decoder (docs/decoders.md): builds the harness with
# -sanitize=fuzzer,address, seeds one corpus per decoder from the fixtures,
# and fuzzes each decoder for SECONDS (default 600), two at a time.
#
#   bash scripts/fuzz.sh [SECONDS] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
SECONDS_EACH="${1:-600}"
WORK="${2:-/tmp/geneva-fuzz}"
swift build --product geneva-fuzz --scratch-path .build-fuzz -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING >&2
FUZZ=.build-fuzz/debug/geneva-fuzz
NAMES=(captures frames dns tls http-smtp maillogs intel stix-csv)
seed() {  # decoder-number file...
  local n="$1"; shift
  mkdir -p "$WORK/corpus-$n"
  for f in "$@"; do
    [ -f "$f" ] || continue
    { printf '\x00\x07'; head -c 65536 "$f"; } > "$WORK/corpus-$n/$(basename "$f")"
  done
}
seed 0 ../shared/fixtures-real/pcap/* Fixtures/demo/captures/*
seed 1 Fixtures/demo/captures/*
seed 2 Fixtures/demo/captures/*
seed 3 ../shared/fixtures-real/pcap/*tls*
seed 4 ../shared/fixtures-real/pcap/*http* ../shared/fixtures-real/pcap/*smtp*
seed 5 ../shared/fixtures-real/maillog/*
seed 6 ../shared/fixtures-real/intel/* Fixtures/demo/intel.csv
seed 7 Fixtures/demo/intel.csv
run() {
  local n="$1"
  mkdir -p "$WORK/artifacts-$n"
  GENEVA_FUZZ_DECODER="$n" "$FUZZ" -max_total_time="$SECONDS_EACH" -rss_limit_mb=4096 -timeout=10 \
    -artifact_prefix="$WORK/artifacts-$n/" "$WORK/corpus-$n" > "$WORK/log-$n.txt" 2>&1 && status=0 || status=$?
  local runs; runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$WORK/log-$n.txt" | tail -1 | grep -o '[0-9]*$' || true)
  [ -n "$runs" ] || runs=$(grep -oE '#[0-9]+' "$WORK/log-$n.txt" | tail -1 | tr -d '#')
  echo "decoder $n (${NAMES[$n]}): exit $status, ${runs:-?} executions, $(ls "$WORK/artifacts-$n" | wc -l) crash artifacts"
}
for pair in "0 1" "2 3" "4 5" "6 7"; do
  set -- $pair
  run "$1" & run "$2" & wait
done
