#!/usr/bin/env bash
# The core crate's module import graph, drawn from its source by the test
# `all::layers::the_core_imports_downward_only`: files, arrows between them, import circles
# and arrows that run from a module up to one above it (the order is `LAYERS` in
# crates/plugmill/tests/all/layers.rs). Exits non-zero when there is a circle or an upward arrow.
set -uo pipefail
cd "$(dirname "$0")/.."
output=$(cargo test --quiet --workspace --test all the_core_imports_downward_only -- --nocapture 2>&1)
status=$?
printf '%s\n' "$output" | awk '/^core import graph/ {on=1} on && /^$/ {exit} on {print}'
exit $status
