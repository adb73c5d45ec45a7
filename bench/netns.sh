#!/usr/bin/env bash
# The quality preset over a network that is not loopback: a baseline build ("old") against this tree's build ("new"),
# with 1 and 2 workers, side by side in one invocation.
#
# The coordinator runs in a network namespace of its own, each worker in another; every worker's namespace is joined
# to a bridge in the coordinator's by a veth pair, and both ends of each pair are rate-limited (`tc qdisc … tbf rate
# RATE`, a token bucket on the egress of each end: RATE each way, like a switch port). Addresses are 10.214.S.0/24
# (S from this process's id), private to this machine; nothing leaves it. The namespaces, and the processes this
# script started, are removed on exit, however it exits.
#
# Each of ROUNDS rounds runs, for each worker count of WORKER_COUNTS, old and new one after the other (their order
# swaps every round):
#   coordinator --workers W --bind tcp://10.214.S.1:5555 --dataset DATASET --preset quality --epochs EPOCHS
#               --minibatch-size MINIBATCH --metrics-address 127.0.0.1:9464        (in its namespace)
#   worker --coordinator tcp://10.214.S.1:5555                                        (each in its own)
# With MINIBATCH 512 a step is two minibatches of 512 (the quality preset's with 2 workers) whatever W is: 1 worker
# computes both, so the two worker counts do the same work per step.
#
# What is measured: no flag of `coordinator train` ends a run after a number of steps, and --time-limit ends it only
# at the end of the epoch in progress, which on Gowalla takes minutes on the old build. So each run is measured in a
# window: once WARMUP_STEPS steps are applied, the coordinator's Prometheus counters (mbt_steps_total,
# mbt_examples_total, mbt_wire_bytes_total) are scraped, then again every second for WINDOW seconds (the window
# closes early when the epoch changes, so no evaluation falls in it); examples/s and wire bytes per step are the
# differences between the first and last scrape. Then the coordinator is stopped with SIGTERM (it finishes its step,
# checkpoints and writes its end event, whose sparse minimum per step is reported beside the measured bytes) and the
# workers with SIGTERM. WINDOW=0 instead runs EPOCHS whole epochs and reports the epoch events' train_seconds as
# bench/quality-speed.sh does.
#
# Environment (all optional):
#   ROUNDS=3            rounds
#   WORKER_COUNTS="1 2" worker counts
#   RATE=1gbit          each link's rate each way (tc units: 1gbit, 500mbit, …)
#   BURST=…             the token bucket's size (default: 1 ms at RATE, at least 64kb)
#   WINDOW=60           seconds measured per run (0: whole epochs)
#   WARMUP_STEPS=10     steps applied before the window opens
#   EPOCHS=1            planned epochs (the length of the preset's cosine schedule; whole epochs run when WINDOW=0)
#   MINIBATCH=512       --minibatch-size ("" for the coordinator's default, the batch / workers)
#   DATASET=../shared/datasets/gowalla
#   BASELINE=DIR, NEW=DIR   the builds, as in bench/quality-speed.sh
#   OUT=bench/runs/netns-<date>.log
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

ROUNDS=${ROUNDS:-3}
WORKER_COUNTS=${WORKER_COUNTS:-"1 2"}
RATE=${RATE:-1gbit}
WINDOW=${WINDOW:-60}
WARMUP_STEPS=${WARMUP_STEPS:-10}
EPOCHS=${EPOCHS:-1}
MINIBATCH=${MINIBATCH-512}
DATASET=${DATASET:-../shared/datasets/gowalla}
log() { bench_log "$@"; }

for n in ROUNDS WARMUP_STEPS EPOCHS; do
    [[ ${!n} =~ ^[1-9][0-9]*$ ]] || { log "$n must be a positive whole number (got '${!n}')"; exit 2; }
done
[[ $WINDOW =~ ^[0-9]+$ ]] || { log "WINDOW must be a whole number of seconds (got '$WINDOW')"; exit 2; }
[ -z "$MINIBATCH" ] || [[ $MINIBATCH =~ ^[1-9][0-9]*$ ]] || { log "MINIBATCH must be a positive whole number or empty"; exit 2; }
for w in $WORKER_COUNTS; do
    [[ $w =~ ^[1-9][0-9]?$ ]] || { log "WORKER_COUNTS must hold worker counts from 1 to 99 (got '$w')"; exit 2; }
done
[ -e "$DATASET" ] || { log "DATASET $DATASET: no such file or directory"; exit 2; }
[ "$(id -u)" = 0 ] || { log "network namespaces need root: run it as root (sudo -E bash bench/netns.sh)"; exit 2; }
command -v ip >/dev/null && ip netns list >/dev/null 2>&1 \
    || { log "\`ip netns\` is not available (install iproute2; a container needs CAP_SYS_ADMIN and CAP_NET_ADMIN)"; exit 2; }
command -v tc >/dev/null || { log "\`tc\` is not available (install iproute2)"; exit 2; }
command -v curl >/dev/null || { log "curl is needed to scrape the coordinator's metrics (apt-get install curl)"; exit 2; }

RATE_BITS=$(python3 - "$RATE" <<'PY'
import re, sys
m = re.fullmatch(r'([\d.]+)\s*([kmgt]?)(bit|bps)', sys.argv[1].lower())
if not m: sys.exit(1)
scale = {'': 1, 'k': 1e3, 'm': 1e6, 'g': 1e9, 't': 1e12}[m[2]] * (8 if m[3] == 'bps' else 1)
print(int(float(m[1]) * scale))
PY
) || { log "RATE must be a tc rate such as 1gbit, 500mbit or 100mbps (got '$RATE')"; exit 2; }
BURST=${BURST:-$(( RATE_BITS / 8 / 1000 > 65536 ? RATE_BITS / 8 / 1000 : 65536 ))}

if [ -n "${BASELINE:-}" ]; then OLD_BIN=$(bench_binaries "$BASELINE"); else OLD_BIN=$(bench_baseline_build "$BENCH_BASELINE_REV"); fi
if [ -n "${NEW:-}" ]; then NEW_BIN=$(bench_binaries "$NEW"); else NEW_BIN=$(bench_current_build); fi
OLD_BIN=$(cd "$OLD_BIN" && pwd)
NEW_BIN=$(cd "$NEW_BIN" && pwd)
DATASET=$(cd "$(dirname "$DATASET")" && pwd)/$(basename "$DATASET")
mkdir -p bench/runs
OUT=${OUT:-bench/runs/netns-$(date +%Y%m%d-%H%M%S).log}

# Names: mbtn<pid>c for the coordinator's namespace, mbtn<pid>w<i> for worker i's; veth mbtn<pid>a<i> (bridge side)
# and mbtn<pid>b<i> (worker side); all at most 15 characters.
TAG=mbtn$(( $$ % 100000 ))
NS_C=${TAG}c
SUBNET=10.214.$(( 1 + $$ % 250 ))
COORDINATOR_ADDRESS=$SUBNET.1
PORT=5555
MAX_WORKERS=0
for w in $WORKER_COUNTS; do [ "$w" -le "$MAX_WORKERS" ] || MAX_WORKERS=$w; done
WORK=$(mktemp -d /tmp/netns-bench.XXXXXX)
PIDS=()
NAMESPACES=()

cleanup() {
    local pid ns
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shape DEV NAMESPACE: the token bucket on DEV's egress.
shape() {
    ip netns exec "$2" tc qdisc add dev "$1" root tbf rate "$RATE" burst "$BURST" latency 50ms
}

setup_network() {
    local i ns
    for ns in "$NS_C" $(for i in $(seq "$MAX_WORKERS"); do echo "${TAG}w$i"; done); do
        if ip netns list | grep -qw "$ns"; then
            log "network namespace $ns exists already (left by an earlier run that was killed?): remove it with \`ip netns del $ns\`"
            exit 1
        fi
    done
    ip netns add "$NS_C"
    NAMESPACES+=("$NS_C")
    ip -n "$NS_C" link set lo up
    ip -n "$NS_C" link add br0 type bridge
    ip -n "$NS_C" addr add "$COORDINATOR_ADDRESS/24" dev br0
    ip -n "$NS_C" link set br0 up
    for i in $(seq "$MAX_WORKERS"); do
        ns=${TAG}w$i
        ip netns add "$ns"
        NAMESPACES+=("$ns")
        ip -n "$ns" link set lo up
        ip link add "${TAG}a$i" netns "$NS_C" type veth peer name "${TAG}b$i" netns "$ns"
        ip -n "$NS_C" link set "${TAG}a$i" master br0
        ip -n "$NS_C" link set "${TAG}a$i" up
        ip -n "$ns" addr add "$SUBNET.$((10 + i))/24" dev "${TAG}b$i"
        ip -n "$ns" link set "${TAG}b$i" up
        shape "${TAG}a$i" "$NS_C"
        shape "${TAG}b$i" "$ns"
    done
}

# check_link: sends 32 MB from worker 1's namespace to the coordinator's and prints the rate it got (the shaping at
# work: about RATE, not loopback's tens of Gbit/s).
check_link() {
    ip netns exec "$NS_C" python3 - "$COORDINATOR_ADDRESS" $((PORT + 1)) "$WORK/link-check" <<'PY' &
import socket, sys, time
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((host, port)); s.listen(1)
s.settimeout(30)
c, _ = s.accept(); total = 0; start = None
while True:
    data = c.recv(1 << 20)
    if not data: break
    if start is None: start = time.time()
    total += len(data)
open(out, 'w').write('%d %.6f\n' % (total, time.time() - start))
PY
    local listener=$!
    sleep 0.5
    ip netns exec "${TAG}w1" python3 -c "
import socket, sys
c = socket.create_connection(('$COORDINATOR_ADDRESS', $((PORT + 1))), timeout=30)
block = b'x' * (1 << 20)
for _ in range(32): c.sendall(block)
c.close()"
    wait "$listener"
    read -r bytes seconds < "$WORK/link-check"
    python3 -c "print('%.0f Mbit/s (%d bytes in %.3f s)' % ($bytes * 8 / $seconds / 1e6, $bytes, $seconds))"
}

# metrics FILE: one scrape of the coordinator's Prometheus endpoint into FILE, with the time it was taken.
metrics() {
    local body
    body=$(ip netns exec "$NS_C" curl -sf --max-time 2 "http://127.0.0.1:9464/metrics") || return 1
    { echo "# time=$(date +%s.%N)"; echo "$body"; } > "$1"
}

# value FILE NAME: the value of metric NAME in a scrape (empty when absent).
value() { awk -v name="$2" '$1 == name {print $2}' "$1"; }
# at_least FILE NAME N: whether metric NAME in a scrape is at least N.
at_least() { awk -v name="$2" -v n="$3" '$1 == name && $2 + 0 >= n {found = 1} END {exit !found}' "$1"; }

# run SIDE BIN WORKERS ROUND: one run; appends its RESULT line to the log.
run() {
    local side=$1 bin=$2 workers=$3 round=$4 dir=$WORK/$1-$3-$4 i coordinator waited=0 first epoch now
    local extra=()
    [ -z "$MINIBATCH" ] || extra+=(--minibatch-size "$MINIBATCH")
    [ "$WINDOW" = 0 ] || extra+=(--metrics-address 127.0.0.1:9464)
    log "round $round/$ROUNDS: $side build, $workers worker(s)"
    echo "# $side $workers worker(s) round $round: load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"
    ip netns exec "$NS_C" "$bin/coordinator" --workers "$workers" --bind "tcp://$COORDINATOR_ADDRESS:$PORT" \
        --dataset "$DATASET" --preset quality --epochs "$EPOCHS" --output "$dir" "${extra[@]}" \
        > "$dir.coordinator.log" 2>&1 &
    coordinator=$!
    PIDS+=("$coordinator")
    local workers_pids=()
    for i in $(seq "$workers"); do
        ip netns exec "${TAG}w$i" "$bin/worker" --coordinator "tcp://$COORDINATOR_ADDRESS:$PORT" --name "w$i" \
            --log-level warning > "$dir.worker$i.log" 2>&1 &
        workers_pids+=($!)
        PIDS+=($!)
    done
    if [ "$WINDOW" = 0 ]; then
        wait "$coordinator" || { tail -20 "$dir.coordinator.log" >&2; log "the $side build's run failed"; exit 1; }
        python3 bench/compare_summary.py run "$dir/metrics.jsonl" --round "$round" --side "$side" \
            --workers "$workers" | tee -a "$OUT"
    else
        # The window opens once WARMUP_STEPS steps are applied (at most 300 s for the start-up).
        until metrics "$dir.before" 2>/dev/null && at_least "$dir.before" mbt_steps_total "$WARMUP_STEPS"; do
            kill -0 "$coordinator" 2>/dev/null \
                || { tail -20 "$dir.coordinator.log" >&2; log "the $side build's coordinator exited before the window"; exit 1; }
            waited=$((waited + 1))
            [ "$waited" -le 300 ] || { tail -20 "$dir.coordinator.log" >&2; log "no $WARMUP_STEPS steps within 300 s"; exit 1; }
            sleep 1
        done
        first=$(value "$dir.before" mbt_epoch)
        cp "$dir.before" "$dir.after"
        for i in $(seq "$WINDOW"); do
            sleep 1
            metrics "$dir.now" 2>/dev/null || break
            epoch=$(value "$dir.now" mbt_epoch)
            [ "$epoch" = "$first" ] || break
            mv "$dir.now" "$dir.after"
        done
        kill -TERM "$coordinator" 2>/dev/null || true
        wait "$coordinator" || true
        python3 bench/compare_summary.py window "$dir.before" "$dir.after" --round "$round" --side "$side" \
            --workers "$workers" --metrics "$dir/metrics.jsonl" | tee -a "$OUT"
    fi
    for i in "${workers_pids[@]}"; do kill -TERM "$i" 2>/dev/null || true; wait "$i" 2>/dev/null || true; done
    PIDS=()   # all waited for: their ids may be reused by now
}

setup_network
{
    echo "# $(date -u +%FT%TZ) $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo "# old: $OLD_BIN ($(bench_describe_build "$OLD_BIN")); new: $NEW_BIN ($(bench_describe_build "$NEW_BIN"))"
    echo "# rounds=$ROUNDS worker_counts=\"$WORKER_COUNTS\" rate=$RATE burst=$BURST window=$WINDOW warmup_steps=$WARMUP_STEPS epochs=$EPOCHS minibatch=${MINIBATCH:-default} dataset=$DATASET"
    echo "# coordinator --workers W --bind tcp://$COORDINATOR_ADDRESS:$PORT --dataset $DATASET --preset quality --epochs $EPOCHS${MINIBATCH:+ --minibatch-size $MINIBATCH} in namespace $NS_C; each worker in its own, veth to a bridge, tbf $RATE each way"
    echo "# link check, worker 1 to the coordinator: $(check_link)"
} | tee "$OUT"

for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="old new"; else order="new old"; fi
    for workers in $WORKER_COUNTS; do
        for side in $order; do
            if [ "$side" = old ]; then run old "$OLD_BIN" "$workers" "$round"; else run new "$NEW_BIN" "$workers" "$round"; fi
        done
    done
done

python3 bench/compare_summary.py summary "$OUT" | tee -a "$OUT"
log "log: $OUT"
