#!/usr/bin/env bash
# From an empty directory to a plugin route answering over HTTP: `plugmill new hello` ->
# `plugmill dev` -> the first 200 from POST /hello/echo, for Rust, JavaScript and Python,
# once cold (an empty toolchain cache: the Rust target directory, jco, componentize-py) and
# once warm (the cache from the cold run), plus, for Rust, a saved change until the route
# answers with it. Prints a markdown table.
#
#   scripts/author-timing.sh [LANG...]      # default: rust js python
#
# Cold runs still use what lives outside plugmill's cache: cargo's registry (~/.cargo), the
# rustup target, npm's download cache and the engine cache jco's wizer keeps in
# ~/.cache/wasmtime.
set -euo pipefail
cd "$(dirname "$0")/.."
languages=("${@:-rust js python}")
read -r -a languages <<< "${languages[*]}"
cargo build --quiet --release -p plugmill-cli
plugmill=$PWD/target/release/plugmill
work=$(mktemp -d)
trap 'for pid in "$work"/*/pid; do kill "$(cat "$pid")" 2>/dev/null || true; done; rm -rf "$work"' EXIT

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc | xargs printf '%.1f'; }

# Waits until POST $1 answers 200 with a body containing $2; prints nothing.
wait_for() {
    for _ in $(seq 1 3000); do
        if body=$(curl -sf -m 2 -X POST "$1" -d '{"n": 1}' 2>/dev/null) && [[ $body == *"$2"* ]]; then
            return 0
        fi
        sleep 0.1
    done
    echo "timed out waiting for $1" >&2
    return 1
}

# One run: new + dev until the route answers. Prints the seconds.
run_once() {
    local lang=$1 cache=$2 dir=$3 port=$4
    mkdir -p "$dir"
    local start
    start=$(now)
    (cd "$dir" && PLUGMILL_TOOLCHAINS=$cache "$plugmill" new hello --lang "$lang" >/dev/null)
    (cd "$dir/hello" && PLUGMILL_TOOLCHAINS=$cache PLUGMILL_CACHE_DIR=$dir/cache \
        exec "$plugmill" dev --listen "127.0.0.1:$port" >"$dir/dev.out" 2>"$dir/dev.err") &
    echo $! > "$dir/pid"
    wait_for "http://127.0.0.1:$port/hello/echo" '"echo"'
    elapsed "$start"
}

printf '| language | cold: new -> answering | warm: new -> answering | warm: save -> answering |\n|---|---:|---:|---:|\n'
port=18700
for lang in "${languages[@]}"; do
    cache=$work/toolchains-$lang
    port=$((port + 1)); cold=$(run_once "$lang" "$cache" "$work/$lang-cold" "$port")
    kill "$(cat "$work/$lang-cold/pid")" 2>/dev/null || true
    port=$((port + 1)); warm=$(run_once "$lang" "$cache" "$work/$lang-warm" "$port")
    reload="n/a"
    if [[ $lang == rust ]]; then
        start=$(now)
        sed -i 's/"echo": value })/"echo": value, "saved": true })/' "$work/$lang-warm/hello/src/lib.rs"
        wait_for "http://127.0.0.1:$port/hello/echo" '"saved":true'
        reload="$(elapsed "$start") s"
    fi
    kill "$(cat "$work/$lang-warm/pid")" 2>/dev/null || true
    printf '| %s | %s s | %s s | %s |\n' "$lang" "$cold" "$warm" "$reload"
done
