#!/usr/bin/env bash
# Every test of the workspace, on a fresh machine with only Rust installed: installs the
# wasm32-wasip2 target the test plugins are built for, then runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 >/dev/null

cargo test --workspace --all-targets
cargo test --workspace --doc
