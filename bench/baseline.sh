#!/usr/bin/env bash
# Builds the coordinator and worker of an older commit (release, the bench scripts' flags: see bench/lib.sh) into a
# directory outside the repository, so that the speed scripts can run "before" and "after" in one invocation.
#
# Usage: bash bench/baseline.sh [REV [DIR]]
#   REV  the commit to build (default: cb3c44a, the "before" of the sparse-row transfer change)
#   DIR  where its source is checked out (`git worktree add --detach`) and built (default: /tmp/mbt-baseline-<commit>)
# Prints DIR's binary directory (DIR/.build/release) on stdout, the only line it prints there. A DIR whose binaries
# are already built for REV is reused without building (DIR/.build/baseline-commit records what was built); a DIR that holds
# another commit is an error, never overwritten.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_baseline_build "${1:-$BENCH_BASELINE_REV}" "${2:-}"
