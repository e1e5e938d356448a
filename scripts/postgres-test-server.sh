#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, listening on 127.0.0.1 only.
#
#   url=$(scripts/postgres-test-server.sh start DIR)   # prints the SQLAlchemy URL on stdout
#   HEALTHCODE_TEST_POSTGRES_URL=$url .venv/bin/python -m pytest
#   scripts/postgres-test-server.sh stop DIR           # stops it and deletes DIR
#
# DIR (default: a new temporary folder) holds the cluster, its socket and its log. As root the
# script installs the Debian `postgresql` package if it is missing (without creating or starting
# the packaged `main` cluster) and runs the server as the `postgres` user; as any other user the
# package must be there already and the server runs as that user. The cluster is created with
# initdb, durability off (fsync, synchronous_commit: test data only), a free TCP port on
# 127.0.0.1, its Unix socket inside DIR, and a role `healthcode` (password, CREATEDB: the tests
# make a database per session) owning a database `healthcode`. PGPORT picks the port.
set -euo pipefail

log() { echo "postgres-test-server: $*" >&2; }
die() { log "$*"; exit 1; }

bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

install_postgresql() {
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed; as root run: apt-get install postgresql"
  log "installing the Debian postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  # Only the binaries are wanted: no packaged cluster created and started on port 5432.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/healthcode-tests.conf
  apt-get install -y --no-install-recommends postgresql >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null \
         && apt-get install -y --no-install-recommends postgresql >/dev/null; }
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Run a command as the server's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local dir=${1:-} bin port password owner
  bin=$(bindir) || { install_postgresql; bin=$(bindir) || die "no initdb after installing"; }
  if [ -z "$dir" ]; then dir=$(mktemp -d "${TMPDIR:-/tmp}/healthcode-pg.XXXXXX"); fi
  mkdir -p "$dir"
  [ ! -e "$dir/data" ] || die "$dir/data exists: stop that server first, or use another DIR"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
  chmod 0700 "$dir"
  owner=$(as_owner id -un)
  port=${PGPORT:-$(free_port)}
  password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')

  as_owner "$bin/initdb" --pgdata="$dir/data" --username="$owner" --encoding=UTF8 \
    --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  as_owner "$bin/pg_ctl" start --pgdata="$dir/data" --log="$dir/server.log" --wait --silent \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir'" \
    -o "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    || { cat "$dir/server.log" >&2; die "the server did not start"; }

  as_owner "$bin/psql" --quiet --no-psqlrc --set=ON_ERROR_STOP=1 --host="$dir" --port="$port" \
    --username="$owner" --dbname=postgres >/dev/null <<SQL
CREATE ROLE healthcode LOGIN CREATEDB PASSWORD '$password';
CREATE DATABASE healthcode OWNER healthcode;
SQL
  log "server in $dir on 127.0.0.1:$port; stop it with: $0 stop $dir"
  echo "postgresql+psycopg://healthcode:$password@127.0.0.1:$port/healthcode"
}

stop() {
  local dir=${1:?usage: $0 stop DIR} bin
  bin=$(bindir) || die "PostgreSQL is not installed"
  [ -f "$dir/data/PG_VERSION" ] || die "$dir holds no cluster"
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" stop --pgdata="$dir/data" --mode=fast --wait --silent
  fi
  rm -rf "$dir"
}

case ${1:-start} in
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *) die "usage: $0 [start [DIR] | stop DIR]" ;;
esac
