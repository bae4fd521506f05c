#!/usr/bin/env bash
# HTTP requests per second: plugmill's route server against `wasmtime serve`, the same echo
# work (a 47-byte JSON body sent back) and the same load generator in one run. Not part of
# CI: it installs wasmtime-cli 48 with cargo (once, into a cache) and needs wrk.
#
#   scripts/bench-http.sh [SECONDS]      # default 10 s per server
#
# Each server is loaded by wrk with 1 thread and 16 connections on loopback, on the same
# 2 cores as the server. Prints requests per second and p50/p99 latency side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
cache=${PLUGMILL_BENCH_CACHE:-$HOME/.cache/plugmill-bench}
command -v wrk >/dev/null || { echo "needs wrk (apt install wrk)" >&2; exit 1; }
rustup target add wasm32-wasip2 >/dev/null

wasmtime="$cache/wasmtime/bin/wasmtime"
if [[ ! -x $wasmtime ]]; then
    echo "==> installing wasmtime-cli 48 into $cache (once)"
    cargo install wasmtime-cli --version 48.0.8 --locked --root "$cache/wasmtime"
fi
echo "==> building the wasi:http echo component and plugmill"
cargo build --quiet --release --target wasm32-wasip2 --manifest-path benches/http-echo/Cargo.toml \
    --target-dir target/bench-http
cargo build --quiet --profile bench -p plugmill-cli -p test-plugins
echo_wasm=target/bench-http/wasm32-wasip2/release/http_echo.wasm
fixture=$(ls target/test-plugins/wasm32-wasip2/release/http_fixture.wasm)

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/plugins"
cp "$fixture" "$work/plugins/fixture.wasm"
printf '[plugins.fixture]\nwarm_instances = 16\n' > "$work/warm.toml"
body='{"message":"hello from the bench","count":1234}'
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body   = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA

wait_for() {
    for _ in $(seq 1 200); do
        curl -s -o /dev/null -X POST -d "$body" "$1" && return 0
        sleep 0.1
    done
    echo "no answer from $1" >&2
    return 1
}

# name, URL: runs wrk, prints "name rps p50 p99".
load() {
    local name=$1 url=$2
    wait_for "$url"
    local out
    out=$(mktemp -p "$work")
    wrk -t1 -c16 -d"${seconds}s" --latency -s "$work/post.lua" "$url" > "$out"
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    printf '%-34s %12s %10s %10s\n' "$name" "$rps" "$p50" "$p99"
}

plugmill=target/release/plugmill
"$wasmtime" serve -S cli --addr 127.0.0.1:18081 "$echo_wasm" 2>/dev/null & wasmtime_pid=$!
PLUGMILL_LOG=error "$plugmill" --no-cache --plugins "$work/plugins" serve --listen 127.0.0.1:18082 >/dev/null & fresh_pid=$!
PLUGMILL_LOG=error "$plugmill" --no-cache --plugins "$work/plugins" --config "$work/warm.toml" serve --listen 127.0.0.1:18083 >/dev/null & warm_pid=$!

printf '%-34s %12s %10s %10s\n' server requests/s p50 p99
load "wasmtime serve (instance/request)" http://127.0.0.1:18081/
kill $wasmtime_pid
load "plugmill (fresh instance/call)" http://127.0.0.1:18082/fixture/echo
kill $fresh_pid
load "plugmill (warm instances)" http://127.0.0.1:18083/fixture/echo
kill $warm_pid
