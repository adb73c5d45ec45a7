#!/usr/bin/env bash
# Does a run's speed and a worker's memory depend on the catalogue's size? Workers hold no copy of the parameters
# (each STEP carries the rows its tasks read), so at the same minibatch size B and negatives K the examples per second
# should barely change from a small synthetic catalogue to a large one, and neither should a worker's memory; the
# coordinator's memory grows with the catalogue (it holds the tables, the optimizer state and the bank).
#
# Each of ROUNDS rounds trains the synthetic data at two sizes, SMALL and LARGE (their order swaps every round), with
# this tree's release build:
#   coordinator --workers 2 --bind tcp://127.0.0.1:PORT --dataset synthetic --synthetic-users U --synthetic-items I
#               --synthetic-interactions-per-user PER_USER --dim DIM --preset PRESET --epochs E
#               --evaluation-users EVALUATION_USERS --metrics-address 127.0.0.1:MPORT
#   worker --coordinator tcp://127.0.0.1:PORT        (twice)
# each process under `/usr/bin/time -v`. PRESET `bank` (the default) is InfoNCE against K 1024 constant bank
# negatives with lazy Adam (per-row state only for the rows a step moves; dense Adam's every-row update is what the
# quality preset would add, and what this benchmark leaves out), B 3072: 2 minibatches of 1536, one per worker.
#
# What is measured, as in bench/netns.sh: once WARMUP_STEPS steps are applied, the coordinator's Prometheus counters
# are scraped, then again every second for WINDOW seconds; examples/s is the difference between the first and the
# last scrape (bench/compare_summary.py window). E is LARGE_EPOCHS (1) for LARGE, whose epoch (20 M pairs) outlasts
# any window, and SMALL_EPOCHS (100) for SMALL, whose epoch of 400,000 pairs lasts a few seconds: its window spans
# epoch ends, each with its audit, a checkpoint written in the background and the evaluation of EVALUATION_USERS
# sampled users. So each run also reports examples_per_second_within_epochs, over only the one-second intervals
# between scrapes of the same epoch; the summary's ratio LARGE / SMALL is of those (the gross one beside it).
# Then each process's high-water mark of resident memory (VmHWM) is read, the coordinator is stopped with SIGTERM (it
# finishes its step and checkpoints; the workers, which would wait for it to come back, get SIGTERM 10 s later), and
# /usr/bin/time's `Maximum resident set size` of each process is recorded: the coordinator's includes the stop's
# checkpoint and export (copies of its state), so its training peak is the VmHWM taken at the window's end
# (`coordinator_window_rss_mb`).
#
# Environment (all optional):
#   ROUNDS=2                        rounds
#   SMALL_USERS=40000 SMALL_ITEMS=40000
#   LARGE_USERS=2000000 LARGE_ITEMS=2000000   (8 M × 8 M, the target of very large catalogues, is allowed but not
#                                              the default: at 2 M the coordinator held 4.3 GB while training and
#                                              9.7 GB at its peak with the stop's checkpoint, so 8 M needs about
#                                              17 GB to train and more than this 24 GB machine for the checkpoint)
#   PER_USER=10                     --synthetic-interactions-per-user
#   SHARDS=0                        state shards (`coordinator shard`, each under /usr/bin/time -v; 0: the
#                                   coordinator holds the state; 2 or more: the coordinator holds none)
#   DIM=64  PRESET=bank  EVALUATION_USERS=1000
#   WINDOW=60                       seconds measured per run
#   WARMUP_STEPS=10                 steps applied before the window opens
#   START_TIMEOUT=900               seconds allowed for loading, generating and the warm-up steps
#   NEW=DIR                         a directory holding release `coordinator` and `worker` (default: build this tree)
#   OUT=bench/runs/scale-<date>.log
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

ROUNDS=${ROUNDS:-2}
SMALL_USERS=${SMALL_USERS:-40000}
SMALL_ITEMS=${SMALL_ITEMS:-40000}
LARGE_USERS=${LARGE_USERS:-2000000}
LARGE_ITEMS=${LARGE_ITEMS:-2000000}
PER_USER=${PER_USER:-10}
SMALL_EPOCHS=${SMALL_EPOCHS:-100}
LARGE_EPOCHS=${LARGE_EPOCHS:-1}
DIM=${DIM:-64}
PRESET=${PRESET:-bank}
EVALUATION_USERS=${EVALUATION_USERS:-1000}
WINDOW=${WINDOW:-60}
WARMUP_STEPS=${WARMUP_STEPS:-10}
START_TIMEOUT=${START_TIMEOUT:-900}
WORKERS=2
SHARDS=${SHARDS:-0}
log() { bench_log "$@"; }

for n in ROUNDS SMALL_EPOCHS LARGE_EPOCHS SMALL_USERS SMALL_ITEMS LARGE_USERS LARGE_ITEMS PER_USER DIM WINDOW WARMUP_STEPS START_TIMEOUT; do
    [[ ${!n} =~ ^[1-9][0-9]*$ ]] || { log "$n must be a positive whole number (got '${!n}')"; exit 2; }
done
[[ $SHARDS =~ ^[0-9]+$ ]] && [ "$SHARDS" != 1 ] || { log "SHARDS must be 0 or at least 2 (got '$SHARDS')"; exit 2; }
[[ $EVALUATION_USERS =~ ^[0-9]+$ ]] || { log "EVALUATION_USERS must be a whole number (got '$EVALUATION_USERS')"; exit 2; }
[ -x /usr/bin/time ] || { log "/usr/bin/time is needed (apt-get install time)"; exit 2; }
command -v curl >/dev/null || { log "curl is needed to scrape the coordinator's metrics (apt-get install curl)"; exit 2; }

if [ -n "${NEW:-}" ]; then BIN=$(bench_binaries "$NEW"); else BIN=$(bench_current_build); fi
BIN=$(cd "$BIN" && pwd)
mkdir -p bench/runs
OUT=${OUT:-bench/runs/scale-$(date +%Y%m%d-%H%M%S).log}
WORK=$(mktemp -d /tmp/scale-bench.XXXXXX)
PIDS=()

# Each process runs under /usr/bin/time, whose pid is in PIDS; signals go to its child, the process itself.
child() { pgrep -P "$1" | head -1 || true; }
cleanup() {
    local pid c
    for pid in "${PIDS[@]}"; do
        c=$(child "$pid" || true)
        [ -z "$c" ] || kill -TERM "$c" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# metrics FILE: one scrape of the coordinator's Prometheus endpoint into FILE, with the time it was taken.
metrics() {
    local body
    body=$(curl -sf --max-time 2 "http://127.0.0.1:$MPORT/metrics") || return 1
    { echo "# time=$(date +%s.%N)"; echo "$body"; } > "$1"
}
value() { awk -v name="$2" '$1 == name {print $2}' "$1"; }
at_least() { awk -v name="$2" -v n="$3" '$1 == name && $2 + 0 >= n {found = 1} END {exit !found}' "$1"; }
# hwm PID: the process's high-water mark of resident memory in MiB (empty once it has exited).
hwm() { awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || true; }
# peak TIMEFILE: /usr/bin/time's Maximum resident set size in MiB.
peak() { awk -F: '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$1"; }
# wait_for PID SECONDS: waits for PID to exit, at most SECONDS; false when it is still running.
wait_for() {
    local i
    for i in $(seq "$(( $2 * 10 ))"); do kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }; sleep 0.1; done
    return 1
}

# within_epochs DIR: examples/s over the seconds of the window between scrapes of the same epoch (an epoch's end
# brings its audit, checkpoint and evaluation: the intervals holding one are left out), and how many epochs ended.
within_epochs() {
    python3 - "$1" <<'PY'
import glob, re, sys
scrapes = []
for path in sorted(glob.glob(sys.argv[1] + '.scrape.*'), key=lambda p: int(p.rsplit('.', 1)[1])):
    when, values = None, {}
    for line in open(path):
        m = re.match(r'# time=([\d.]+)', line)
        if m:
            when = float(m[1])
        elif line.strip() and not line.startswith('#'):
            name, _, value = line.rpartition(' ')
            values[name] = float(value)
    if when is not None and 'mbt_examples_total' in values and 'mbt_epoch' in values:
        scrapes.append((when, values['mbt_examples_total'], values['mbt_epoch']))
seconds = examples = 0.0
for (t0, e0, p0), (t1, e1, p1) in zip(scrapes, scrapes[1:]):
    if p0 == p1:
        seconds += t1 - t0
        examples += e1 - e0
ends = scrapes[-1][2] - scrapes[0][2] if scrapes else 0
print('examples_per_second_within_epochs=%s within_epochs_seconds=%.1f epoch_ends_in_window=%d'
      % ('%.1f' % (examples / seconds) if seconds > 0 else '-', seconds, ends))
PY
}

# run SIZE USERS ITEMS ROUND EPOCHS: one run; appends its RESULT line to the log.
run() {
    local size=$1 users=$2 items=$3 round=$4 epochs=$5 dir=$WORK/$1-$4 i coordinator c waited=0 started
    PORT=$(free_port)
    MPORT=$(free_port)
    log "round $round/$ROUNDS: $size, $users users × $items items"
    echo "# $size round $round: $users users × $items items; load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"
    started=$(date +%s.%N)
    local shard_pids=() shard_flags=() sport k
    for k in $(seq "$SHARDS"); do
        sport=$(free_port)
        /usr/bin/time -v -o "$dir.shard$k.time" "$BIN/coordinator" shard --bind "tcp://127.0.0.1:$sport" \
            --log-level warning > "$dir.shard$k.log" 2>&1 &
        shard_pids+=($!)
        shard_flags+=(--shard "tcp://127.0.0.1:$sport")
    done
    /usr/bin/time -v -o "$dir.coordinator.time" "$BIN/coordinator" --workers "$WORKERS" "${shard_flags[@]}" \
        --bind "tcp://127.0.0.1:$PORT" --dataset synthetic --synthetic-users "$users" --synthetic-items "$items" \
        --synthetic-interactions-per-user "$PER_USER" --dim "$DIM" --preset "$PRESET" --epochs "$epochs" \
        --evaluation-users "$EVALUATION_USERS" --metrics-address "127.0.0.1:$MPORT" --output "$dir" \
        > "$dir.coordinator.log" 2>&1 &
    coordinator=$!
    PIDS=("$coordinator" "${shard_pids[@]}")
    local worker_pids=()
    for i in $(seq "$WORKERS"); do
        /usr/bin/time -v -o "$dir.worker$i.time" "$BIN/worker" --coordinator "tcp://127.0.0.1:$PORT" --name "w$i" \
            --log-level warning > "$dir.worker$i.log" 2>&1 &
        worker_pids+=($!)
        PIDS+=($!)
    done
    until metrics "$dir.before" 2>/dev/null && at_least "$dir.before" mbt_steps_total "$WARMUP_STEPS"; do
        kill -0 "$coordinator" 2>/dev/null \
            || { tail -20 "$dir.coordinator.log" >&2; log "the $size coordinator exited before the window"; exit 1; }
        waited=$((waited + 1))
        [ "$waited" -le "$START_TIMEOUT" ] \
            || { tail -20 "$dir.coordinator.log" >&2; log "no $WARMUP_STEPS steps within $START_TIMEOUT s"; exit 1; }
        sleep 1
    done
    local to_window
    to_window=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$started" "$(date +%s.%N)")
    cp "$dir.before" "$dir.scrape.0"
    cp "$dir.before" "$dir.after"
    for i in $(seq "$WINDOW"); do
        sleep 1
        metrics "$dir.scrape.$i" 2>/dev/null || break
        cp "$dir.scrape.$i" "$dir.after"
    done
    # The training peaks, before the stop's checkpoint.
    c=$(child "$coordinator")
    local window_rss=() pid
    window_rss+=("coordinator_window_rss_mb=$(hwm "$c")")
    for i in $(seq "$WORKERS"); do window_rss+=("worker${i}_window_rss_mb=$(hwm "$(child "${worker_pids[$((i - 1))]}")")"); done
    for k in $(seq "$SHARDS"); do window_rss+=("shard${k}_window_rss_mb=$(hwm "$(child "${shard_pids[$((k - 1))]}")")"); done
    kill -TERM "$c" 2>/dev/null || true
    wait_for "$coordinator" 600 || { log "the $size coordinator did not stop within 600 s of SIGTERM"; exit 1; }
    for pid in "${worker_pids[@]}"; do
        if ! wait_for "$pid" 10; then
            c=$(child "$pid" || true)
            [ -z "$c" ] || kill -TERM "$c" 2>/dev/null || true
            wait_for "$pid" 30 || true
        fi
    done
    for pid in "${shard_pids[@]}"; do
        c=$(child "$pid" || true)
        [ -z "$c" ] || kill -TERM "$c" 2>/dev/null || true
        wait_for "$pid" 30 || true
    done
    PIDS=()   # all waited for: their ids may be reused by now
    local line peaks
    line=$(python3 bench/compare_summary.py window "$dir.before" "$dir.after" --round "$round" --side "$size" \
        --workers "$WORKERS" --metrics "$dir/metrics.jsonl")
    peaks="users=$users items=$items seconds_to_window=$to_window coordinator_peak_rss_mb=$(peak "$dir.coordinator.time")"
    for i in $(seq "$WORKERS"); do peaks+=" worker${i}_peak_rss_mb=$(peak "$dir.worker$i.time")"; done
    for k in $(seq "$SHARDS"); do peaks+=" shard${k}_peak_rss_mb=$(peak "$dir.shard$k.time")"; done
    echo "$line $(within_epochs "$dir") $peaks ${window_rss[*]}" | tee -a "$OUT"
    grep -h "evaluation:\|preset $PRESET" "$dir.coordinator.log" | sed 's/^/#   /' | tee -a "$OUT" || true
}

{
    echo "# $(date -u +%FT%TZ) $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/^Mem:/ {print $2}') GiB"
    echo "# build: $BIN ($(bench_describe_build "$BIN"))"
    echo "# rounds=$ROUNDS shards=$SHARDS small=${SMALL_USERS}x$SMALL_ITEMS large=${LARGE_USERS}x$LARGE_ITEMS per_user=$PER_USER dim=$DIM preset=$PRESET evaluation_users=$EVALUATION_USERS window=$WINDOW warmup_steps=$WARMUP_STEPS workers=$WORKERS"
    echo "# coordinator --workers $WORKERS --dataset synthetic --synthetic-users U --synthetic-items I --synthetic-interactions-per-user $PER_USER --dim $DIM --preset $PRESET --epochs $SMALL_EPOCHS (small) / $LARGE_EPOCHS (large) --evaluation-users $EVALUATION_USERS --metrics-address …; $WORKERS × worker; each under /usr/bin/time -v"
} | tee "$OUT"

for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="small large"; else order="large small"; fi
    for size in $order; do
        if [ "$size" = small ]; then
            run small "$SMALL_USERS" "$SMALL_ITEMS" "$round" "$SMALL_EPOCHS"
        else
            run large "$LARGE_USERS" "$LARGE_ITEMS" "$round" "$LARGE_EPOCHS"
        fi
    done
done

python3 - "$OUT" <<'PY' | tee -a "$OUT"
import statistics, sys
rows = [dict(f.split('=', 1) for f in line.split()[1:] if '=' in f)
        for line in open(sys.argv[1]) if line.startswith('RESULT ')]
by_round = {}
for r in rows:
    by_round.setdefault(r['round'], {})[r['side']] = r
def number(r, key):
    try:
        return float(r[key])
    except (KeyError, ValueError):
        return None
print('\nexamples/s in each round (within epochs; gross, the whole window), and LARGE / SMALL:')
print('%-6s %12s %12s %8s   %12s %12s %8s' % ('round', 'small', 'large', 'ratio', 'small gross', 'large gross', 'ratio'))
ratios, gross = [], []
for rnd in sorted(by_round, key=int):
    s, l = by_round[rnd].get('small'), by_round[rnd].get('large')
    if not (s and l):
        continue
    a, b = number(s, 'examples_per_second_within_epochs'), number(l, 'examples_per_second_within_epochs')
    c, d = number(s, 'examples_per_second'), number(l, 'examples_per_second')
    if a and b:
        ratios.append(b / a)
    gross.append(d / c)
    print('%-6s %12s %12s %8s   %12.0f %12.0f %8.3f' % (rnd, '%.0f' % a if a else '-', '%.0f' % b if b else '-',
                                                     '%.3f' % (b / a) if a and b else '-', c, d, d / c))
if gross:
    print('%-6s %12s %12s %8s   %12s %12s %8.3f' % ('median', '', '', '%.3f' % statistics.median(ratios) if ratios else '-',
                                                 '', '', statistics.median(gross)))
print('\npeak resident memory, MiB (window: VmHWM at the end of the window; peak: /usr/bin/time, with the stop):')
keys = ['coordinator_window_rss_mb', 'coordinator_peak_rss_mb', 'worker1_window_rss_mb', 'worker1_peak_rss_mb',
        'worker2_window_rss_mb', 'worker2_peak_rss_mb']
keys += sorted({k for r in rows for k in r if k.startswith('shard') and k.endswith('_rss_mb')})
print('%-6s %-6s ' % ('round', 'size') + ' '.join('%14s' % k.replace('_rss_mb', '') for k in keys))
for rnd in sorted(by_round, key=int):
    for size in ('small', 'large'):
        r = by_round[rnd].get(size)
        if r:
            print('%-6s %-6s ' % (rnd, size) + ' '.join('%14s' % r.get(k, '-') for k in keys))
PY
log "wrote $OUT"
