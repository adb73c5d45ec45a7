#!/usr/bin/env bash
# How the Swift step's cost grows: step time and interactions/s against K, d, B and the number of item (= bank)
# rows, one parameter at a time around B 4096 / K 4096 / d 64 / Gowalla's 29,858 users and 40,981 items; with the
# GEMM fraction and each process's peak resident memory. Prints a Markdown table.
#
# Environment: THREADS=1, SCRATCH=.build-bench, SWIFT_BUILD_FLAGS (as in speed.sh), OUT=bench/runs/scaling-<date>.log,
#   KS, DS, BS, ROWS: the values swept (defaults below).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-1}
SCRATCH=${SCRATCH:-.build-bench}
KS=${KS-"1024 4096 16384 65536"}
DS=${DS-"32 64 128 256"}
BS=${BS-"1024 4096 16384"}
ROWS=${ROWS-"10000 100000 1000000 10000000"}
source bench/lib.sh
SWIFT_BUILD_FLAGS=$(bench_build_flags)
mkdir -p bench/runs
OUT=${OUT:-bench/runs/scaling-$(date +%Y%m%d-%H%M%S).log}
# shellcheck disable=SC2086
swift build -c release --product bench --scratch-path "$SCRATCH" $SWIFT_BUILD_FLAGS >&2
BENCH=$SCRATCH/release/bench
export OPENBLAS_NUM_THREADS=$THREADS
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) threads=$THREADS swift_build_flags=\"$SWIFT_BUILD_FLAGS\"" | tee "$OUT"

run() {   # sweep-name value step-flags...
    local sweep=$1 value=$2
    shift 2
    "$BENCH" step --threads "$THREADS" --gemm --warmup 2 --windows 5 --steps-per-window 2 "$@" \
        | sed "s/^RESULT /RESULT sweep=$sweep value=$value /" | tee -a "$OUT" >&2
}
for K in $KS; do run K "$K" --negatives "$K"; done
for d in $DS; do run d "$d" --dim "$d"; done
for B in $BS; do run B "$B" --batch "$B"; done
for rows in $ROWS; do run rows "$rows" --items "$rows"; done

python3 - "$OUT" <<'PY'
import shlex, sys
rows = [dict(t.split("=", 1) for t in shlex.split(l[7:])) for l in open(sys.argv[1]) if l.startswith("RESULT ")]
print("| varied | B | K | d | item/bank rows | step ms | interactions/s | GEMM-alone ms | GEMM fraction | peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['sweep']} | {r['B']} | {r['K']} | {r['d']} | {int(r['items']):,} | {float(r['step_ms']):.1f} | "
          f"{float(r['ips']):,.0f} | {float(r['gemm_ms']):.1f} | {float(r['gemm_fraction']):.2f} | {r['peak_rss_mib']} |")
print(f"\nFrom {sys.argv[1]}; one process per row, median of 5 windows of 2 steps after 2 warm-up steps.")
PY
