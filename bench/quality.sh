#!/usr/bin/env bash
# Trains on a dataset with a named preset (coordinator --preset), prints the per-epoch table (on stderr), and ends
# with one line on stdout:
#   dataset preset recall@20 ndcg@20 epochs seconds
# The figures on that line are the test scores at the epoch chosen on the validation split when the run has one
# (with --validation-fraction), else at the last epoch (the quality preset's fixed schedule); the line before it names the epoch and also gives the best
# test epoch (chosen on the test set, as published tables do).
#
# Usage: bench/quality.sh DATASET_DIR_OR_FILE [PRESET] [EPOCHS|-] [WORKERS] [extra coordinator flags...]
#   PRESET   bank, live or quality (see `coordinator train --help`); default quality
#   EPOCHS   number of epochs, or - for the preset's own (quality: 60, no early stopping)
#   WORKERS  local worker processes; default 2
# REACH (default 0.18): also report the first epoch whose test Recall@20 reaches it, and the wall time until then.
# Ablation: bench/quality.sh DATASET ablation [EPOCHS] [WORKERS] runs the loss variants side by side (same seed)
# and prints one table row per variant.
set -euo pipefail
cd "$(dirname "$0")/.."
dataset=${1:?usage: bench/quality.sh DATASET [PRESET] [EPOCHS|-] [WORKERS] [flags...]}
preset=${2:-quality}
epochs=${3:--}
workers=${4:-2}
shift $(( $# < 4 ? $# : 4 ))
bash scripts/setup.sh >&2
swift build -c release --product worker >&2
swift build -c release --product coordinator >&2

# run NAME PRESET FLAGS...: one training run; prints its summary line.
run() {
  local name=$1 runpreset=$2
  shift 2
  local out="runs/quality-$(basename "$dataset")-$name-$(date +%Y%m%d-%H%M%S)"
  local epochflags=()
  [ "$epochs" = - ] || epochflags=(--epochs "$epochs")
  local start end
  start=$(date +%s.%N)
  .build/release/coordinator --spawn-workers "$workers" --bind tcp://127.0.0.1:0 --dataset "$dataset" \
    --preset "$runpreset" "${epochflags[@]}" --output "$out" "$@" >&2
  end=$(date +%s.%N)
  python3 - "$out/metrics.jsonl" "$(basename "$dataset")" "$name" "$start" "$end" <<'PY'
import json, os, sys
path, name, preset, start, end = sys.argv[1:]
events = [json.loads(line) for line in open(path) if line.strip()]
epochs = [e for e in events if e.get("event") == "epoch"]
selection = next((e for e in events if e.get("event") == "selection"), {})
if "validation_chosen_epoch" in selection:
    chosen = selection["validation_chosen_epoch"]
    recall, ndcg = selection["validation_chosen_recall@20"], selection["validation_chosen_ndcg@20"]
    rule = f"test at epoch {chosen}, chosen on the validation split"
else:
    chosen, recall, ndcg = epochs[-1]["epoch"], epochs[-1]["recall@20"], epochs[-1]["ndcg@20"]
    rule = f"test at the last epoch ({chosen})"
best = selection.get("test_chosen_epoch")
if best is not None:
    rule += (f"; best test epoch {best} (chosen on the test set): recall@20 "
             f"{selection['test_chosen_recall@20']:.4f} ndcg@20 {selection['test_chosen_ndcg@20']:.4f}")
print(f"# {preset}: {rule}")
reach = float(os.environ.get("REACH", "0.18"))
first = next((e for e in epochs if e.get("recall@20", 0) >= reach), None)
if first is not None:
    print(f"# test Recall@20 >= {reach} first at epoch {first['epoch']}, "
          f"{first.get('elapsed_seconds', float('nan')):.0f} s after the coordinator started")
else:
    print(f"# test Recall@20 never reached {reach}")
print(f"{name} {preset} {recall:.4f} {ndcg:.4f} {len(epochs)} {float(end) - float(start):.0f}")
PY
}

if [ "$preset" != ablation ]; then
  run "$preset" "$preset" "$@"
  exit 0
fi

# The ablation: each variant changes one thing from the live preset (K 1024, τ 0.1, uniform sampling).
[ "$epochs" = - ] && epochs=3
variants=(
  "bank-K1024|bank|"
  "live-K1024|live|"
  "bank-K1024-trained|bank|--trained-bank-negatives"
  "live-K1024-hard32|live|--hard-negatives 32"
  "bank-K1024-trained-hard32|bank|--trained-bank-negatives --hard-negatives 32"
  "live-K1024-logq|live|--logq"
  "live-K1024-bsl|live|--positive-temperature 0.1"
  "live-K1024-mask-seen|live|--mask-seen-items"
  "in-batch-only|live|--loss in-batch --no-live-negatives"
  "bpr|live|--loss bpr --no-live-negatives"
  "ccl|live|--loss ccl"
  "live-K256|live|--negatives 256"
  "live-K4096|live|--negatives 4096"
  "live-K16384|live|--negatives 16384"
)
summary=$(mktemp)
for v in "${variants[@]}"; do
  IFS='|' read -r name base extra <<<"$v"
  # shellcheck disable=SC2086
  run "$name" "$base" $extra "$@" | tee -a "$summary"
done
echo
echo "ablation on $(basename "$dataset"), $epochs epochs, $workers workers, seed 42 (test figures at the last epoch)"
echo "| variant | recall@20 | ndcg@20 | seconds |"
echo "|---|---|---|---|"
grep -v '^#' "$summary" | awk '{ printf "| %s | %s | %s | %s |\n", $2, $3, $4, $6 }'
rm -f "$summary"
