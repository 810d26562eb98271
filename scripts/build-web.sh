#!/usr/bin/env bash
# Builds the web app in release mode into dist/, installing whatever is missing first:
# the wasm32 target, trunk ~0.21, and the wasm-bindgen-cli that matches Cargo.lock exactly.
# Usage: scripts/build-web.sh   (env: CARGO_TARGET_DIR is honoured)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "build-web: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! command -v trunk >/dev/null || ! trunk --version | grep -q ' 0\.21\.'; then
  echo "build-web: installing trunk 0.21"
  cargo install --locked trunk --version '~0.21'
fi

# The CLI must match the library version resolved in Cargo.lock, or the generated glue breaks.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ -z "$want" ]; then
  echo "build-web: wasm-bindgen is not in Cargo.lock; run cargo generate-lockfile" >&2
  exit 1
fi
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
  echo "build-web: installing wasm-bindgen-cli $want (found: ${have:-none})"
  cargo install wasm-bindgen-cli --version "$want"
fi
if ! grep -q "wasm_bindgen = \"$want\"" Trunk.toml; then
  echo "build-web: Trunk.toml pins another wasm-bindgen than Cargo.lock ($want)" >&2
  exit 1
fi

# The browser libraries (xterm.js, Monaco, Lucide's icons), exactly as package-lock.json pins them, with
# their integrity hashes checked and no install scripts run.
(cd crates/web && npm ci --ignore-scripts --no-audit --no-fund)
# The icon sprite: only the Lucide icons the app names (components/icon.rs).
(cd crates/web && node tools/icon-sprite.mjs)

# Strips the 400 KB name section (until [profile.wasm-release] sets strip = true itself).
export CARGO_PROFILE_WASM_RELEASE_STRIP="${CARGO_PROFILE_WASM_RELEASE_STRIP:-true}"
trunk build --release
echo "build-web: built $(du -sh dist | cut -f1) into dist/"
