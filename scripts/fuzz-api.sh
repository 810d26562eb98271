#!/usr/bin/env bash
# Fuzzes the API contract: schemathesis generates requests for every operation in openapi.yaml
# and sends them to a real `drydock serve` (fresh database, a user with a token of every scope),
# expecting no 5xx response and every response to match the documented status codes, content
# types and schemas. Traffic stays on 127.0.0.1.
#
# Usage: scripts/fuzz-api.sh [DRYDOCK_BINARY]   (sourced test-postgres.sh must have run, or
# TEST_DATABASE_URL must point at a server that accepts postgres without a password)
set -euo pipefail
cd "$(dirname "$0")/.."

drydock=${1:-target/debug/drydock}
schemathesis=${SCHEMATHESIS:-$HOME/.cache/drydock/schemathesis/bin/schemathesis}
base=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db="drydock_fuzz_$$"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
server_pid=

cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  psql "$base" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql "$base" -qc "create database $db" >/dev/null
export DATABASE_URL="${base%/*}/$db"
export DRYDOCK_MASTER_KEY=$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')
export DRYDOCK_DATA_DIR="$work/data"
# Generous limits, so that the fuzzer meets validation rather than the quota or the throttle.
export DRYDOCK_TASKS__DAILY_QUOTA=100000
export DRYDOCK_AUTH__ATTEMPTS_PER_MINUTE=100000
export DRYDOCK_AUTH__ATTEMPTS_BURST=100000
# Nothing leaves 127.0.0.1: no worker runs the tasks the fuzzer creates (their repositories
# could name any host), no model is asked for titles, and GitHub's URLs point at a closed
# loopback port.
export DRYDOCK_TASKS__WORKERS=0
export DRYDOCK_TASKS__GENERATE_NAMES=false
export DRYDOCK_GITHUB__API_URL=http://127.0.0.1:9
export DRYDOCK_GITHUB__WEB_URL=http://127.0.0.1:9
export DRYDOCK_GITHUB__TOKEN_URL=http://127.0.0.1:9/token
export DRYDOCK_GITHUB__AUTHORIZE_URL=http://127.0.0.1:9/authorize

"$drydock" migrate >/dev/null
printf 'fuzz-password-1234\n' | "$drydock" user create --username fuzz --admin --password-stdin >/dev/null
token=$("$drydock" token create --username fuzz --name fuzz)

"$drydock" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

status=0
"$schemathesis" run openapi.yaml \
  --url "http://127.0.0.1:$port" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "${FUZZ_MAX_EXAMPLES:-25}" \
  --seed 1 \
  --no-color || status=$?
if [ "$status" != 0 ]; then
  echo "--- errors in serve's log ---" >&2
  sed 's/\x1b\[[0-9;]*m//g' "$work/serve.log" | grep -a ' ERROR ' | tail -n 20 >&2 || true
fi
exit "$status"
