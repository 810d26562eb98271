#!/usr/bin/env bash
# Installs whatever is missing, builds Drydock and its web app, and starts it on the embedded
# PostgreSQL at http://127.0.0.1:8080 (override with DRYDOCK_LISTEN, DRYDOCK_DATA_DIR, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

scripts/install-deps.sh
scripts/build-web.sh
cargo build --release -p drydock-api
exec target/release/drydock serve --web-dir dist "$@"
