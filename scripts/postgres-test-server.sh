#!/usr/bin/env bash
# Starts (if not running) a private PostgreSQL server for the tests and
# benchmarks and prints its URL: a cluster of its own in $GENEVA_PG_DIR
# (default /tmp/geneva-pg), listening on 127.0.0.1:$GENEVA_PG_PORT (default
# 54329) only, trust authentication for the local `geneva` role. Debian's
# `postgresql` package (scripts/install-deps.sh) provides the binaries; the
# system's own cluster is left alone. Server settings are the defaults
# (fsync and synchronous commit on), so benchmark figures are honest.
set -euo pipefail
PORT="${GENEVA_PG_PORT:-54329}"
DIR="${GENEVA_PG_DIR:-/tmp/geneva-pg}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$BIN" ]; then
  echo "PostgreSQL is not installed (apt-get install postgresql)" >&2
  exit 1
fi
# initdb and the server refuse to run as root: run them as `postgres` then.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ ! -f "$DIR/PG_VERSION" ]; then
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
  as_owner "$BIN/initdb" -D "$DIR" -A trust -U geneva -E UTF8 --locale=C.UTF-8 >/dev/null
fi
if ! as_owner "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
  as_owner "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
    -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DIR -c max_connections=200" start >/dev/null
fi
echo "postgres://geneva@127.0.0.1:$PORT/postgres"
