#!/usr/bin/env bash
# Sourced by scripts/test.sh: makes sure a PostgreSQL server accepts `postgres` without a
# password on 127.0.0.1 and exports TEST_DATABASE_URL. It tries, in order: the URL already in
# TEST_DATABASE_URL (default 127.0.0.1:5432), starting the system cluster with pg_ctlcluster, and
# a private throwaway cluster with trust auth on port 55432.

pg_url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
pg_probe() { psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }
pg_as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if ! pg_probe "$pg_url" && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for v in $(ls /etc/postgresql); do
    echo "==> starting the system PostgreSQL $v cluster" >&2
    if [ "$(id -u)" = 0 ]; then
      pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
    else
      sudo pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
    fi
  done
  for _ in 1 2 3 4 5 6 7 8 9 10; do pg_probe "$pg_url" && break; sleep 1; done
fi

if ! pg_probe "$pg_url"; then
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  dir=/tmp/drydock-test-pg-$(id -u)
  pg_url=postgres://postgres@127.0.0.1:55432/postgres
  if ! pg_probe "$pg_url"; then
    echo "==> starting a private PostgreSQL for the tests in $dir (port 55432)" >&2
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      pg_as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
    fi
    pg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-c listen_addresses=127.0.0.1 -p 55432 -k $dir -c max_connections=300 -c fsync=off" start >/dev/null
  fi
fi

if ! pg_probe "$pg_url"; then
  echo "error: no PostgreSQL accepts postgres@127.0.0.1 without a password; set TEST_DATABASE_URL" >&2
  exit 1
fi
export TEST_DATABASE_URL=$pg_url
echo "==> tests use $TEST_DATABASE_URL" >&2
