#!/usr/bin/env bash
# Instructions per call of each variant of crates/plugmill/benches/call_cost.rs, counted by
# callgrind: a measure that does not drift with the machine's noise. Needs valgrind.
#
#   scripts/call-cost.sh                 # every variant
#   scripts/call-cost.sh typed-warm      # one
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt install valgrind)" >&2; exit 1; }
cargo bench -p plugmill --bench call_cost --no-run --quiet 2>/dev/null
bin=$(ls -t target/release/deps/call_cost-* | grep -v '\.d$' | head -1)
calls=$(grep -o 'const CALLS: usize = [0-9_]*' crates/plugmill/benches/call_cost.rs | grep -o '[0-9_]*$' | tr -d _)
variants=("$@")
[[ ${#variants[@]} -gt 0 ]] || variants=(raw-typed seed-design typed-warm typed-fresh json-warm)
out=$(mktemp)
for variant in "${variants[@]}"; do
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect='call_cost::measured' \
        --callgrind-out-file="$out" "$bin" "$variant" >/dev/null 2>&1
    total=$(callgrind_annotate "$out" 2>/dev/null | grep 'PROGRAM TOTALS' | grep -o '^[0-9,]*' | tr -d ,)
    printf '%-12s %8d instructions per call\n' "$variant" $((total / calls))
done
rm -f "$out"
