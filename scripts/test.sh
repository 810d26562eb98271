#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, then formatting, lints, the
# wasm32 builds, the web app build, every test, and the OpenAPI validation.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

scripts/install-deps.sh
source scripts/test-postgres.sh

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "shared and web build for wasm32, and shared stays free of server crates"
cargo check -p drydock-shared --target wasm32-unknown-unknown
cargo clippy -p drydock-web -p drydock-web-lazy --target wasm32-unknown-unknown -- -D warnings
for banned in diesel actix-web tokio; do
  if cargo tree -p drydock-shared -e normal --target wasm32-unknown-unknown 2>/dev/null | grep -q " $banned v"; then
    echo "error: drydock-shared depends on $banned" >&2
    exit 1
  fi
done

step "web app (trunk, release)"
scripts/build-web.sh

step "OpenAPI 3.1 validation"
python3 -m openapi_spec_validator openapi.yaml

step "tests"
status=0
cargo nextest run --workspace --no-fail-fast || status=$?

step "contract fuzzing (schemathesis against a real serve)"
scripts/fuzz-api.sh target/debug/drydock || status=$?
exit "$status"
