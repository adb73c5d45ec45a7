#!/usr/bin/env bash
# The training step of several commits side by side: builds `bench` (release; AVX2+FMA when the CPU has both, or
# SWIFT_BUILD_FLAGS as in speed.sh) of each commit in its own
# worktree and scratch directory, then runs `bench step --gemm` of each in turn, round after round, one thread.
# Prints one line per run (ips, state_hash, GEMM fraction against the in-process ceiling) and the medians.
#
# Usage: bash bench/step-ab.sh ROUNDS REV [REV...] [-- bench step flags]
#   default flags: --batch 1024 --negatives 1024 --windows 11 --steps-per-window 10
# Environment: WORK=/tmp/step-ab (worktrees and builds are kept there and reused), OPENBLAS_CORETYPE (passed on),
#              OUT=bench/runs/step-ab-<date>.log
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:?usage: bench/step-ab.sh ROUNDS REV [REV...] [-- bench step flags]}
shift
revs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do revs+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#revs[@]} -ge 1 ] || { echo "step-ab.sh: name at least one commit" >&2; exit 1; }
[ $# -gt 0 ] || set -- --batch 1024 --negatives 1024 --windows 11 --steps-per-window 10
source bench/lib.sh
WORK=${WORK:-/tmp/step-ab}
OUT=${OUT:-bench/runs/step-ab-$(date +%Y%m%d-%H%M%S).log}
mkdir -p "$WORK"
bins=()
for rev in "${revs[@]}"; do
    commit=$(git rev-parse --short "$rev^{commit}")
    tree=$WORK/$commit
    [ -d "$tree" ] || git worktree add --detach "$tree" "$commit" >&2
    # shellcheck disable=SC2046
    swift build -c release --product bench --package-path "$tree" --scratch-path "$tree/.build-bench" \
        $(bench_build_flags) >&2
    bins+=("$commit=$tree/.build-bench/release/bench")
done
export OPENBLAS_NUM_THREADS=1
{
    echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); rounds=$rounds OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
    echo "# bench step --threads 1 --gemm $*"
    for r in $(seq "$rounds"); do
        for entry in "${bins[@]}"; do
            echo "round=$r ${entry%%=*} $("${entry#*=}" step --threads 1 --gemm "$@" | grep -o "ips=[0-9]*\|state_hash=[0-9a-f]*\|gemm_fraction=[0-9.]*" | tr '\n' ' ')"
        done
    done
} | tee "$OUT"
python3 - "$OUT" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"round=\d+ (\S+) ips=(\d+) state_hash=\S+ gemm_fraction=([\d.]+)", line)
    if m: runs.setdefault(m[1], []).append((int(m[2]), float(m[3])))
for rev, v in runs.items():
    f = [x for _, x in v]
    print(f"median {rev}: {statistics.median(i for i, _ in v):.0f} interactions/s, GEMM fraction {statistics.median(f):.3f} ({min(f):.3f}-{max(f):.3f})")
PY
