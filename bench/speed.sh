#!/usr/bin/env bash
# Swift's training step against the PyTorch reference (bench/torch_step.py), side by side in one invocation.
#
# For each shape, ROUNDS rounds; each round runs, one process after another: the Swift step (with its GEMM ceiling
# measured in alternating windows, both with the OpenBLAS the product uses: by default the 0.3.34 build that
# scripts/setup.sh installs), then PyTorch {fused, straight} × {default allocator, tcmalloc}, then the GEMM rates of
# Debian's linked OpenBLAS 0.3.21, of the installed 0.3.34 build and of NumPy's bundled OpenBLAS, each in its own
# process. The step's process also times the full-size GEMMs of Debian's build and of NumPy's OpenBLAS (loaded with
# --ceiling-blas) in every window, alternating with the step, so that the step's GEMM work is compared with each
# build without the drift between processes; the table reports it against the build with the highest median rate
# ("in-process, best build", see bench/summarize.py). Every process warms up and reports the median of its
# timed windows; the table gives the median over rounds and the median over rounds of the per-round ratio
# Swift / best PyTorch (the machine's speed drifts: only ratios within a round mean much).
#
# Environment (all optional):
#   ROUNDS=3                 rounds per shape
#   THREADS=1                BLAS / intra-op threads for every process
#   SHAPES="4096x4096 1024x1024 4096x16384"   B x K
#   DIM=64                   embedding dimension d
#   PARALLEL=rows            how the Swift step uses THREADS > 1: rows (ranges of rows side by side, OpenBLAS
#                            single-threaded in each) or blas (OpenBLAS's own threads)
#   SWIFT_BUILD_FLAGS="-Xswiftc -target-cpu -Xswiftc haswell"   extra flags for `swift build` (default: AVX2+FMA
#                            when this CPU has them; set to "" for the portable build)
#   SCRATCH=.build-bench     build directory of the benchmark binary
#   TORCH_PYTHON=…           a Python with torch and numpy to use instead of bench/.venv (no install then)
#   OUT=bench/runs/speed-<date>.log    raw RESULT lines
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-1}
SHAPES=${SHAPES:-"4096x4096 1024x1024 4096x16384"}
DIM=${DIM:-64}
PARALLEL=${PARALLEL:-rows}
SCRATCH=${SCRATCH:-.build-bench}
source bench/lib.sh
SWIFT_BUILD_FLAGS=$(bench_build_flags)
mkdir -p bench/runs
OUT=${OUT:-bench/runs/speed-$(date +%Y%m%d-%H%M%S).log}
VENV=bench/.venv
PY=${TORCH_PYTHON:-$VENV/bin/python}

log() { bench_log "$@"; }

[ -f /usr/local/lib/mbt/libscipy_openblas.so ] \
    || log "warning: /usr/local/lib/mbt/libscipy_openblas.so is missing (bash scripts/setup.sh installs it): the step runs on Debian's OpenBLAS"
[ -n "${TORCH_PYTHON:-}" ] || bench_setup_torch "$VENV"
TCMALLOC=$(bench_tcmalloc)
log "building bench (release, flags: ${SWIFT_BUILD_FLAGS:-none})"
# shellcheck disable=SC2086
swift build -c release --product bench --scratch-path "$SCRATCH" $SWIFT_BUILD_FLAGS >&2
BENCH=$SCRATCH/release/bench
# NumPy's OpenBLAS (an ILP64 build), loaded into the step's process beside Debian's for the in-process ceilings.
NUMPY_BLAS=$("$PY" -c "import glob, os, numpy; print((glob.glob(os.path.join(os.path.dirname(numpy.__file__), os.pardir, 'numpy.libs', 'libscipy_openblas*.so')) + [''])[0])")
CEILINGS=system${NUMPY_BLAS:+,$NUMPY_BLAS}

export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS

{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m) $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo "# rounds=$ROUNDS threads=$THREADS parallel=$PARALLEL dim=$DIM swift_build_flags=\"$SWIFT_BUILD_FLAGS\" tcmalloc=$TCMALLOC"
} | tee "$OUT"

log "checking that Swift and PyTorch compute the same loss and step"
"$BENCH" dump --dir bench/.check --users 2000 --items 3000 --batch 512 --negatives 1024 --dim "$DIM" >&2
"$PY" bench/torch_step.py --check bench/.check | tee -a "$OUT"

for shape in $SHAPES; do
    B=${shape%x*}
    K=${shape#*x}
    common=(--batch "$B" --negatives "$K" --dim "$DIM" --threads "$THREADS")
    # 11 windows of at least 3 steps, and of about 16 steps of B 1024 / K 1024's work at smaller shapes: a window of
    # three 5 ms steps is too short for its ratio to the GEMM windows beside it to mean much.
    steps=$(( 16 * 1048576 / (B * K) ))
    [ "$steps" -ge 3 ] || steps=3
    for round in $(seq "$ROUNDS"); do
        log "B=$B K=$K round $round/$ROUNDS"
        "$BENCH" step "${common[@]}" --windows 11 --steps-per-window "$steps" --gemm --ceiling-blas "$CEILINGS" \
            --parallel "$PARALLEL" | sed "s/^RESULT /RESULT round=$round /" | tee -a "$OUT"
        for form in fused straight; do
            "$PY" bench/torch_step.py --form "$form" "${common[@]}" | sed "s/^RESULT /RESULT round=$round /" | tee -a "$OUT"
            LD_PRELOAD=$TCMALLOC "$PY" bench/torch_step.py --form "$form" "${common[@]}" \
                | sed "s/^RESULT /RESULT round=$round /" | tee -a "$OUT"
        done
        for blas in system auto; do
            "$BENCH" gemm "${common[@]}" --blas "$blas" | sed "s/^RESULT /RESULT round=$round /" | tee -a "$OUT"
        done
        "$PY" bench/numpy_gemm.py "${common[@]}" | sed "s/^RESULT /RESULT round=$round /" | tee -a "$OUT"
    done
done

python3 bench/summarize.py "$OUT"
