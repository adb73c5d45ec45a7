#!/usr/bin/env bash
# Distributed overhead: a real coordinator with 2 spawned worker processes (one BLAS thread each) against one
# process with 2 threads, same global batch, alternating in one invocation; and bytes on the wire per step against
# the sparse minimum.
#
# Each round runs, one process after another:
#   single   `bench step --threads 2 --parallel rows` (as `THREADS=2 bench/speed.sh` runs it: two ranges of rows
#            side by side, OpenBLAS single-threaded in each), B = 4096, K = 4096, d = 64, Adam; 3 warm-up steps,
#            then one timed window of as many steps as the cluster's epoch (146), so that both rates are means over
#            the same number of steps and a burst of other work on the machine weighs on both alike
#   state    the same through the coordinator's TrainingState.apply (`--path state`)
#   cluster  `coordinator --spawn-workers 2` on synthetic data of Gowalla's size (29,858 users, 40,981 items,
#            20 training items per user), global batch 4096 = 2 minibatches of 2048, K = 4096 per minibatch (the
#            same GEMM work per step as single), one epoch; its examples/s is the epoch event's
#            `examples_per_second` in metrics.jsonl, counted from the first STEP (the wait for the workers and their
#            snapshots, `seconds_to_first_step`, is left out by the coordinator). The evaluation runs after the epoch
#            has ended (one epoch, so it overlaps nothing that is timed).
# The table gives the median over rounds of each rate and of the per-round ratio cluster / single (the machine's
# speed drifts: only ratios within a round mean much), and the coordinator's bytes on the wire per step against
# the sparse minimum (`end` event of metrics.jsonl: gradient rows received, delta rows sent once per worker, each
# row a u32 id and d f32 values).
#
# Environment (all optional):
#   ROUNDS=5                 rounds
#   SINGLE_STEPS=146         timed steps of each single-process run (146 = one epoch of the synthetic data)
#   SWIFT_BUILD_FLAGS="-Xswiftc -target-cpu -Xswiftc haswell"   extra flags for `swift build` (default: AVX2+FMA
#                            when this CPU has them, as in speed.sh; set to "" for the portable build)
#   SCRATCH=.build-bench     build directory (bench, coordinator and worker)
#   DATASET=synthetic        or a LightGCN directory, e.g. ../shared/datasets/gowalla
#   OUT=bench/runs/distributed-<date>.log   raw RESULT lines
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
SINGLE_STEPS=${SINGLE_STEPS:-146}
SCRATCH=${SCRATCH:-.build-bench}
DATASET=${DATASET:-synthetic}
B=4096 MINIBATCH=2048 K=4096 DIM=64 LR=0.001
source bench/lib.sh
SWIFT_BUILD_FLAGS=$(bench_build_flags)
mkdir -p bench/runs
OUT=${OUT:-bench/runs/distributed-$(date +%Y%m%d-%H%M%S).log}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

log() { echo "distributed.sh: $*" >&2; }

log "building bench, coordinator and worker (release, flags: ${SWIFT_BUILD_FLAGS:-none})"
for product in bench coordinator worker; do
    # shellcheck disable=SC2086
    swift build -c release --product "$product" --scratch-path "$SCRATCH" $SWIFT_BUILD_FLAGS >&2
done
BIN=$SCRATCH/release

{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m) $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo "# rounds=$ROUNDS B=$B minibatch=$MINIBATCH K=$K d=$DIM dataset=$DATASET commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources || echo +dirty) swift_build_flags=\"$SWIFT_BUILD_FLAGS\""
} | tee "$OUT"

data=(--dataset "$DATASET")
[ "$DATASET" = synthetic ] && data+=(--synthetic-users 29858 --synthetic-items 40981)

for round in $(seq "$ROUNDS"); do
    log "round $round/$ROUNDS: single process, 2 threads"
    for path in kernels state; do
        "$BIN/bench" step --batch "$B" --negatives "$K" --dim "$DIM" --lr "$LR" --threads 2 --parallel rows --path "$path" \
            --warmup 3 --windows 1 --steps-per-window "$SINGLE_STEPS" \
            | sed "s/^RESULT /RESULT round=$round /" | tee -a "$OUT"
    done
    log "round $round/$ROUNDS: coordinator + 2 workers"
    run="$WORK/run-$round"
    OPENBLAS_NUM_THREADS=1 "$BIN/coordinator" "${data[@]}" --dim "$DIM" --batch-size "$B" --minibatch-size "$MINIBATCH" \
        --negatives "$K" --optimizer adam --lr "$LR" --workers 2 --spawn-workers 2 --epochs 1 --blas-threads 1 \
        --bind tcp://127.0.0.1:0 --output "$run" --log-level warning >&2
    python3 - "$run/metrics.jsonl" "$round" <<'EOF' | tee -a "$OUT"
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
epoch = next(e for e in events if e["event"] == "epoch")
end = next(e for e in events if e["event"] == "end")
fields = {
    "round": sys.argv[2], "impl": "cluster", "workers": 2, "ips": round(epoch["examples_per_second"]),
    "train_seconds": f'{epoch["train_seconds"]:.2f}', "evaluation_seconds": f'{epoch["evaluation_seconds"]:.2f}',
    "wall_seconds": f'{end["wall_seconds"]:.2f}',
    "seconds_to_first_step": f'{end["seconds_to_first_step"]:.2f}', "steps": end["steps"], "resends": end["resends"],
    "audit_exact": str(epoch["audit_exact"]).lower(),
}
for key in ("wire_bytes_sent", "wire_bytes_received", "wire_messages_sent", "wire_messages_received",
            "sparse_minimum_bytes_sent", "sparse_minimum_bytes_received"):
    fields[key] = end[key]
print("RESULT " + " ".join(f"{k}={v}" for k, v in fields.items()))
EOF
done

python3 - "$OUT" <<'EOF'
import re, statistics, sys
rows = []
for line in open(sys.argv[1]):
    if line.startswith("RESULT "):
        rows.append(dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line)))
rounds = sorted({r["round"] for r in rows}, key=int)
def pick(round, impl, path=None):
    for r in rows:
        if r["round"] == round and r["impl"] == impl and (path is None or r.get("path") == path):
            return r
single = {k: float(pick(k, "swift", "kernels")["ips"]) for k in rounds}
state = {k: float(pick(k, "swift", "state")["ips"]) for k in rounds}
cluster = {k: pick(k, "cluster") for k in rounds}
ips = {k: float(cluster[k]["ips"]) for k in rounds}
med = statistics.median
print()
print("| round | single, 2 threads (kernels) | single, 2 threads (TrainingState) | coordinator + 2 workers | cluster / single | cluster / TrainingState |")
print("|---|---|---|---|---|---|")
for k in rounds:
    print(f"| {k} | {single[k]:,.0f} | {state[k]:,.0f} | {ips[k]:,.0f} | {ips[k] / single[k]:.3f} | {ips[k] / state[k]:.3f} |")
print(f"| **median** | {med(single.values()):,.0f} | {med(state.values()):,.0f} | {med(ips.values()):,.0f} | "
      f"**{med(ips[k] / single[k] for k in rounds):.3f}** | **{med(ips[k] / state[k] for k in rounds):.3f}** |")
print()
print("| round | steps | sent MB/step | minimum sent MB/step | sent / minimum | received MB/step | minimum received MB/step | received / minimum | resends |")
print("|---|---|---|---|---|---|---|---|---|")
ratios = []
for k in rounds:
    c = cluster[k]
    steps = int(c["steps"])
    s, ms = int(c["wire_bytes_sent"]), int(c["sparse_minimum_bytes_sent"])
    r, mr = int(c["wire_bytes_received"]), int(c["sparse_minimum_bytes_received"])
    ratios.append(((s / ms), (r / mr), (s + r) / (ms + mr)))
    print(f"| {k} | {steps} | {s / steps / 1e6:.3f} | {ms / steps / 1e6:.3f} | {s / ms:.3f} | {r / steps / 1e6:.3f} | "
          f"{mr / steps / 1e6:.3f} | {r / mr:.3f} | {c['resends']} |")
print(f"| **median** | | | | **{med(x[0] for x in ratios):.3f}** | | | **{med(x[1] for x in ratios):.3f}** | |")
print(f"both directions: wire / sparse minimum = {med(x[2] for x in ratios):.3f} (median over rounds)")
EOF
log "raw lines in $OUT"
