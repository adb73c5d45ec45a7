#!/usr/bin/env bash
# Where the training step's time goes: `perf record` of `bench step` (one thread), then the share of samples per
# symbol. Setup (table initialisation) is in the profile too: about 3–5 % at the default 800 steps.
#
# Usage: bash bench/profile-step.sh [bench step flags...]   (default: --batch 1024 --negatives 1024)
# Environment: SCRATCH=.build-bench (built by bench/speed.sh, or here when missing), TOP=25 symbols,
#              OPENBLAS_CORETYPE (passed on; unset: OpenBLAS's own kernel choice), OUT=bench/.check/step.perf
set -euo pipefail
cd "$(dirname "$0")/.."
command -v perf >/dev/null || { echo "profile-step.sh: needs perf (apt-get install -y linux-perf)" >&2; exit 1; }
SCRATCH=${SCRATCH:-.build-bench}
BENCH=$SCRATCH/release/bench
source bench/lib.sh
# shellcheck disable=SC2046
[ -x "$BENCH" ] || swift build -c release --product bench --scratch-path "$SCRATCH" $(bench_build_flags) >&2
OUT=${OUT:-bench/.check/step.perf}
mkdir -p "$(dirname "$OUT")"
[ $# -gt 0 ] || set -- --batch 1024 --negatives 1024
export OPENBLAS_NUM_THREADS=1
perf record -q -o "$OUT" "$BENCH" step "$@" --threads 1 --windows 40 --steps-per-window 20 --phases
perf report -i "$OUT" --no-children --sort symbol 2>/dev/null | grep -v '^#' | grep '%' | head -"${TOP:-25}" | cut -c1-140
