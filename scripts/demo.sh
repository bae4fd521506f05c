#!/usr/bin/env bash
# plugmill's main job on the embedded default: build the example plugin into ./plugins, load
# every plugin there, and call a hook, a route and a task. Needs only Rust.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 >/dev/null

echo "==> building the example plugins (examples/hello-plugin, examples/audit-log)"
(cd examples/hello-plugin && cargo build --release --quiet)
(cd examples/audit-log && cargo build --release --quiet)
mkdir -p plugins
cp examples/hello-plugin/target/wasm32-wasip2/release/hello_plugin.wasm plugins/
cp examples/audit-log/target/wasm32-wasip2/release/audit_log.wasm plugins/

# examples/demo.toml grants audit-log a SQLite file (target/plugmill-demo.db).
plugmill() { cargo run --quiet -p plugmill-cli -- --config examples/demo.toml "$@"; }

echo "==> building plugmill"
cargo build --quiet -p plugmill-cli

echo "==> plugmill list (./plugins)"
plugmill list
echo "==> plugmill call hook greet --args '[\"world\"]'"
plugmill call hook greet --args '["world"]'
echo "==> plugmill call route /hello-plugin/echo --data '{\"hello\":\"plugmill\"}'"
plugmill call route /hello-plugin/echo --data '{"hello":"plugmill"}'
echo "==> plugmill call task nightly-cleanup --data '{}'"
plugmill call task nightly-cleanup --data '{}'
echo "==> plugmill call hook record-event --args '[\"login\", \"alice signed in\"]'"
plugmill call hook record-event --args '["login", "alice signed in"]'
echo "==> plugmill call route /audit-log/events --data '{\"kind\":\"login\",\"limit\":3}'"
plugmill call route /audit-log/events --data '{"kind":"login","limit":3}'
