#!/usr/bin/env bash
# The soak test (crates/plugmill/examples/soak.rs): 16 concurrent callers against good and
# adversarial plugins with a reload every 3 s, for SECONDS (default 600). Not part of CI.
#
#   scripts/soak.sh 600
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null
cargo run --profile bench --quiet -p plugmill --example soak -- --seconds "${1:-600}"
