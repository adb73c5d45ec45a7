#!/usr/bin/env bash
# The main job: sets up, builds (release) and trains on this machine with a coordinator and 3 worker processes.
# Extra arguments go to the coordinator, e.g.  scripts/train-local.sh --dataset ../shared/datasets/gowalla --epochs 10
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product worker >&2
swift build -c release --product coordinator >&2
exec .build/release/coordinator --spawn-workers 3 --bind tcp://127.0.0.1:0 "$@"
