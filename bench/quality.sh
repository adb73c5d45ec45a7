#!/usr/bin/env bash
# Trains on a dataset with a named preset, prints the per-epoch table, and ends with one line:
#   dataset preset recall@20 ndcg@20 epochs seconds
# Usage: bench/quality.sh DATASET_DIR_OR_FILE [PRESET] [EPOCHS] [WORKERS] [extra coordinator flags...]
# Presets:
#   bank   the default loss: InfoNCE against K = 1024 constant memory-bank negatives, lr 0.01
#   live   sampled softmax: the same K negatives read from the live item table, with gradients, lr 0.01
set -euo pipefail
cd "$(dirname "$0")/.."
dataset=${1:?usage: bench/quality.sh DATASET [PRESET] [EPOCHS] [WORKERS] [flags...]}
preset=${2:-live}
epochs=${3:-5}
workers=${4:-3}
shift $(( $# < 4 ? $# : 4 ))
case "$preset" in
  bank) flags=(--lr 0.01) ;;
  live) flags=(--lr 0.01 --live-negatives) ;;
  *) echo "unknown preset '$preset' (bank, live)" >&2; exit 2 ;;
esac
bash scripts/setup.sh
swift build -c release --product worker >&2
swift build -c release --product coordinator >&2
out="runs/quality-$(basename "$dataset")-$preset-$(date +%Y%m%d-%H%M%S)"
start=$(date +%s.%N)
.build/release/coordinator --spawn-workers "$workers" --bind tcp://127.0.0.1:0 --dataset "$dataset" \
  --epochs "$epochs" --output "$out" "${flags[@]}" "$@"
end=$(date +%s.%N)
python3 - "$out/metrics.jsonl" "$(basename "$dataset")" "$preset" "$start" "$end" <<'PY'
import json, sys
path, name, preset, start, end = sys.argv[1:]
epochs = [e for e in map(json.loads, open(path)) if e.get("event") == "epoch"]
last = epochs[-1]
print(f"{name} {preset} {last['recall@20']:.4f} {last['ndcg@20']:.4f} {len(epochs)} {float(end) - float(start):.0f}")
PY
