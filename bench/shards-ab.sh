#!/usr/bin/env bash
# The same run with the parameters in the coordinator and in 2 state shards (`--spawn-shards 2`), alternating for
# ROUNDS rounds: Gowalla (DATASET), `--preset PRESET --epochs 2 --eval-every 2` (PRESET: quality), 2 local workers, this tree's
# release build, the coordinator under /usr/bin/time -v. One line per run: the second epoch's training seconds, its
# loss and Recall@20, the final hash (the same in every run: the shards change no bit), MB sent per step to the
# workers, the coordinator's peak RSS, and with shards the MB that crossed the shard links (both ways) and the
# round trips to them per step (evaluation and export included).
#
# Usage: bash bench/shards-ab.sh [ROUNDS]   (default 2; DATASET=../shared/datasets/gowalla, PRESET=quality)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=$(bench_current_build)
DATASET=${DATASET:-../shared/datasets/gowalla}
PRESET=${PRESET:-quality}
[ -x /usr/bin/time ] || { echo "shards-ab.sh: /usr/bin/time is needed (apt-get install time)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/shards-ab.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for r in $(seq "${1:-2}"); do
  for s in 0 2; do
    [ $((r % 2)) = 0 ] && s=$((2 - s))
    out=$WORK/run-$r-$s
    extra=(); [ $s -gt 0 ] && extra=(--spawn-shards $s)
    /usr/bin/time -v -o $out.time "$BIN/coordinator" --spawn-workers 2 --bind tcp://127.0.0.1:0 --dataset "$DATASET" --preset "$PRESET" --epochs 2 --eval-every 2 --output $out "${extra[@]}" > $out.log 2>&1
    python3 - $out $s $r <<'PY'
import json,sys
out,s,r=sys.argv[1:]
ev=[json.loads(l) for l in open(out+'/metrics.jsonl')]
ep=[e for e in ev if e.get('event')=='epoch']; end=[e for e in ev if e.get('event')=='end'][0]
rss=[l for l in open(out+'.time') if 'Maximum resident' in l][0].split(':')[1].strip()
print(f"round={r} shards={s} steps_per_epoch={end['steps']//len(ep)} epoch2_train_s={ep[-1]['train_seconds']:.2f} loss={ep[-1]['loss']:.4f} recall={ep[-1].get('recall@20')} final_hash={end['final_hash']} wire_MB_per_step_sent={end['wire_bytes_sent']/end['steps']/1e6:.3f} coordinator_peak_rss_MB={int(rss)//1024} shard_MB_per_step={(end.get('shard_bytes_sent',0)+end.get('shard_bytes_received',0))/end['steps']/1e6:.3f} shard_round_trips_per_step={end.get('shard_round_trips',0)/end['steps']:.2f}")
PY
  done
done
