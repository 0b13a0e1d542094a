#!/usr/bin/env bash
# Capture scan benchmark (issue 4) beside the anchors of ../shared/anchors/pipeline,
# in the same run: generates the harness's captures (20 MB small.pcap and the
# 1 GiB big.pcap) and 10k indicators, then times the libpcap read floor
# (pcapcount), tshark's field extraction with reassembly and `geneva scan`
# (release build; two threads by default, and again with --threads 1), and
# checks Geneva's sightings against the ground truth.
#
#   bash Benchmarks/pipeline/run.sh [WORKDIR] [INPUTS]   # INPUTS default "small.pcap big.pcap"
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
export PATH="/opt/swift/usr/bin:$PATH"
WORK="${1:-/tmp/geneva-pipeline-bench}"
INPUTS="${2:-small.pcap big.pcap}"
for p in tshark libpcap-dev time; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
if [ ! -d "$WORK" ]; then cp -r ../shared/anchors/pipeline "$WORK"; chmod -R u+w "$WORK"; fi
cd "$WORK"
mkdir -p data build
[ -x build/pcapcount ] || cc -O2 -o build/pcapcount pcapcount.c -lpcap
[ -s data/small.pcap ] || python3 gen_pcap.py data/small.pcap --size-mb 20 --hit-rate 0.25 --indicators-dir data
[ -s data/big.pcap ] || python3 gen_pcap.py data/big.pcap --size-mb 1024
[ -s data/indicators.csv ] || python3 -c 'import indicators as m; m.write(m.build(20240501, 10000), "data")'
(cd "$ROOT" && swift build -c release --product geneva >&2)
GENEVA="$(cd "$ROOT" && swift build -c release --show-bin-path)/geneva"
rm -f data/bench.sqlite*
printf 'id,name,country\nc1,Customer One,DE\n' > data/customers.csv
"$GENEVA" intel import --db data/bench.sqlite data/indicators.csv >&2
"$GENEVA" customers import --db data/bench.sqlite data/customers.csv >&2
measure() {  # name input command...
  local name="$1" input="$2"; shift 2
  /usr/bin/time -f '%e %M' -o time.txt "$@" > /dev/null 2>&1 || true
  read -r s kb < time.txt
  python3 -c "import json,sys,os; s=float(sys.argv[2]); b=os.path.getsize('data/'+sys.argv[3]); m=json.load(open('data/'+sys.argv[3]+'.meta.json')); r=(lambda x: round(x/s,1) if s > 0 else None); print(json.dumps({'tool': sys.argv[1], 'input': sys.argv[3], 'wall_s': s, 'mb_per_s': r(b/1e6), 'packets_per_s': r(m['packets']), 'max_rss_kb': int(sys.argv[4])}))" "$name" "$s" "$input" "$kb"
}
for input in $INPUTS; do
  cat "data/$input" > /dev/null
  measure pcapcount "$input" build/pcapcount "data/$input"
  measure tshark "$input" tshark -r "data/$input" -o tcp.desegment_tcp_streams:TRUE -o tcp.reassemble_out_of_order:TRUE \
    -T fields -e dns.qry.name -e tls.handshake.extensions_server_name -e http.host -e http.request.uri -e smtp.req.parameter
  measure geneva "$input" "$GENEVA" scan --db data/bench.sqlite --customer c1 "data/$input"
  measure geneva-1-thread "$input" "$GENEVA" scan --threads 1 --db data/bench.sqlite --customer c1 "data/$input"
done
python3 - $INPUTS <<'PY'
import bisect, csv, sqlite3, sys
db = sqlite3.connect("data/bench.sqlite")
for inp in sys.argv[1:]:
    times = {}
    for ev, val, t in db.execute("select s.evidence, i.value, s.time from sighting s join indicator i on i.id = s.indicator_id where s.source like ?", ("%" + inp,)):
        times.setdefault((ev, val.lower()), []).append(t / 1e9)
    for v in times.values(): v.sort()
    def sighted(r, window):
        ts = times.get((r["kind"].split(":")[0], r["indicator"].lower()), [])
        t = float(r["ts"]); i = bisect.bisect_left(ts, t - window)
        return i < len(ts) and ts[i] <= t + window
    rows = list(csv.DictReader(open("data/" + inp + ".truth.tsv"), delimiter="\t"))
    planted = [r for r in rows if r["expect"] == "1"]
    near = [r for r in rows if r["expect"] == "0"]
    # A planted value is sighted if a sighting of its indicator and evidence lies within 1 s of the
    # packet that carried it (a TCP value is sighted when the segment completing it arrives).
    found = [r for r in planted if sighted(r, 1.0)]
    straddled = [r for r in planted if r["straddled"] == "1"]
    print({"input": inp, "planted": len(planted), "sighted": len(found),
           "missed": sorted({(r["kind"], r["value"]) for r in planted if not sighted(r, 1.0)})[:10],
           "straddled": len(straddled), "straddled_sighted": sum(1 for r in straddled if sighted(r, 1.0)),
           "near_misses": len(near), "near_misses_sighted": sum(1 for r in near if sighted(r, 0.001))})
PY
