#!/usr/bin/env bash
# Leaves (docs/architecture.md) import the standard library only.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for leaf in WireParsing PatternMatcher TelemetryModel; do
  [ -d "Sources/$leaf" ] || continue
  if bad=$(grep -rnE '^\s*(@[A-Za-z_]+\s+)*(public |package |internal |private |fileprivate )?import\s' "Sources/$leaf" \
        | grep -vE 'import\s+(Swift|_Builtin_intrinsics(\.[a-z]+)*)\s*$'); then
    echo "leaf $leaf imports more than the standard library:" >&2
    echo "$bad" >&2
    status=1
  fi
done
exit $status
