#!/usr/bin/env bash
# The GEMM ceiling with Debian's OpenBLAS under its own kernel choice and under OPENBLAS_CORETYPE=TYPE, against
# NumPy's bundled OpenBLAS, and the training step with either kernel choice; alternating, one thread each.
#
# Run `bash bench/speed.sh` once first: it builds the bench binary (SCRATCH) and the Python venv with NumPy.
# Environment: ROUNDS=4, CORETYPE=Haswell, BLOCKS="256" (the step's --block-rows values to try; "auto" is the
# product's choice), GEMM=1 (0 skips the GEMM-only part), SCRATCH=.build-bench,
# OUT=bench/runs/blas-coretype-<date>.log
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-4}
CORETYPE=${CORETYPE:-Haswell}
BLOCKS=${BLOCKS:-auto}
GEMM=${GEMM:-1}
BENCH=${SCRATCH:-.build-bench}/release/bench
PY=bench/.venv/bin/python
OUT=${OUT:-bench/runs/blas-coretype-$(date +%Y%m%d-%H%M%S).log}
[ -x "$BENCH" ] && [ -x "$PY" ] || { echo "blas-coretype.sh: run bash bench/speed.sh first ($BENCH, $PY)" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
gflops() { grep -o "fwd_gflops=[0-9.]*\|bwd_gflops=[0-9.]*" | tr '\n' ' '; }
{
    echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); rounds=$ROUNDS coretype=$CORETYPE blocks=$BLOCKS"
    for r in $(seq "$ROUNDS"); do
        [ "$GEMM" = 1 ] || break
        for shape in "1024 1024" "4096 4096"; do
            set -- $shape
            w=9; [ "$1" = 4096 ] && w=5
            echo "round=$r B=$1 K=$2 debian-own $("$BENCH" gemm --batch "$1" --negatives "$2" --threads 1 --windows $w | gflops)"
            echo "round=$r B=$1 K=$2 debian-$CORETYPE $(OPENBLAS_CORETYPE=$CORETYPE "$BENCH" gemm --batch "$1" --negatives "$2" --threads 1 --windows $w | gflops)"
            echo "round=$r B=$1 K=$2 numpy $("$PY" bench/numpy_gemm.py --batch "$1" --negatives "$2" --windows $w | gflops)"
        done
    done
    step=(step --batch 1024 --negatives 1024 --threads 1 --gemm --windows 11 --steps-per-window 10)
    for r in $(seq "$ROUNDS"); do
        for core in own "$CORETYPE"; do
            for rows in $BLOCKS; do
                env=(); [ "$core" = own ] || env=(OPENBLAS_CORETYPE="$core")
                block=(); [ "$rows" = auto ] || block=(--block-rows "$rows")
                echo "round=$r step core=$core block_rows=$rows $(env "${env[@]}" "$BENCH" "${step[@]}" "${block[@]}" | grep -o "ips=[0-9]*\|gemm_gflops=[0-9.]*\|gemm_fraction=[0-9.]*\|state_hash=[0-9a-f]*" | tr '\n' ' ')"
            done
        done
    done
} | tee "$OUT"
