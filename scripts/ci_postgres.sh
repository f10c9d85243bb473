#!/usr/bin/env bash
# A throwaway PostgreSQL server for the leaderboard's database tests (CI and local runs alike).
#
#   scripts/ci_postgres.sh install     install Debian's postgresql if its server binaries are
#                                      missing (needs root and apt-get; creates no main cluster)
#   scripts/ci_postgres.sh start DIR   initdb into DIR/data and start a server that listens only
#                                      on a unix socket in DIR (no TCP port); prints its URL
#   scripts/ci_postgres.sh stop DIR    stop that server at once and delete DIR
#
# Trust authentication is safe here because the socket lives in DIR (mode 0700, owned by the
# server's user): only that user and root can reach it. Durability is switched off (fsync=off):
# the tests kill workers, never the database, and nothing in DIR outlives the run.
# As root the server runs as the `postgres` user (initdb refuses to run as root).
set -euo pipefail

pg_bindir() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
    echo "$d"
    return 0
  fi
  return 1
}

as_server_user() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

cmd=${1:-}
case "$cmd" in
  install)
    if pg_bindir >/dev/null; then
      exit 0
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
      echo "ci_postgres: no PostgreSQL server binaries and no way to install them (need root + apt-get)" >&2
      exit 1
    fi
    # Debian's package would create and start a 'main' cluster on port 5432; the tests start
    # their own, so ask for none.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/hwp-ci.conf
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pg_bindir >/dev/null
    ;;
  start)
    dir=${2:?usage: ci_postgres.sh start DIR}
    bin=$(pg_bindir) || {
      echo "ci_postgres: no PostgreSQL server binaries (initdb, pg_ctl); run: ci_postgres.sh install" >&2
      exit 1
    }
    mkdir -p "$dir"
    chmod 0700 "$dir"
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || {
        echo "ci_postgres: running as root but there is no 'postgres' user to run the server" >&2
        exit 1
      }
      chown postgres: "$dir"
    fi
    as_server_user "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C \
      --no-sync >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      exit 1
    }
    # -w: wait until it accepts connections. Up to 100 connections: 50 concurrent uploads
    # plus two worker processes fit.
    as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $dir -p 5432 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
      start >/dev/null || {
      cat "$dir/server.log" >&2 || true
      exit 1
    }
    echo "postgresql://postgres@/postgres?host=$dir&port=5432"
    ;;
  stop)
    dir=${2:?usage: ci_postgres.sh stop DIR}
    if [ -f "$dir/data/postmaster.pid" ]; then
      bin=$(pg_bindir) && as_server_user "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop \
        >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: ci_postgres.sh install | start DIR | stop DIR" >&2
    exit 2
    ;;
esac
