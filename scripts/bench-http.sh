#!/usr/bin/env bash
# HTTP requests per second: plugmill's route server against `wasmtime serve`, the same echo
# work (a 47-byte JSON body sent back) and the same load generator in one run. Not part of
# CI: it installs wasmtime-cli 48 with cargo (once, into a cache) and needs wrk.
#
#   scripts/bench-http.sh [SECONDS] [RUNS]   # default 10 s per row, 1 run (the median of RUNS)
#
# Each server is loaded by wrk with 1 thread and 16 connections on loopback, on the same
# 2 cores as the server. Prints requests per second and p50/p99 latency side by side, and
# each row's ratio to `wasmtime serve`. The plugmill rows: its native route and the seed's
# POST /plugin, without [auth] and with an HS256 token on every request (verified once and
# reused until it expires, the default; and verified on every request, token_cache_entries
# = 0), and warm instances.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
runs=${2:-1}
cache=${PLUGMILL_BENCH_CACHE:-$HOME/.cache/plugmill-bench}
command -v wrk >/dev/null || { echo "needs wrk (apt install wrk)" >&2; exit 1; }
rustup target add wasm32-wasip2 >/dev/null

wasmtime="$cache/wasmtime/bin/wasmtime"
# PLUGMILL_BENCH_SKIP_WASMTIME=1: plugmill's rows only, as ratios to its first row.
skip_wasmtime=${PLUGMILL_BENCH_SKIP_WASMTIME:-}
if [[ -z $skip_wasmtime && ! -x $wasmtime ]]; then
    echo "==> installing wasmtime-cli 48 into $cache (once)"
    cargo install wasmtime-cli --version 48.0.8 --locked --root "$cache/wasmtime"
fi
echo "==> building the wasi:http echo component and plugmill"
[[ -n $skip_wasmtime ]] || cargo build --quiet --release --target wasm32-wasip2 \
    --manifest-path benches/http-echo/Cargo.toml --target-dir target/bench-http
cargo build --quiet --profile bench -p plugmill-cli -p test-plugins
echo_wasm=target/bench-http/wasm32-wasip2/release/http_echo.wasm
fixture=$(ls target/test-plugins/wasm32-wasip2/release/http_fixture.wasm)

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/plugins"
cp "$fixture" "$work/plugins/fixture.wasm"
printf '[plugins.fixture]\nwarm_instances = 16\n' > "$work/warm.toml"
export PLUGMILL_BENCH_SECRET=bench-secret-of-at-least-32-bytes-long
printf '[auth]\nhs256_secret_env = "PLUGMILL_BENCH_SECRET"\n' > "$work/auth.toml"
printf '[auth]\nhs256_secret_env = "PLUGMILL_BENCH_SECRET"\ntoken_cache_entries = 0\n' > "$work/auth-nocache.toml"
# An HS256 token in the seed's claim layout, valid for an hour.
token=$(python3 - <<'PY'
import base64, hashlib, hmac, json, os, time
def b64(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
claims = b64(json.dumps({
    "sub": "bench-user", "name": "Bench User", "exp": int(time.time()) + 3600,
    "https://hasura.io/jwt/claims": {
        "x-hasura-tenant-id": "90505c8a-23a9-4cdf-a26b-4e19f6a097d5",
        "x-hasura-allowed-roles": ["admin-user", "user"]}}).encode())
signing = f"{header}.{claims}".encode()
secret = os.environ["PLUGMILL_BENCH_SECRET"].encode()
print(f"{header}.{claims}.{b64(hmac.new(secret, signing, hashlib.sha256).digest())}")
PY
)
body='{"message":"hello from the bench","count":1234}'
seed_body="{\"path\":\"/fixture/echo\",\"data\":$body}"
# name, body, token (or empty): a wrk script.
lua() {
    local file="$work/$1.lua"
    {
        echo 'wrk.method = "POST"'
        echo "wrk.body   = '$2'"
        echo 'wrk.headers["Content-Type"] = "application/json"'
        [[ -n $3 ]] && echo "wrk.headers[\"Authorization\"] = \"Bearer $3\""
    } > "$file"
    echo "$file"
}
route_plain=$(lua route-plain "$body" "")
route_token=$(lua route-token "$body" "$token")
seed_plain=$(lua seed-plain "$seed_body" "")
seed_token=$(lua seed-token "$seed_body" "$token")

# URL, wrk script: waits for a 200.
wait_for() {
    local header=()
    grep -q Authorization "$2" && header=(-H "Authorization: Bearer $token")
    local data=$body
    grep -q '"path"' "$2" && data=$seed_body
    for _ in $(seq 1 300); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "${header[@]}" -X POST -d "$data" "$1") == 200 ]] && return 0
        sleep 0.1
    done
    echo "no answer from $1" >&2
    return 1
}

baseline=""
# name, URL, wrk script: runs wrk RUNS times, prints "name rps p50 p99 ratio" for the
# run with the median requests per second.
load() {
    local name=$1 url=$2 script=$3
    wait_for "$url" "$script"
    local results=()
    for _ in $(seq 1 "$runs"); do
        local out
        out=$(mktemp -p "$work")
        wrk -t1 -c16 -d"${seconds}s" --latency -s "$script" "$url" > "$out"
        local rps p50 p99
        rps=$(awk '/Requests\/sec/ {print $2}' "$out")
        p50=$(awk '$1 == "50%" {print $2}' "$out")
        p99=$(awk '$1 == "99%" {print $2}' "$out")
        results+=("$rps $p50 $p99")
    done
    local median
    median=$(printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
    read -r rps p50 p99 <<< "$median"
    [[ -z $baseline ]] && baseline=$rps
    printf '%-52s %12s %10s %10s %7.2fx\n' "$name" "$rps" "$p50" "$p99" "$(awk -v a="$rps" -v b="$baseline" 'BEGIN {print a / b}')"
}

plugmill=target/release/plugmill
# name of config (or empty), port: starts a plugmill server.
start_plugmill() {
    local config=()
    [[ -n $1 ]] && config=(--config "$work/$1.toml")
    PLUGMILL_LOG=error "$plugmill" --no-cache --plugins "$work/plugins" "${config[@]}" serve --listen "127.0.0.1:$2" >/dev/null &
    echo $!
}

printf '%-52s %12s %10s %10s %8s\n' server requests/s p50 p99 ratio
if [[ -z $skip_wasmtime ]]; then
    "$wasmtime" serve -S cli --addr 127.0.0.1:18081 "$echo_wasm" 2>/dev/null & pid=$!
    load "wasmtime serve (instance/request)" http://127.0.0.1:18081/ "$route_plain"
    kill $pid
fi
pid=$(start_plugmill "" 18082)
load "plugmill route, no token" http://127.0.0.1:18082/fixture/echo "$route_plain"
load "plugmill POST /plugin, no token" http://127.0.0.1:18082/plugin "$seed_plain"
kill $pid
pid=$(start_plugmill auth 18083)
load "plugmill route, HS256 token each request" http://127.0.0.1:18083/fixture/echo "$route_token"
load "plugmill POST /plugin, HS256 token each request" http://127.0.0.1:18083/plugin "$seed_token"
kill $pid
pid=$(start_plugmill auth-nocache 18084)
load "plugmill route, token verified every request" http://127.0.0.1:18084/fixture/echo "$route_token"
load "plugmill POST /plugin, token verified every request" http://127.0.0.1:18084/plugin "$seed_token"
kill $pid
pid=$(start_plugmill warm 18085)
load "plugmill route, warm instances, no token" http://127.0.0.1:18085/fixture/echo "$route_plain"
kill $pid
