#!/usr/bin/env bash
# The core crate's module import graph, drawn from its source by the test
# `all::layers::the_core_imports_downward_only`: files, arrows between them, import circles
# and arrows that run from a module up to one above it (the order is `LAYERS` in
# crates/plugmill/tests/all/layers.rs). Exits non-zero when there is a circle or an upward arrow.
#
#   scripts/import-graph.sh            # the core as it is
#   scripts/import-graph.sh COMMIT     # the core's source at COMMIT, drawn by today's test
set -uo pipefail
cd "$(dirname "$0")/.."
if [[ $# -gt 0 ]]; then
  tree=$(mktemp -d)
  trap 'rm -rf "$tree"' EXIT
  git archive "$1" crates/plugmill/src | tar -x -C "$tree" || exit 2
  export PLUGMILL_CORE_SRC="$tree/crates/plugmill/src"
fi
output=$(cargo test --quiet --workspace --test all the_core_imports_downward_only -- --nocapture 2>&1)
status=$?
printf '%s\n' "$output" | awk '/^core import graph/ {on=1} on && /^$/ {exit} on {print}'
exit $status
