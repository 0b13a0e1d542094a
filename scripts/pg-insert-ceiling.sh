#!/usr/bin/env bash
# The ceiling PostgreSQL itself puts on sighting ingest (issue 8's note):
# 1,000-row inserts into Geneva's real `sighting` table (its five indexes
# and two foreign keys), rows made inside the server (no client, no HTTP,
# no JSON), with one and with two backends. Whatever `geneva serve` does on
# top can only be slower.
#
#   bash scripts/pg-insert-ceiling.sh [GENEVA_BINARY] [SECONDS]
#
# Uses the private test server (scripts/postgres-test-server.sh), a schema
# `ceiling` that is dropped first and last, and pgbench from Debian's
# postgresql package. Prints rows/s, mean and p99 latency per run.
set -euo pipefail
cd "$(dirname "$0")/.."
GENEVA="${1:-.build/release/geneva}"
SECONDS_PER_RUN="${2:-20}"
BASE="$(bash scripts/postgres-test-server.sh)"
URL="$BASE?schema=ceiling"
PGBENCH="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pgbench"
WORK="$(mktemp -d)"
trap 'psql "$BASE" -qXc "DROP SCHEMA IF EXISTS ceiling CASCADE" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
psql "$BASE" -qXc "DROP SCHEMA IF EXISTS ceiling CASCADE" >/dev/null 2>&1
{ echo "kind,value,actor,actor_country,campaign"
  for i in $(seq 0 999); do echo "domain,d$i.example,APT-$((i % 20)),RU,Op $((i % 50))"; done; } > "$WORK/intel.csv"
{ echo "id,name,country"; for i in $(seq 0 99); do echo "c$i,Customer $i,DE"; done; } > "$WORK/customers.csv"
"$GENEVA" intel import --database-url "$URL" "$WORK/intel.csv" >/dev/null
"$GENEVA" customers import --database-url "$URL" "$WORK/customers.csv" >/dev/null
LO="$(psql "$BASE" -qXAtc "SELECT min(id) FROM ceiling.indicator")"
# One transaction = one 1,000-row batch, as `POST /v1/sightings` writes it:
# random identities (the keyed hash), 100 customers, 1,000 indicators,
# times spread over a year.
cat > "$WORK/batch.sql" <<SQL
INSERT INTO ceiling.sighting (indicator_id, customer_id, sensor, time, evidence, key, source, "offset", observed, customer_n, identity)
SELECT $LO + (random() * 999)::int, 'c' || k, 's1', 1750000000000000000 + (random() * 3.15e16)::bigint, 'dns-query',
       'udp 10.0.0.1:1024 -> 10.0.0.2:53', 'bench', (random() * 1e9)::bigint, 'd1.example', k, (random() * 9e18)::bigint
FROM (SELECT (random() * 99)::int AS k FROM generate_series(1, 1000)) r
ON CONFLICT (identity) DO NOTHING;
SQL
for clients in 1 2; do
  rm -f "$WORK"/log*
  "$PGBENCH" -n -f "$WORK/batch.sql" -c "$clients" -j "$clients" -T "$SECONDS_PER_RUN" -l --log-prefix="$WORK/log" "$BASE" >/dev/null 2>&1
  # pgbench's per-transaction log: field 3 is the latency in microseconds.
  cat "$WORK"/log* | awk -v c="$clients" -v s="$SECONDS_PER_RUN" '{ print $3 }' | sort -n | awk -v c="$clients" -v s="$SECONDS_PER_RUN" '
    { v[NR] = $1; sum += $1 }
    END { printf "backends %d: %.0f rows/s, 1,000-row insert mean %.1f ms, p99 %.1f ms (%d inserts in %d s)\n",
          c, NR * 1000 / s, sum / NR / 1000, v[int(NR * 0.99)] / 1000, NR, s }'
done
