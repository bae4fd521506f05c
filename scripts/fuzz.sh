#!/usr/bin/env bash
# Runs each fuzz target of fuzz/ for a bounded time (default 60 s each) with cargo-fuzz and
# libFuzzer, and prints what each found. Not part of CI.
#
#   scripts/fuzz.sh              # every target, 60 s each
#   scripts/fuzz.sh 600 config   # one target, 10 minutes
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a C++ compiler. libFuzzer's coverage
# instrumentation needs flags the stable compiler keeps behind RUSTC_BOOTSTRAP.
# Crashes are written to fuzz/artifacts/TARGET/; each one found becomes a regression test.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(json_bridge manifest config cache_entry signature)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
cargo fuzz build --sanitizer none
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    echo "==> $target for ${seconds}s"
    log=$(mktemp)
    if cargo fuzz run --sanitizer none "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 >"$log" 2>&1; then
        outcome="no crash"
    else
        outcome="CRASH (see fuzz/artifacts/$target/)"
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
    printf '%-12s %8ss %12s runs  coverage %6s  %s\n' "$target" "$seconds" "$runs" "$cov" "$outcome"
    rm -f "$log"
done
