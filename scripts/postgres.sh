#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback, for tests and local trials of the scale set-up.
#
#   scripts/postgres.sh start [DIR]   install (apt-get) if missing, init DIR, start, print the URL
#   scripts/postgres.sh env [DIR]     start, then print `export PODIUM_TEST_PG_URL=...`
#                                     (use: eval "$(scripts/postgres.sh env)")
#   scripts/postgres.sh url [DIR]     print the URL of the server running in DIR
#   scripts/postgres.sh stop [DIR]    stop the server in DIR (its data stays; rm -rf DIR to drop it)
#
# DIR defaults to $PODIUM_PG_DIR or /tmp/podium-pg. Everything is idempotent: starting a running
# server only prints its URL. The server listens on 127.0.0.1 only, on a free port chosen at the
# first start, with a unix socket in DIR, and trusts local connections: it is for tests and
# trials, not for production (see docs/deploy.md). Only the URL goes to stdout.
set -euo pipefail

cmd="${1:-start}"
DIR="${2:-${PODIUM_PG_DIR:-/tmp/podium-pg}}"
DB_USER="${PODIUM_PG_USER:-podium}"
DB_NAME="${PODIUM_PG_DB:-podium}"

log() { echo "postgres.sh: $*" >&2; }
die() { log "$*"; exit 1; }

find_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$found" ] && command -v pg_ctl >/dev/null 2>&1; then
    found=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
  fi
  echo "$found"
}

install_postgres() {
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and installing it needs root: apt-get install postgresql"
  command -v apt-get >/dev/null || die "PostgreSQL is not installed and there is no apt-get: install PostgreSQL >= 13 yourself"
  log "installing Debian's postgresql package (first run only)..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; } \
    || die "apt-get install postgresql failed (see above)"
}

BIN=$(find_bin)
if [ -z "$BIN" ] && [ "$cmd" != stop ]; then
  install_postgres
  BIN=$(find_bin)
fi

# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` system user.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$DIR" --shell /bin/false postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

url() {
  [ -f "$DIR/podium.port" ] || die "no server initialised in $DIR: run scripts/postgres.sh start $DIR"
  echo "postgresql+psycopg://${DB_USER}:${DB_USER}@127.0.0.1:$(cat "$DIR/podium.port")/${DB_NAME}"
}

running() { [ -n "$BIN" ] && [ -f "$DIR/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; }

start() {
  if running; then
    url
    return
  fi
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && { id postgres >/dev/null 2>&1 || as_owner true; chown postgres: "$DIR"; chmod 700 "$DIR"; }
  if [ ! -f "$DIR/PG_VERSION" ]; then
    log "initialising a cluster in $DIR"
    as_owner "$BIN/initdb" -D "$DIR" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null \
      || die "initdb failed in $DIR"
  fi
  free_port > "$DIR/podium.port"  # a fresh free port at each start: the old one may be taken
  port=$(cat "$DIR/podium.port")
  as_owner "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$DIR -c max_connections=200 -c fsync=off" \
    start >/dev/null || { tail -n 20 "$DIR/server.log" >&2; die "the server did not start (log above)"; }
  psql_() { as_owner "$BIN/psql" -h "$DIR" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
  if [ "$(psql_ -c "SELECT 1 FROM pg_roles WHERE rolname='$DB_USER'")" != 1 ]; then
    psql_ -c "CREATE ROLE \"$DB_USER\" LOGIN CREATEDB PASSWORD '$DB_USER'" >/dev/null
  fi
  if [ "$(psql_ -c "SELECT 1 FROM pg_database WHERE datname='$DB_NAME'")" != 1 ]; then
    psql_ -c "CREATE DATABASE \"$DB_NAME\" OWNER \"$DB_USER\"" >/dev/null
  fi
  log "running on 127.0.0.1:$port (data in $DIR)"
  url
}

stop() {
  if running; then
    as_owner "$BIN/pg_ctl" -D "$DIR" -m fast -w stop >/dev/null
    log "stopped the server in $DIR"
  else
    log "no server running in $DIR"
  fi
}

case "$cmd" in
  start) start ;;
  env) echo "export PODIUM_TEST_PG_URL=$(start)" ;;
  url) running || die "no server running in $DIR"; url ;;
  stop) stop ;;
  *) die "unknown command '$cmd' (start | env | url | stop)" ;;
esac
