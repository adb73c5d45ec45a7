#!/usr/bin/env bash
# The training step and its GEMM ceiling with each OpenBLAS build, alternating in one invocation, one thread:
# Debian's linked 0.3.21 (`--blas system`) and the 0.3.34 build that scripts/setup.sh installs (`--blas auto`).
# Each line: the step's interactions/s, the in-process ceiling of its two GEMMs, the GEMM fraction against that
# ceiling, and state_hash (the same bits with either build, or not).
#
# Run `bash bench/speed.sh` once first (it builds the bench binary into SCRATCH).
# Environment: ROUNDS=5, SHAPES="1024x1024 4096x4096" (B x K), SCRATCH=.build-bench,
# OUT=bench/runs/blas-builds-<date>.log
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
SHAPES=${SHAPES:-"1024x1024 4096x4096"}
BENCH=${SCRATCH:-.build-bench}/release/bench
OUT=${OUT:-bench/runs/blas-builds-$(date +%Y%m%d-%H%M%S).log}
[ -x "$BENCH" ] || { echo "blas-builds.sh: run bash bench/speed.sh first ($BENCH)" >&2; exit 1; }
[ -f /usr/local/lib/mbt/libscipy_openblas.so ] || { echo "blas-builds.sh: run bash scripts/setup.sh first" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1
{
    echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); rounds=$ROUNDS"
    for r in $(seq "$ROUNDS"); do
        for shape in $SHAPES; do
            B=${shape%x*} K=${shape#*x}
            windows=11; steps=10; [ "$B" -ge 4096 ] && { windows=7; steps=3; }
            for blas in system auto; do
                echo "round=$r B=$B K=$K blas=$blas $("$BENCH" step --batch "$B" --negatives "$K" --threads 1 --gemm \
                    --windows $windows --steps-per-window $steps --blas $blas \
                    | grep -o "ips=[0-9]*\|gemm_ms=[0-9.]*\|gemm_gflops=[0-9.]*\|gemm_fraction=[0-9.]*\|state_hash=[0-9a-f]*" | tr '\n' ' ')"
            done
        done
    done
} | tee "$OUT"
# Medians per shape and build, and the per-round ratio auto / system of interactions/s.
python3 - "$OUT" <<'PY'
import re, statistics, sys
from collections import defaultdict
rows = [dict(kv.split("=", 1) for kv in l.split()) for l in open(sys.argv[1]) if l.startswith("round=")]
by = defaultdict(dict)
for r in rows:
    by[(int(r["B"]), int(r["K"]))].setdefault(r["round"], {})[r["blas"]] = r
print("| B × K | build | interactions/s | ceiling GFLOP/s | GEMM fraction | auto / system interactions/s (per round) |")
print("|---|---|---|---|---|---|")
for shape, rounds in sorted(by.items()):
    ratios = [float(x["auto"]["ips"]) / float(x["system"]["ips"]) for x in rounds.values() if len(x) == 2]
    for blas in ("system", "auto"):
        med = lambda k: statistics.median(float(x[blas][k]) for x in rounds.values() if blas in x)
        last = f"**{statistics.median(ratios):.3f}** ({', '.join(f'{v:.3f}' for v in ratios)})" if blas == "auto" else ""
        print(f"| {shape[0]} × {shape[1]} | {blas} | {med('ips'):,.0f} | {med('gemm_gflops'):.1f} | {med('gemm_fraction'):.3f} | {last} |")
PY
