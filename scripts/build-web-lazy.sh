#!/usr/bin/env bash
# Trunk's post-build hook (Trunk.toml): builds crates/web-lazy, the SPA's rarely opened pages,
# as a second wasm module into <dist>/lazy/, where components::lazy_pages loads it from on
# demand. Trunk builds only the main module; this one is built with the same cargo profile
# (`wasm-release` for `trunk build --release`) and the wasm-bindgen that Trunk uses.
# Env (set by Trunk): TRUNK_STAGING_DIR, TRUNK_PROFILE; CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
staging="${TRUNK_STAGING_DIR:?run by trunk (post_build hook)}"
if [ "${TRUNK_PROFILE:-debug}" = release ]; then profile=wasm-release; else profile=dev; fi
cargo build -p drydock-web-lazy --lib --target wasm32-unknown-unknown --profile "$profile"
dir="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/$([ "$profile" = dev ] && echo debug || echo "$profile")"
rm -rf "$staging/lazy"
wasm-bindgen --target no-modules --no-modules-global drydockLazy --no-typescript \
  --out-dir "$staging/lazy" "$dir/drydock_web_lazy.wasm"
# The no-modules glue declares its global with `let`, which is not a property of the global
# object; the main app finds the module through `globalThis.drydockLazy`.
echo 'globalThis.drydockLazy = drydockLazy;' >> "$staging/lazy/drydock_web_lazy.js"
