#!/usr/bin/env bash
# HTTP hot paths of a release `drydock serve`, measured in one run so that the ratios hold on
# any machine: /healthz (the ceiling of actix + wrk here), GET /api/v1/me, GET /api/v1/tasks/{id},
# GET /api/v1/tasks?limit=50 and a page of 1,000 events, each with `wrk` at the same load; then
# the wire size of the 50-task page with and without compression; then what an idle `serve` with
# two workers sends the database.
#
#   scripts/bench-http.sh                       # builds target/release/drydock first
#   BENCH_BIN=/path/to/drydock scripts/bench-http.sh
#   BENCH_SECONDS=10 BENCH_CONNECTIONS=64 BENCH_THREADS=2 BENCH_IDLE_SECONDS=60 scripts/bench-http.sh
#
# Everything stays on 127.0.0.1: PostgreSQL at TEST_DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/postgres, trust auth, as the tests use), a fresh database
# that is dropped at the end, and the server on a free loopback port. `wrk` comes from Debian
# (installed with apt-get when missing). Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}
idle_seconds=${BENCH_IDLE_SECONDS:-60}
admin_url=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

if ! command -v wrk >/dev/null 2>&1; then
  echo "==> installing wrk" >&2
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
for tool in psql curl wrk; do
  command -v "$tool" >/dev/null || { echo "bench-http: $tool is required" >&2; exit 1; }
done

bin=${BENCH_BIN:-}
if [ -z "$bin" ]; then
  echo "==> building the release server" >&2
  cargo build --release -p drydock-api --bin drydock >&2
  bin=target/release/drydock
fi

db=drydock_bench_$$
base_url=${admin_url%/*}
db_url="$base_url/$db"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql "$admin_url" -qc "CREATE DATABASE $db" >/dev/null
export DATABASE_URL=$db_url
export DRYDOCK_MASTER_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
export DRYDOCK_DATA_DIR=$work/data
export DRYDOCK_LOG_FORMAT=json
export RUST_LOG=${RUST_LOG:-warn}
# Nothing here is queued to run, and a run must never reach past loopback.
export DRYDOCK_TASKS__GENERATE_NAMES=false

"$bin" migrate >/dev/null
"$bin" user create --username bench >/dev/null
token=$("$bin" token create --username bench --name bench | tr -d '[:space:]')

# 50 finished tasks, one of them with 1,000 events of the kinds a run writes most.
psql "$db_url" -qv ON_ERROR_STOP=1 >/dev/null <<'SQL'
INSERT INTO tasks (id, user_id, title, prompt, repo_url, agent, model, status, stage,
                   branch_name, max_duration_minutes, created_at, updated_at, started_at, completed_at)
SELECT gen_random_uuid(), u.id, 'Bench task ' || g,
       'Add a --verbose flag to the command line tool and document it in the README (' || g || ')',
       'https://git.example.test/acme/widgets.git', 'claude', 'claude-sonnet-4-5', 'completed', 'done',
       'drydock/add-verbose-flag-' || g, 60, now() - g * interval '1 minute', now(), now(), now()
FROM users u, generate_series(1, 50) g WHERE u.username = 'bench';
WITH t AS (SELECT id FROM tasks ORDER BY created_at DESC LIMIT 1)
INSERT INTO task_events (task_id, seq, kind, payload)
SELECT t.id, g,
       (ARRAY['log', 'agent_message', 'command', 'tool_call'])[1 + g % 4],
       CASE g % 4
         WHEN 0 THEN jsonb_build_object('level', 'info', 'message', 'Installing dependencies: step ' || g || ' of the lockfile')
         WHEN 1 THEN jsonb_build_object('text', 'I will now update src/cli.rs so that the flag is parsed, then run the tests (' || g || ').')
         WHEN 2 THEN jsonb_build_object('argv', jsonb_build_array('cargo', 'test', '--', 'cli::verbose_' || g), 'exit_code', 0, 'duration_ms', 1200 + g)
         ELSE jsonb_build_object('tool', 'Edit', 'summary', 'src/cli.rs: add the --verbose flag (' || g || ')', 'call_id', 'toolu_' || g)
       END
FROM t, generate_series(1, 1000) g;
UPDATE tasks SET last_seq = 1000 WHERE id = (SELECT id FROM tasks ORDER BY created_at DESC LIMIT 1);
SQL
task=$(psql "$db_url" -Atc "SELECT id FROM tasks ORDER BY created_at DESC LIMIT 1")

start_server() {
  DRYDOCK_TASKS__WORKERS=2 "$bin" serve --listen "127.0.0.1:$port" >>"$work/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "bench-http: the server did not come up" >&2; exit 1
}
start_server

# wrk's own figures: requests/s and the 50th and 99th percentiles (--latency).
run() {
  local name=$1 path=$2 out
  out=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency \
    -H "Authorization: Bearer $token" "http://127.0.0.1:$port$path")
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  echo "$name|$rps|$p50|$p99|${non2xx:-0}"
}

declare -a rows
echo "==> wrk -t$threads -c$connections -d${seconds}s against 127.0.0.1:$port ($(nproc) cores)" >&2
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/tasks/$task/events?limit=1000" >/dev/null
rows+=("$(run "GET /healthz" /healthz)")
rows+=("$(run "GET /api/v1/me" /api/v1/me)")
rows+=("$(run "GET /api/v1/tasks/{id}" "/api/v1/tasks/$task")")
rows+=("$(run "GET /api/v1/tasks?limit=50" "/api/v1/tasks?limit=50")")
rows+=("$(run "GET /api/v1/tasks/{id}/events?limit=1000" "/api/v1/tasks/$task/events?limit=1000")")

ceiling=$(cut -d'|' -f2 <<<"${rows[0]}")
printf '\n| Endpoint | req/s | p50 | p99 | share of /healthz | non-2xx |\n|---|---|---|---|---|---|\n'
for row in "${rows[@]}"; do
  IFS='|' read -r name rps p50 p99 bad <<<"$row"
  share=$(awk -v a="$rps" -v b="$ceiling" 'BEGIN { printf "%.1f %%", 100 * a / b }')
  printf '| `%s` | %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "$share" "$bad"
done

size() {
  curl -s -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $token" "$@"
}
plain=$(size "http://127.0.0.1:$port/api/v1/tasks?limit=50")
gz=$(size -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/api/v1/tasks?limit=50")
br=$(size -H 'Accept-Encoding: br' "http://127.0.0.1:$port/api/v1/tasks?limit=50")
ev_plain=$(size "http://127.0.0.1:$port/api/v1/tasks/$task/events?limit=1000")
ev_gz=$(size -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/api/v1/tasks/$task/events?limit=1000")
printf '\n| Body on the wire | identity | gzip | br |\n|---|---|---|---|\n'
printf '| 50-task page | %s B | %s B (%s×) | %s B (%s×) |\n' "$plain" "$gz" \
  "$(awk -v a="$plain" -v b="$gz" 'BEGIN { printf "%.1f", a / b }')" "$br" \
  "$(awk -v a="$plain" -v b="$br" 'BEGIN { printf "%.1f", a / b }')"
printf '| 1,000-event page | %s B | %s B (%s×) | |\n' "$ev_plain" "$ev_gz" \
  "$(awk -v a="$ev_plain" -v b="$ev_gz" 'BEGIN { printf "%.1f", a / b }')"

# Idle: a fresh `serve` with two workers and no clients; count what reaches its database.
# pg_stat_database counts transactions (a statement outside one is one); pg_stat_statements
# would need a server restart, so statements are counted from the server's log, with
# log_statement = all set for this database only (new sessions pick it up: hence the restart).
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
psql "$admin_url" -qc "ALTER DATABASE $db SET log_statement = 'all'" >/dev/null
start_server
sleep 5
pg_log=${BENCH_PG_LOG:-$(ls -t /var/log/postgresql/postgresql-*.log 2>/dev/null | head -n 1)}
xacts() { psql "$admin_url" -Atc "SELECT pg_stat_force_next_flush()" -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$db'" 2>/dev/null | tail -n 1; }
log_offset() { if [ -r "$pg_log" ]; then stat -c %s "$pg_log"; else echo 0; fi; }
before=$(xacts); from=$(log_offset)
sleep "$idle_seconds"
after=$(xacts); to=$(log_offset)
idle=$(( after - before ))
printf '\nIdle `serve`, 2 workers, %s s: %s transactions (%s/s)' "$idle_seconds" "$idle" \
  "$(awk -v n="$idle" -v s="$idle_seconds" 'BEGIN { printf "%.2f", n / s }')"
if [ -r "$pg_log" ]; then
  statements=$(tail -c +"$((from + 1))" "$pg_log" | head -c "$((to - from))" \
    | grep -cE "@$db LOG:  (statement|execute)" || true)
  printf ', %s statements (%s/s)' "$statements" \
    "$(awk -v n="$statements" -v s="$idle_seconds" 'BEGIN { printf "%.2f", n / s }')"
  echo
  echo "   by statement:"
  tail -c +"$((from + 1))" "$pg_log" | head -c "$((to - from))" | grep -E "@$db LOG:  (statement|execute)" \
    | sed -E 's/.*LOG:  (statement|execute [^:]*): //' | cut -c1-60 | sort | uniq -c | sort -rn | sed 's/^/   /'
else
  echo " (server log not readable: statements not counted)"
fi
