#!/usr/bin/env bash
# Runs the docker-compose cluster for real: builds the runtime image from local parts, brings up a coordinator and
# 3 workers on synthetic data with CurveZMQ on, and checks the metrics and the exported embeddings; then does it
# again with faults (a worker killed mid-epoch, a worker cut off the network and reconnected, the coordinator
# restarted and resumed from the checkpoint volume); then with two state shards, one killed and restarted and the
# run resumed. Intruders (no key, an unlisted key, plain text) knock on the
# published port meanwhile and must be refused and logged.
#
#   bash deploy/test-compose.sh            (as root; .ci/run calls it)
#
# Installs docker.io and docker-compose from Debian when missing and starts dockerd (vfs storage) when none runs;
# tears everything down at the end, on failure too, and stops the dockerd it started. All traffic stays on this
# machine: the compose network is internal, and the only published port is on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

image=mbt-runtime:test-compose
compose=(docker-compose -f deploy/docker-compose.yml)
work=$(mktemp -d /tmp/mbt-compose.XXXXXX)
chmod 755 "$work"
started_dockerd=""
projects=()
intruders=()
passed=0
failed=0
began=$(date +%s)

say() { echo "[compose $(date +%H:%M:%S)] $*"; }
# check and wait_until
source deploy/check-lib.sh

failures=()

cleanup() {
  local status=$?
  set +e
  trap - EXIT INT TERM
  # Background jobs (intruders), but not the dockerd this script started: `down` below still needs it.
  for job in $(jobs -p); do [ "$job" = "$started_dockerd" ] || kill "$job" 2>/dev/null; done
  for project in "${projects[@]}"; do
    if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
      say "logs of $project (last 60 lines per container):"
      for c in $(docker ps -a --filter "label=com.docker.compose.project=$project" --format '{{.Names}}'); do
        echo "----- $c"
        docker logs --tail 60 "$c" 2>&1 | cut -c1-300
      done
    fi
    docker-compose -f deploy/docker-compose.yml -f deploy/docker-compose.shards.yml -p "$project" \
      down -v --remove-orphans >/dev/null 2>&1
  done
  docker rmi "$image" >/dev/null 2>&1
  if [ -n "$started_dockerd" ]; then
    say "stopping the dockerd this script started (pid $started_dockerd)"
    kill "$started_dockerd" 2>/dev/null
    for _ in $(seq 40); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$started_dockerd" 2>/dev/null
  fi
  rm -rf "$work"
  if [ ${#failures[@]} -gt 0 ] || [ "$status" -ne 0 ]; then
    echo "compose test failed (exit $status); failed checks:"
    for f in "${failures[@]}"; do echo "  $f"; done
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The project's own setup (libraries, and the OpenBLAS build the image carries), Docker from Debian, and a
# running daemon.
bash scripts/setup.sh
missing=()
command -v docker >/dev/null || missing+=(docker.io)
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (vfs storage driver)"
  dockerd --storage-driver vfs >"$work/dockerd.log" 2>&1 &
  started_dockerd=$!
  if ! wait_until 60 "dockerd to answer" docker info; then
    tail -20 "$work/dockerd.log"
    exit 1
  fi
fi

# Leftovers of an earlier run that was killed before its cleanup: their networks would exhaust the address pools.
for stale in $(docker network ls --format '{{.Name}}' | grep -oE '^mbt(clean|faults)[0-9]+' | sort -u); do
  say "removing the leftovers of $stale"
  "${compose[@]}" -p "$stale" down -v --remove-orphans >/dev/null 2>&1 || true
done

# 2. The image, from the release executables built here, and the keys.
say "building the release executables (Swift runtime linked statically)"
swift build -c release --static-swift-stdlib --product coordinator
swift build -c release --static-swift-stdlib --product worker
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
MBT_BIN_DIR=$bin bash deploy/build-local-image.sh "$image"
check "the image runs as the non-root user 10001" \
  test "$(docker image inspect -f '{{.Config.User}}' "$image")" = "10001:10001"

MBT_IMAGE=$image bash deploy/keygen.sh "$work/keys" >/dev/null
"$bin/coordinator" keygen --out "$work/stranger" --name stranger >/dev/null
check "keygen wrote a secret key only its owner reads" \
  test "$(stat -c '%a %u' "$work/keys/worker.key")" = "600 10001"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MBT_IMAGE=$image MBT_KEYS_DIR=$work/keys MBT_DATASETS_DIR=$work/datasets MBT_PORT=$port
export MBT_SYNTHETIC_USERS=4000 MBT_SYNTHETIC_ITEMS=2000 MBT_DIM=32 MBT_BATCH_SIZE=1024 MBT_NEGATIVES=512
export MBT_HEARTBEAT_TIMEOUT=2 MBT_COORDINATOR_TIMEOUT=3 MBT_VERIFY_REPLICAS=1 MBT_HEALTH_START_PERIOD=30s
mkdir -p "$work/datasets"

coordinator_of() { echo "${1}_coordinator_1"; }
volume_dir() { docker volume inspect -f '{{.Mountpoint}}' "${1}_data"; }
# The highest epoch number in the run's metrics.jsonl so far (0 before the first).
epochs_done() {
  python3 - "$(volume_dir "$1")/run/metrics.jsonl" <<'PY' 2>/dev/null || echo 0
import json, sys
print(max([json.loads(l)["epoch"] for l in open(sys.argv[1]) if '"event":"epoch"' in l] or [0]))
PY
}
metric_events() { grep -c "\"event\":\"$2\"" "$(volume_dir "$1")/run/metrics.jsonl" 2>/dev/null || true; }
log_count() { docker logs "$(coordinator_of "$1")" 2>&1 | grep -c -F -- "$2" || true; }
epoch_at_least() { [ "$(epochs_done "$1")" -ge "$2" ]; }
events_at_least() { [ "$(metric_events "$1" "$2")" -ge "$3" ]; }
logged_at_least() { [ "$(log_count "$1" "$2")" -ge "$3" ]; }
# metric PROJECT HOST NAME: a sample of HOST's Prometheus metrics (NAME with its labels as exposed, e.g.
# 'mbt_wire_bytes_total{direction="sent"}'), scraped with curl from inside worker 3's container over the cluster
# network; 0 when absent or unreachable.
metric() {
  docker exec "${1}_worker_3" curl -sf --max-time 5 "http://$2:9464/metrics" 2>/dev/null \
    | awk -v name="$3" '$1 == name { value = $2 } END { print value + 0 }'
}
metric_at_least() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$(metric "$1" "$2" "$3")" "$4"; }
greater() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' "$@"; }
health_is() { [ "$(docker inspect -f '{{.State.Health.Status}}' "$1" 2>/dev/null)" = "$2" ]; }
running() { [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }

up() {
  local project=$1
  projects+=("$project")
  "${compose[@]}" -p "$project" up -d --no-build --scale worker=3
}

# exit_code SECONDS CONTAINER: sets $code to the container's exit code once it stops, or "timeout". Waits in the
# background (not in a subshell), so that a signal to this script is handled at once.
exit_code() {
  timeout "$1" docker wait "$2" >"$work/exit-code" 2>/dev/null &
  wait $! || echo timeout >"$work/exit-code"
  code=$(cat "$work/exit-code")
}

# Waits for the coordinator to exit and checks its exit code and output.
finish_and_check() {
  local project=$1 epochs=$2 first_epoch=$3
  local coordinator
  coordinator=$(coordinator_of "$project")
  exit_code 600 "$coordinator"
  # "-": as many epochs as the run reports (a run ended by its time limit).
  [ "$epochs" != - ] || epochs=$(epochs_done "$project")
  check "$project: the coordinator exits 0 when training ends (got $code)" test "$code" = 0
  for w in 1 2 3; do
    exit_code 60 "${project}_worker_$w"
    check "$project: worker $w exits 0 after SHUTDOWN (got $code)" test "$code" = 0
  done
  docker cp "$coordinator:/data/run" "$work/$project" >/dev/null
  check "$project: metrics and embeddings" python3 deploy/check_run.py "$work/$project" --epochs "$epochs" \
    --users "$MBT_SYNTHETIC_USERS" --items "$MBT_SYNTHETIC_ITEMS" --dim "$MBT_DIM" --min-recall 0.02 \
    --first-epoch "$first_epoch"
}

# 3. A clean run, with intruders knocking on the published port.
clean=mbtclean$$
# It trains for a set time, not a set number of epochs, so that the health checks and the intruders find it
# training however fast the machine is: up to 1000 epochs, ended by the time limit with the epoch in progress.
export MBT_EPOCHS=1000 MBT_TIME_LIMIT=45
say "clean run: 1 coordinator, 3 workers, $MBT_TIME_LIMIT s of epochs of $MBT_SYNTHETIC_USERS users x $MBT_SYNTHETIC_ITEMS items"
run_began=$(date +%s)
up "$clean"
coordinator=$(coordinator_of "$clean")
check "$clean: the port is published on 127.0.0.1 only" \
  test "$(docker port "$coordinator" 5555/tcp)" = "127.0.0.1:$port"
check "$clean: processes run as uid 10001" \
  test "$(docker top "$coordinator" -o pid,uid | awk 'NR > 1 { print $2 }' | sort -u | tr -d '\n')" = 10001
check "$clean: the coordinator's health check turns healthy" wait_until 60 "coordinator healthy" health_is "$coordinator" healthy
check "$clean: a worker's health check turns healthy" wait_until 60 "worker healthy" health_is "${clean}_worker_1" healthy
# Intruders, once the coordinator listens: a worker without a key, one with an unlisted key, and a plain-text
# TCP client.
timeout 12 "$bin/worker" --coordinator "tcp://127.0.0.1:$port" --name keyless >"$work/keyless.log" 2>&1 &
intruders+=($!)
timeout 12 "$bin/worker" --coordinator "tcp://127.0.0.1:$port" --name stranger \
  --curve-secret-key "$work/stranger/stranger.key" --coordinator-public-key "$work/keys/coordinator.pub" \
  >"$work/stranger.log" 2>&1 &
intruders+=($!)
python3 - "$port" <<'PY' &
import socket, sys, time
for _ in range(5):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
        s.sendall(b"HELLO coordinator, this is plain text\r\n" * 4)
        time.sleep(1)
        s.close()
    except OSError:
        time.sleep(1)
PY
intruders+=($!)
wait "${intruders[@]}" 2>/dev/null || true
intruders=()
check "$clean: the unlisted key is refused and logged with its key" \
  logged_at_least "$clean" "public key $(cat "$work/stranger/stranger.pub") is not authorized" 1
check "$clean: the keyless client is refused and logged" logged_at_least "$clean" "refused a connection on tcp://" 1
check "$clean: the plain-text client's connection is dropped and logged" logged_at_least "$clean" "plain text" 1
check "$clean: the intruders were told why (worker side)" \
  grep -q "refused this worker (ZAP status 400)" "$work/stranger.log"
# Prometheus metrics, scraped from a container on the cluster network while the run trains.
check "$clean: the metrics port is not published on the host" test -z "$(docker port "$coordinator" 9464/tcp 2>/dev/null)"
check "$clean: the coordinator's metrics show training steps" \
  wait_until 30 "mbt_steps_total > 0" metric_at_least "$clean" coordinator mbt_steps_total 1
steps_before=$(metric "$clean" coordinator mbt_steps_total)
bytes_before=$(metric "$clean" coordinator 'mbt_wire_bytes_total{direction="sent"}')
sleep 3
check "$clean: the steps counter moves ($steps_before before)" \
  greater "$(metric "$clean" coordinator mbt_steps_total)" "$steps_before"
check "$clean: the wire bytes counter moves ($bytes_before before)" \
  greater "$(metric "$clean" coordinator 'mbt_wire_bytes_total{direction="sent"}')" "$bytes_before"
check "$clean: 3 workers ready in the metrics" test "$(metric "$clean" coordinator mbt_workers_ready)" = 3
check "$clean: a worker serves its own metrics" \
  metric_at_least "$clean" "${clean}_worker_1" mbt_worker_minibatches_total 1
finish_and_check "$clean" - 1
check "$clean: the time limit ended it, after a few epochs" \
  test "$(metric_events "$clean" time_limit)" = 1 -a "$(epochs_done "$clean")" -ge 3 -a "$(epochs_done "$clean")" -lt 1000
check "$clean: exactly the 3 compose workers joined" test "$(log_count "$clean" ') joined')" = 3
check "$clean: each was admitted by its CURVE key" logged_at_least "$clean" "admitted CURVE client worker" 3
blas_path=/usr/local/lib/mbt/libscipy_openblas.so
check "$clean: the coordinator computes with the OpenBLAS build that the image carries" \
  logged_at_least "$clean" "BLAS: OpenBLAS 0.3.34.481.3 DYNAMIC_ARCH NO_AFFINITY" 1
check "$clean: so does a worker" \
  sh -c "docker logs ${clean}_worker_1 2>&1 | grep -F 'BLAS: OpenBLAS 0.3.34.481.3' | grep -q -F '($blas_path)'"
say "clean run took $(($(date +%s) - run_began)) s"

# 4. The same with faults.
faults=mbtfaults$$
# Long enough that the three faults below land mid-run however fast the machine is: 3x the users, 100 epochs.
export MBT_EPOCHS=100 MBT_SYNTHETIC_USERS=12000 MBT_TIME_LIMIT=
say "fault run: $MBT_EPOCHS epochs; kill a worker, cut one off the network, restart the coordinator"
run_began=$(date +%s)
up "$faults"
coordinator=$(coordinator_of "$faults")
network="${faults}_cluster"

check "$faults: training reaches epoch 1" wait_until 180 "epoch 1" epoch_at_least "$faults" 1
still_training() { [ "$(epochs_done "$faults")" -lt $((MBT_EPOCHS - 2)) ]; }
killed_at=$(epochs_done "$faults")
check "$faults: still training before the kill (else the run is too short for this test)" still_training
docker kill "${faults}_worker_1" >/dev/null
say "killed worker 1 during epoch $((killed_at + 1))"
check "$faults: the killed worker is declared dead" wait_until 30 "member_lost" events_at_least "$faults" member_lost 1
check "$faults: the death shows in the metrics" \
  wait_until 20 "mbt_worker_deaths_total >= 1" metric_at_least "$faults" coordinator mbt_worker_deaths_total 1
check "$faults: training continues past the kill" wait_until 120 "epoch $((killed_at + 2))" \
  epoch_at_least "$faults" $((killed_at + 2))
docker start "${faults}_worker_1" >/dev/null
check "$faults: the restarted worker rejoins" wait_until 30 "a 4th join" logged_at_least "$faults" ') joined' 4

cut_at=$(epochs_done "$faults")
check "$faults: still training before the cut" still_training
lost_before=$(metric_events "$faults" member_lost)
docker network disconnect "$network" "${faults}_worker_2"
say "disconnected worker 2 from $network during epoch $((cut_at + 1))"
check "$faults: the cut-off worker is declared dead" \
  wait_until 30 "another member_lost" events_at_least "$faults" member_lost $((lost_before + 1))
sleep 2
docker network connect "$network" "${faults}_worker_2"
say "reconnected worker 2"
check "$faults: the reconnected worker rejoins" wait_until 60 "a 5th join" logged_at_least "$faults" ') joined' 5
check "$faults: training continues past the cut" wait_until 120 "epoch $((cut_at + 2))" \
  epoch_at_least "$faults" $((cut_at + 2))

restart_at=$(epochs_done "$faults")
check "$faults: still training before the restart" still_training
docker restart "$coordinator" >/dev/null
say "restarted the coordinator during epoch $((restart_at + 1))"
check "$faults: the coordinator resumes from the checkpoint volume" \
  wait_until 60 "resuming" logged_at_least "$faults" "resuming from /data/run/checkpoint-" 1
# docker restart sends SIGTERM first: the coordinator finished its step, checkpointed it and said how to resume.
check "$faults: SIGTERM stopped the coordinator cleanly (a stopped event)" events_at_least "$faults" stopped 1
check "$faults: the stopped coordinator said how to resume" logged_at_least "$faults" "to resume: " 1
if wait_until 120 "an epoch after the restart" epoch_at_least "$faults" $((restart_at + 1)); then
  passed=$((passed + 1))
  say "ok   $faults: training goes on after the restart"
  # Every epoch, from the first: a resumed run must keep the metrics of the epochs before the restart.
  finish_and_check "$faults" "$MBT_EPOCHS" 1
else
  failed=$((failed + 1))
  say "FAIL $faults: training goes on after the restart (no epoch finished within 120 s; not waiting for the end)"
fi
say "fault run took $(($(date +%s) - run_began)) s"

# 5. Two state shards hold the parameters (docker-compose.shards.yml, CurveZMQ on the shard links too): a shard
# killed mid-run and started again; the coordinator stops naming it, restarts (on-failure) and resumes every shard
# from the newest checkpoint they all hold.
shards=mbtshards$$
export MBT_EPOCHS=20 MBT_SYNTHETIC_USERS=4000 MBT_TIME_LIMIT= MBT_SHARD_TIMEOUT=10
say "shard run: $MBT_EPOCHS epochs on 2 shards; kill shard 2 and start it again"
run_began=$(date +%s)
projects+=("$shards")
docker-compose -f deploy/docker-compose.yml -f deploy/docker-compose.shards.yml -p "$shards" up -d --no-build \
  --scale worker=3
shard_log_count() { docker logs "${shards}_$1_1" 2>&1 | grep -c -F -- "$2" || true; }
check "$shards: the coordinator opens the run on 2 state shards" \
  wait_until 120 "opening" logged_at_least "$shards" "opening the run on 2 state shards" 1
check "$shards: each shard admitted the coordinator by its CURVE key, and only it" \
  test "$(shard_log_count shard1 'admitted CURVE client /keys/coordinator.pub')" -ge 1 \
  -a "$(shard_log_count shard2 'admitted CURVE client /keys/coordinator.pub')" -ge 1
check "$shards: training reaches epoch 2" wait_until 240 "epoch 2" epoch_at_least "$shards" 2
killed_at=$(epochs_done "$shards")
check "$shards: still training before the kill" test "$killed_at" -lt $((MBT_EPOCHS - 2))
docker kill "${shards}_shard2_1" >/dev/null
say "killed shard 2 during epoch $((killed_at + 1))"
check "$shards: the coordinator stops with an error naming the shard" \
  wait_until 60 "the error" logged_at_least "$shards" "shard 2 at tcp://shard2:5600" 1
docker start "${shards}_shard2_1" >/dev/null
check "$shards: the restarted coordinator resumes every shard from the newest checkpoint" \
  wait_until 120 "resuming" logged_at_least "$shards" "resuming from /data/run/shards-checkpoint-" 1
check "$shards: the restarted shard restored its own file" \
  wait_until 60 "restored" sh -c "docker logs ${shards}_shard2_1 2>&1 | grep -q 'holding shard 2 of 2 of run .* at version [1-9]'"
finish_and_check "$shards" "$MBT_EPOCHS" 1
check "$shards: the end event counts 2 shards" grep -q '"shards":2' "$work/$shards/metrics.jsonl"
say "shard run took $(($(date +%s) - run_began)) s"

say "compose test took $(($(date +%s) - began)) s"
echo "compose: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
