#!/usr/bin/env bash
# The quality preset end to end, a baseline build ("old") against this tree's build ("new") against PyTorch running
# the same recipe (bench/torch_mf.py), side by side in one invocation.
#
# Each of ROUNDS rounds runs, one process after another (old and new swap places every round, PyTorch last):
#   coordinator --spawn-workers WORKERS --bind tcp://127.0.0.1:0 --dataset DATASET --preset quality --epochs EPOCHS
# of each build, then bench/torch_mf.py with the recipe the new build recorded in its start event (live negatives
# with gradients, K per minibatch, the bilateral softmax with the τ and τ⁺ of the data's density, the weight decay,
# steps of BATCH pairs cut into the same minibatches each with its own K negatives, losses summed over the step's
# pairs and divided by its size, one dense Adam step, the cosine schedule to 1 % over the planned epochs, cosine
# similarity, accidental hits removed), WORKERS threads, tcmalloc preloaded, no evaluation.
#
# The same recipe on every side: `--epochs` sets the planned length of the preset's cosine schedule on both builds
# (it follows --epochs, not the preset's 30), and PyTorch plans its cosine over the same EPOCHS.
#
# What is timed: the training of each epoch, not the evaluation and not the start-up. For the builds, the epoch
# events' `train_seconds` of metrics.jsonl. With EVALUATE=last (the default) a build that has `--eval-every` runs
# with `--eval-every EPOCHS`: only the last epoch is evaluated, after its training is timed, as PyTorch runs without
# evaluation; a build without the flag evaluates epoch n in a thread while epoch n+1 trains (the log says which).
# EVALUATE=each gives every build the per-epoch evaluation beside the next epoch's training, like for like with
# older builds;
# for PyTorch, the `EPOCH … train_seconds` of torch_mf.py. Seconds per epoch: the median over epochs 2..EPOCHS (the
# first holds the start-up), epoch 1 alone when EPOCHS is 1; examples/s over the same epochs. Wire bytes per step:
# the end event's `wire_bytes_sent` / steps (the workers' join snapshots included) and its ratio to
# `sparse_minimum_bytes_sent` (the rows the steps read and wrote, the least a sparse transfer could send).
#
# Environment (all optional):
#   ROUNDS=3       rounds
#   EPOCHS=3       epochs per run
#   WORKERS=2      local workers (and PyTorch threads)
#   DATASET=../shared/datasets/gowalla   the data (read in place; PyTorch needs a LightGCN directory)
#   BASELINE=DIR   the old build: DIR or DIR/.build/release holding `coordinator` and `worker` (default: built from
#                  commit BENCH_BASELINE_REV of bench/lib.sh by bench/baseline.sh into /tmp/mbt-baseline-<commit>)
#   NEW=DIR        the new build, the same way (default: `swift build -c release` of this tree, flags of bench/lib.sh)
#   TORCH=1        0: no PyTorch side
#   EVALUATE=last  last: builds that can evaluate only the last epoch (--eval-every); each: every epoch, every build
#   TORCH_PYTHON=… a Python with torch and numpy instead of bench/.venv (no install then)
#   NEW_FLAGS=""   further coordinator flags for the new build only (e.g. "--hard-negatives 32"); PyTorch follows the
#                  recipe the new build's start event records (hard negatives: --hard-negatives, --hard-pool,
#                  --hard-skip and --bank-momentum of torch_mf.py)
#   OUT=bench/runs/quality-speed-<date>.log   the log: settings, RESULT lines and the table
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

ROUNDS=${ROUNDS:-3}
EPOCHS=${EPOCHS:-3}
WORKERS=${WORKERS:-2}
DATASET=${DATASET:-../shared/datasets/gowalla}
TORCH=${TORCH:-1}
EVALUATE=${EVALUATE:-last}
mkdir -p bench/runs
OUT=${OUT:-bench/runs/quality-speed-$(date +%Y%m%d-%H%M%S).log}
log() { bench_log "$@"; }
for n in ROUNDS EPOCHS WORKERS; do
    [[ ${!n} =~ ^[1-9][0-9]*$ ]] || { log "$n must be a positive whole number (got '${!n}')"; exit 2; }
done
[ -e "$DATASET" ] || { log "DATASET $DATASET: no such file or directory"; exit 2; }
case "$EVALUATE" in last|each) ;; *) log "EVALUATE must be last or each (got '$EVALUATE')"; exit 2 ;; esac
if [ "$TORCH" != 0 ] && [ ! -f "$DATASET/train.txt" ]; then
    log "DATASET $DATASET is not a LightGCN directory (train.txt, test.txt), which bench/torch_mf.py needs: no PyTorch side"
    TORCH=0
fi

if [ -n "${BASELINE:-}" ]; then OLD_BIN=$(bench_binaries "$BASELINE"); else OLD_BIN=$(bench_baseline_build "$BENCH_BASELINE_REV"); fi
if [ -n "${NEW:-}" ]; then NEW_BIN=$(bench_binaries "$NEW"); else NEW_BIN=$(bench_current_build); fi
PY=${TORCH_PYTHON:-bench/.venv/bin/python}
TCMALLOC=""
if [ "$TORCH" != 0 ]; then
    [ -n "${TORCH_PYTHON:-}" ] || bench_setup_torch bench/.venv
    TCMALLOC=$(bench_tcmalloc)
fi

WORK=$(mktemp -d /tmp/quality-speed.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

{
    echo "# $(date -u +%FT%TZ) $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo "# old: $OLD_BIN ($(bench_describe_build "$OLD_BIN")); new: $NEW_BIN ($(bench_describe_build "$NEW_BIN"))"
    echo "# rounds=$ROUNDS epochs=$EPOCHS workers=$WORKERS dataset=$DATASET torch=$TORCH tcmalloc=${TCMALLOC:-none} evaluate=$EVALUATE"
    echo "# builds: coordinator --spawn-workers $WORKERS --bind tcp://127.0.0.1:0 --dataset $DATASET --preset quality --epochs $EPOCHS (cosine planned over $EPOCHS epochs)"
    if [ "$EPOCHS" = 1 ]; then counted="epoch 1 (with the start-up)"; else counted="the median of epochs 2..$EPOCHS"; fi
    echo "# timed: epoch events' train_seconds (training only; which epochs each build evaluates is said per run below), $counted; PyTorch likewise, without evaluation"
} | tee "$OUT"

# What `time` writes (TIMEFORMAT below) as wall seconds, CPU seconds and cores busy on average: the whole process
# tree's, loading and evaluation included. Below the cores the run could use (WORKERS + 1 processes, or PyTorch's
# WORKERS threads), the other half of the story is processes outside the benchmark: PyTorch's threads in particular
# slow down many times over when other processes hold the cores.
TIMEFORMAT="%R %U %S"
cpu_use() {
    awk '{printf "wall %.1f s, CPU %.1f s: %.2f cores busy on average", $1, $2 + $3, ($2 + $3) / ($1 > 0 ? $1 : 1)}' "$1"
}

# run_build SIDE BIN ROUND: one coordinator run with its spawned workers; appends its RESULT line to the log.
run_build() {
    local side=$1 bin=$2 round=$3 dir=$WORK/$1-$3
    local evaluation=()
    local help
    help=$("$bin/coordinator" train --help 2>&1 || true)   # not piped into grep -q: SIGPIPE would fail the pipeline
    if [ "$EVALUATE" = last ] && [[ $help == *--eval-every* ]]; then
        evaluation=(--eval-every "$EPOCHS")
        echo "# $side round $round: --eval-every $EPOCHS: only the last epoch is evaluated, after its training" | tee -a "$OUT"
    else
        echo "# $side round $round: every epoch is evaluated in a thread beside the next epoch's training" | tee -a "$OUT"
    fi
    log "round $round/$ROUNDS: $side build ($bin), $EPOCHS epoch(s)"
    echo "# $side round $round: load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"
    local extra=()
    if [ "$side" = new ] && [ -n "${NEW_FLAGS:-}" ]; then
        read -r -a extra <<< "$NEW_FLAGS"
        echo "# new round $round: with $NEW_FLAGS" | tee -a "$OUT"
    fi
    if ! { time "$bin/coordinator" --spawn-workers "$WORKERS" --bind tcp://127.0.0.1:0 --dataset "$DATASET" \
        --preset quality --epochs "$EPOCHS" "${evaluation[@]}" "${extra[@]}" --output "$dir" > "$WORK/$side-$round.log" 2>&1; } 2> "$WORK/time"; then
        tail -20 "$WORK/$side-$round.log" >&2
        log "the $side build's run failed (its log's end is above)"
        exit 1
    fi
    echo "# $side round $round: $(cpu_use "$WORK/time")" | tee -a "$OUT"
    grep -m1 "preset quality on" "$WORK/$side-$round.log" | sed "s/^/# $side round $round: /" | tee -a "$OUT"
    python3 bench/compare_summary.py run "$dir/metrics.jsonl" --round "$round" --side "$side" --workers "$WORKERS" \
        | tee -a "$OUT"
}

# torch_arguments METRICS_JSONL: bench/torch_mf.py's arguments for the recipe of the run's start event.
torch_arguments() {
    python3 - "$1" "$EPOCHS" "$WORKERS" "$DATASET" <<'PY'
import json, sys
path, epochs, threads, dataset = sys.argv[1:]
start = next(e for e in map(json.loads, open(path)) if e.get('event') == 'start')
def need(key, wanted):
    if start.get(key) != wanted:
        sys.exit('quality-speed.sh: torch_mf.py has no counterpart of %s=%r (it runs %r)' % (key, start.get(key), wanted))
need('optimizer', 'dense-adam'); need('live_negatives', True); need('similarity', 'cosine')
need('lr_schedule', 'cosine(finalFraction: 0.01)')
batch, minibatch = start['batch_size'], start['minibatch_size']
if batch % minibatch:
    sys.exit('quality-speed.sh: a batch of %d is not whole minibatches of %d' % (batch, minibatch))
args = ['%g' % start['lr'], 'dense', epochs, '--negatives', start['negatives'], '--batch', batch,
        '--minibatches', batch // minibatch, '--cosine', '--temperature', '%.6g' % start['temperature'],
        '--weight-decay', '%.6g' % start['weight_decay'], '--threads', threads, '--no-eval', '--dataset', dataset]
if start.get('positive_temperature') is not None:
    args += ['--positive-temperature', '%.6g' % start['positive_temperature']]
if start.get('hard_negatives', 0) > 0:
    args += ['--hard-negatives', start['hard_negatives'], '--hard-pool', start['hard_negative_pool'],
             '--hard-skip', start.get('hard_negative_skip', 0), '--bank-momentum', '%.6g' % start['momentum']]
print(' '.join(str(a) for a in args))
PY
}

run_torch() {
    local round=$1
    log "round $round/$ROUNDS: PyTorch"
    echo "# pytorch round $round: load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"
    # shellcheck disable=SC2086
    if ! { time LD_PRELOAD=$TCMALLOC "$PY" bench/torch_mf.py $TORCH_ARGS > "$WORK/torch-$round.log" 2>&1; } 2> "$WORK/time"
    then
        tail -20 "$WORK/torch-$round.log" >&2
        log "the PyTorch run failed (its log's end is above)"
        exit 1
    fi
    echo "# pytorch round $round: $(cpu_use "$WORK/time")" | tee -a "$OUT"
    python3 bench/compare_summary.py torch "$WORK/torch-$round.log" --round "$round" | tee -a "$OUT"
}

TORCH_ARGS=""
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="old new"; else order="new old"; fi
    for side in $order; do
        if [ "$side" = old ]; then run_build old "$OLD_BIN" "$round"; else run_build new "$NEW_BIN" "$round"; fi
        # PyTorch runs the new build's recipe (its preset or NEW_FLAGS may differ from the old build's).
        if [ -z "$TORCH_ARGS" ] && [ "$TORCH" != 0 ] && [ "$side" = new ]; then
            TORCH_ARGS=$(torch_arguments "$WORK/$side-$round/metrics.jsonl")
            echo "# pytorch: LD_PRELOAD=$TCMALLOC $PY bench/torch_mf.py $TORCH_ARGS" | tee -a "$OUT"
        fi
    done
    [ "$TORCH" = 0 ] || run_torch "$round"
done

python3 bench/compare_summary.py summary "$OUT" | tee -a "$OUT"
log "log: $OUT"
