#!/usr/bin/env bash
# plugmill's main job on the embedded default, as a user meets it: build the example plugins
# into ./plugins, start `plugmill serve` (SQLite, in-process queue, no [auth]: loopback only),
# call routes over HTTP, queue a task and print its record, then stop the server.
# Needs only Rust (and curl, which rustup itself needs).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 >/dev/null
command -v curl >/dev/null || { echo "demo.sh needs curl" >&2; exit 1; }

echo "==> building the example plugins (examples/hello-plugin, examples/audit-log) into ./plugins"
(cd examples/hello-plugin && cargo build --release --quiet)
(cd examples/audit-log && cargo build --release --quiet)
mkdir -p plugins
cp examples/hello-plugin/target/wasm32-wasip2/release/hello_plugin.wasm plugins/
cp examples/audit-log/target/wasm32-wasip2/release/audit_log.wasm plugins/

# PLUGMILL_BIN: an already built plugmill (the test script passes the one its build made).
plugmill=${PLUGMILL_BIN:-}
if [[ -z $plugmill ]]; then
    echo "==> building plugmill"
    cargo build --quiet -p plugmill-cli
    plugmill=target/debug/plugmill
fi
config=examples/demo.toml

echo "==> $plugmill list"
"$plugmill" --config "$config" list

log=$(mktemp)
server=""
stop() {
    if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server"
        wait "$server" || true
        echo "==> server stopped"
    fi
    rm -f "$log"
}
trap stop EXIT

echo "==> $plugmill serve --listen 127.0.0.1:0"
"$plugmill" --config "$config" serve --listen 127.0.0.1:0 >"$log" 2>&1 &
server=$!
base=""
for _ in $(seq 1 100); do
    base=$(sed -n 's/^listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$log" | head -n 1)
    [[ -n $base ]] && break
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "plugmill serve exited" >&2; exit 1; }
    sleep 0.1
done
[[ -n $base ]] || { cat "$log" >&2; echo "plugmill serve did not start listening" >&2; exit 1; }
echo "    $base"

show() { echo "\$ curl $(printf '%q ' "$@")"; curl -sS --fail-with-body "$@"; echo; }

echo "==> a route over HTTP"
show "$base/hello-plugin/echo" -d '{"hello":"plugmill"}'
echo "==> a hook's effect, then a route that reads it (audit-log, SQLite)"
"$plugmill" --config "$config" call hook record-event --args '["login", "alice signed in"]'
show "$base/audit-log/events" -d '{"kind":"login","limit":3}'

echo "==> queue a task"
echo "\$ curl $base/tasks/nightly-cleanup -d '{}'"
queued=$(curl -sS --fail-with-body "$base/tasks/nightly-cleanup" -d '{}')
echo "$queued"
id=$(printf '%s' "$queued" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
[[ -n $id ]] || { echo "no task id in the answer" >&2; exit 1; }

echo "==> its record, once final"
record=""
for _ in $(seq 1 100); do
    record=$(curl -sS --fail-with-body "$base/tasks/$id")
    case $record in
        *'"status":"IN_PROGRESS"'*) sleep 0.1 ;;
        *) break ;;
    esac
done
echo "\$ curl $base/tasks/$id"
echo "$record"
case $record in
    *'"status":"SUCCESS"'*) ;;
    *) echo "the task did not succeed" >&2; exit 1 ;;
esac
