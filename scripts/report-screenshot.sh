#!/usr/bin/env bash
# Renders the HTML report of the demo (or of --db DB) with headless Chromium
# to a PNG, to look at the charts:
#   bash scripts/report-screenshot.sh [OUT.png] [--db DB]
# Needs chromium (apt-get install chromium). Builds geneva if needed and, with
# no --db, loads the demo data first (scripts/demo.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/report.png}
shift || true
mkdir -p "$(dirname "$out")" out
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "report-screenshot.sh: chromium not found (apt-get install chromium)" >&2; exit 1; }
if [ "${1:-}" = "--db" ]; then
  db=$2
  bin=$(swift build --show-bin-path)/geneva
  [ -x "$bin" ] || swift build --product geneva >/dev/null
else
  bash scripts/demo.sh >/dev/null
  db=out/demo.sqlite
  bin=$(swift build --show-bin-path)/geneva
fi
"$bin" report --db "$db" --format html --output out/report.html
"$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1500 \
  --screenshot="$out" "file://$PWD/out/report.html" 2>/dev/null
echo "$out"
