#!/usr/bin/env bash
# What peers that join and never read cost the coordinator, on a 20k users × 20k items × d 64 model (a snapshot of
# ~15 MB): 60 HELLOs; 60 HELLOs that keep heartbeating; one peer sending 2,000 requests for state (SYNCs to a
# protocol-1 coordinator, repeated HELLOs to a later one). Prints one RESULT line each with the coordinator's
# resident memory before, at its peak and after.
#   bash bench/peer-flood.sh            (BUILD=release|debug, default release)
#   BASELINE=/path/to/other/coordinator bash bench/peer-flood.sh    also runs each case against that build, alternating
#   (BASELINE_PROTOCOL, default 1: the protocol version that build speaks)
set -euo pipefail
cd "$(dirname "$0")/.."
config=${BUILD:-release}
swift build -c "$config" --product coordinator >/dev/null
bin=$(swift build -c "$config" --show-bin-path)
venv=bench/.venv-flood
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import zmq" 2>/dev/null || "$venv/bin/pip" install --quiet pyzmq
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
run() {
  local port coordinator=$1 protocol=$2
  shift 2
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$coordinator" train --bind "tcp://127.0.0.1:$port" --workers 1 --synthetic-users 20000 \
    --synthetic-items 20000 --dim 64 --epochs 1 --output "$dir/run-$port" --log-level warning \
    >"$dir/coordinator-$port.log" 2>&1 &
  pid=$!
  sleep 3
  echo "# $coordinator"
  "$venv/bin/python" bench/peer_flood.py --port "$port" --pid "$pid" --protocol "$protocol" "$@"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
for args in "--peers 60 --seconds 12" "--peers 60 --heartbeat --seconds 25" "--peers 1 --requests 2000 --seconds 8"; do
  # shellcheck disable=SC2086
  run "$bin/coordinator" 3 $args
  # shellcheck disable=SC2086
  [ -z "${BASELINE:-}" ] || run "$BASELINE" "${BASELINE_PROTOCOL:-1}" $args
done
