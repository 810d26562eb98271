#!/usr/bin/env bash
# Installs whatever Drydock needs that is missing, and skips what is present:
#   system packages: PostgreSQL server, bubblewrap, git, curl, Node.js/npm, Chromium + chromedriver,
#   the wasm32 target, trunk ~0.21, wasm-bindgen-cli at the version in Cargo.lock, cargo-nextest,
#   the OpenAPI validator and schemathesis (Python; schemathesis in its own virtualenv), and the
#   browser MCP server for tasks with enable_browser (tools/browser-mcp, from its lockfile).
# Usage: scripts/install-deps.sh [--web-only]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- system packages (Debian/Ubuntu) ---------------------------------------------------------
pkgs=()
have git || pkgs+=(git)
have bwrap || pkgs+=(bubblewrap)
have node || pkgs+=(nodejs)
have npm || pkgs+=(npm)
have python3 || pkgs+=(python3)
# The escape suites probe from inside sandboxes with curl and unshare (util-linux).
have curl || pkgs+=(curl)
have unshare || pkgs+=(util-linux)
have pg_ctlcluster || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || pkgs+=(postgresql)
have chromium || pkgs+=(chromium)
have chromedriver || pkgs+=(chromium-driver)
have gzip || pkgs+=(gzip)
have pkg-config || pkgs+=(pkg-config)
if [ ${#pkgs[@]} -gt 0 ]; then
  log "installing system packages: ${pkgs[*]}"
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"
fi

# --- The browser MCP server (tasks with enable_browser; see docs/security.md) -----------------
# Exactly what tools/browser-mcp/package-lock.json pins (npm ci checks every tarball's hash),
# with no install scripts and no browser download: it drives the host's Chromium above.
browser_mcp=tools/browser-mcp
if ! cmp -s "$browser_mcp/package-lock.json" "$browser_mcp/node_modules/.drydock-lock"; then
  log "installing the browser MCP server into $browser_mcp (npm ci, no scripts)"
  (cd "$browser_mcp" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund)
  cp "$browser_mcp/package-lock.json" "$browser_mcp/node_modules/.drydock-lock"
fi

# --- Rust tools ----------------------------------------------------------------------------
export PATH="$HOME/.cargo/bin:$PATH"
if ! rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
if ! have trunk || ! trunk --version | grep -q ' 0\.21\.'; then
  log "installing trunk 0.21 (0.22 needs a newer rustc)"
  cargo install --locked trunk --version '~0.21'
fi
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if [ -n "$bindgen_version" ]; then
  if ! have wasm-bindgen || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$bindgen_version" ]; then
    log "installing wasm-bindgen-cli $bindgen_version (must equal Cargo.lock)"
    cargo install wasm-bindgen-cli --version "$bindgen_version"
  fi
fi
if ! have cargo-nextest; then
  log "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

# --- Python: the OpenAPI 3.1 validator used by the tests -------------------------------------
if ! python3 -c 'import openapi_spec_validator' 2>/dev/null; then
  log "installing openapi-spec-validator"
  python3 -m pip install --quiet openapi-spec-validator 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages openapi-spec-validator
fi

# --- Python: schemathesis, which fuzzes the API contract (scripts/fuzz-api.sh) -----------------
schemathesis_version=4.32.5
schemathesis_venv="$HOME/.cache/drydock/schemathesis"
if ! "$schemathesis_venv/bin/schemathesis" --version 2>/dev/null | grep -q " $schemathesis_version\$"; then
  log "installing schemathesis $schemathesis_version into $schemathesis_venv"
  have_venv() { python3 -m venv --help >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null; }
  if ! have_venv; then
    sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
  fi
  rm -rf "$schemathesis_venv"
  python3 -m venv "$schemathesis_venv"
  "$schemathesis_venv/bin/pip" install --quiet "schemathesis==$schemathesis_version"
fi
