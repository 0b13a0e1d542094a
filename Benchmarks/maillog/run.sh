#!/usr/bin/env bash
# Mail-log scan benchmark (issue 5) beside the anchors of ../shared/anchors/pipeline,
# measured in the same run: generates the harness's 2M-line Postfix log and
# its 10k indicators, then times pflogsumm, `rg -F -c -f` and `geneva scan`
# (release build, indicators imported beforehand; by default on two threads,
# and again with --threads 1), and checks Geneva's
# sightings against the generator's ground truth.
#
#   bash Benchmarks/maillog/run.sh [WORKDIR]       # WORKDIR = /tmp/geneva-maillog-bench
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
export PATH="/opt/swift/usr/bin:$PATH"
WORK="${1:-/tmp/geneva-maillog-bench}"
for p in pflogsumm ripgrep time; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || { apt-get update -qq; apt-get install -y -qq "$p" >/dev/null; }
done
if [ ! -d "$WORK" ]; then cp -r ../shared/anchors/pipeline "$WORK"; chmod -R u+w "$WORK"; fi
cd "$WORK"
mkdir -p data
[ -s data/postfix.log ] || python3 gen_maillog.py data/postfix.log
[ -s data/indicators.csv ] || python3 -c 'import indicators as m; m.write(m.build(20240501, 10000), "data")'
(cd "$ROOT" && swift build -c release --product geneva >&2)
GENEVA="$(cd "$ROOT" && swift build -c release --show-bin-path)/geneva"
rm -f data/geneva.sqlite*
printf 'id,name,country\nc1,Customer One,DE\n' > data/customers.csv
"$GENEVA" intel import --db data/geneva.sqlite data/indicators.csv >&2
"$GENEVA" customers import --db data/geneva.sqlite data/customers.csv >&2
LINES=$(wc -l < data/postfix.log)
measure() {  # name, command...
  local name="$1"; shift
  /usr/bin/time -f '%e %M' -o time.txt "$@" > /dev/null 2>&1 || true
  read -r s kb < time.txt
  python3 -c "import json,sys; s=float(sys.argv[2]); print(json.dumps({'tool': sys.argv[1], 'lines': int(sys.argv[3]), 'wall_s': s, 'lines_per_s': round(int(sys.argv[3])/s), 'mb_per_s': round(255.92/s, 1), 'max_rss_kb': int(sys.argv[4])}))" "$name" "$s" "$LINES" "$kb"
}
for rep in 1 2 3; do
  measure pflogsumm pflogsumm data/postfix.log
  measure rg rg -F -c -f data/maillog.patterns data/postfix.log
  measure geneva "$GENEVA" scan --db data/geneva.sqlite --customer c1 --log-reference 2026-11-26 data/postfix.log
  measure geneva-1-thread "$GENEVA" scan --threads 1 --db data/geneva.sqlite --customer c1 --log-reference 2026-11-26 data/postfix.log
done
python3 - <<'PY'
import csv, sqlite3
db = sqlite3.connect("data/geneva.sqlite")
got = {}
for line, ev, val in db.execute("select s.offset, s.evidence, i.value from sighting s join indicator i on i.id = s.indicator_id"):
    got.setdefault((ev, val.lower()), set()).add(int(line))
rows = list(csv.DictReader(open("data/postfix.log.truth.tsv"), delimiter="\t"))
planted = [r for r in rows if r["expect"] == "1"]
near = [r for r in rows if r["expect"] == "0"]
def sighted(r, window=0):
    lines = got.get((r["kind"].split(":")[0], r["indicator"].lower()), set())
    return any(int(r["line"]) - window <= x <= int(r["line"]) for x in lines)
exact = sum(sighted(r) for r in planted)
# A planted value on a line whose sighting identity (indicator, customer, sensor,
# evidence, message key, second) equals an earlier line's is one sighting (SPEC §3).
merged = sum(sighted(r, 20) for r in planted)
upper = [r for r in planted if r["value"] != r["value"].lower()]
print({"planted": len(planted), "sighted_on_their_line": exact, "sighted_incl_identity_merges": merged,
       "upper_case_planted": len(upper), "upper_case_sighted": sum(sighted(r, 20) for r in upper),
       "near_misses": len(near), "near_misses_sighted": sum(sighted(r) for r in near)})
PY
