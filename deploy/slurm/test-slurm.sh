#!/usr/bin/env bash
# Runs deploy/slurm/train.sbatch on a real one-host Slurm cluster: installs Debian's slurmctld, slurmd, the Slurm
# clients and munge when missing, starts munged, slurmctld and slurmd with their state under a temporary
# directory (the node, 127.0.0.1, offers 4 CPUs), and submits three jobs of 4 tasks (1 coordinator + 3 workers):
#   1. a clean run: exit 0, every epoch's audit exact, Recall@20 above random;
#   2. a worker task killed (SIGKILL) mid-run: the job still completes, the death is counted, same parameters;
#   3. preemption: `scontrol requeue` mid-epoch (Slurm sends SIGTERM: the coordinator checkpoints that step and
#      exits 0), then the requeued job resumes (SLURM_RESTART_COUNT) and ends bit-identical to job 1.
#
#   bash deploy/slurm/test-slurm.sh          (as root; .ci/run calls it after the test suite)
#
# MBT_BIN_DIR: the executables (default: the debug build, made when missing). Everything stays on 127.0.0.1, and
# every daemon this script started is stopped at the end, on failure too.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
began=$(date +%s)
passed=0
failed=0
failures=()
pids=()
work=$(mktemp -d /tmp/mbt-slurm.XXXXXX)
chmod 755 "$work"

say() { echo "[slurm $(date -u +%H:%M:%S)] $*"; }
# check and wait_until
source deploy/check-lib.sh

cleanup() {
  local status=$?
  set +e
  trap - EXIT INT TERM
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then
    for job in $(squeue -h -o %i 2>/dev/null); do scancel "$job"; done
    sleep 1
  fi
  if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
    for log in "$work"/slurmctld.log "$work"/slurmd.log "$work"/job-*.out; do
      [ -f "$log" ] && { echo "----- $log (last 40 lines)"; tail -40 "$log" | cut -c1-300; }
    done
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null
  done
  rm -rf "$work"
  if [ ${#failures[@]} -gt 0 ] || [ "$status" -ne 0 ]; then
    echo "slurm test failed (exit $status); failed checks:"
    for f in "${failures[@]}"; do echo "  $f"; done
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. Packages, executables.
missing=()
for tool in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bin=${MBT_BIN_DIR:-$root/.build/debug}
if [ ! -x "$bin/coordinator" ] || [ ! -x "$bin/worker" ]; then
  say "building the executables"
  swift build --product coordinator
  swift build --product worker
fi
bin=$(cd "$bin" && pwd)

# 2. munged with its own socket and key, then slurmctld and slurmd (ports picked free on 127.0.0.1).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
node=$(hostname -s)
mkdir -p "$work/munge" "$work/state" "$work/spool"
chmod 700 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$work/munge/munge.key"
/usr/sbin/munged --force --foreground --socket "$work/munge/socket" --key-file "$work/munge/munge.key" \
  --pid-file "$work/munge/munged.pid" --seed-file "$work/munge/seed" --log-file "$work/munge/munged.log" \
  >"$work/munged.out" 2>&1 &
pids+=($!)
check "munged answers" wait_until 20 "munged" sh -c "munge -n --socket '$work/munge/socket' | unmunge --socket '$work/munge/socket' >/dev/null"

export SLURM_CONF=$work/slurm.conf
cat >"$SLURM_CONF" <<CONF
ClusterName=mbttest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
JobRequeue=1
KillWait=20
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$node CPUs=4 RealMemory=4000 State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
/usr/sbin/slurmctld -D -i -f "$SLURM_CONF" >"$work/slurmctld.out" 2>&1 &
pids+=($!)
/usr/sbin/slurmd -D -f "$SLURM_CONF" -N "$node" >"$work/slurmd.out" 2>&1 &
pids+=($!)
node_idle() { [ "$(sinfo -h -n "$node" -o %T 2>/dev/null)" = idle ]; }
check "the one-node cluster comes up idle" wait_until 60 "node idle" node_idle
sinfo

# 3. The jobs. Small synthetic data; every job has the same settings and seed, so every one must end with the
# same parameters.
export MBT_BIN_DIR=$bin MBT_EPOCHS=3 MBT_SYNTHETIC_USERS=1500 MBT_SYNTHETIC_ITEMS=800 MBT_DIM=32
export MBT_BATCH_SIZE=256 MBT_MINIBATCH_SIZE=128 MBT_NEGATIVES=1024 MBT_HEARTBEAT_TIMEOUT=2 MBT_VERIFY_REPLICAS=1
export MBT_LOG_LEVEL=info
field() { scontrol show job "$1" -o 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }
state_is() { [ "$(field "$1" JobState)" = "$2" ]; }
finished() { case "$(field "$1" JobState)" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) return 0;; *) return 1;; esac; }
submit() {
  local name=$1
  sbatch --parsable --job-name "$name" --ntasks 4 --chdir "$work" --output "$work/job-%j.out" \
    --export ALL,MBT_RUN_DIR="$work/$name" deploy/slurm/train.sbatch
}
final_hash() {
  python3 - "$1/metrics.jsonl" <<'PY'
import json, sys
ends = [e for e in map(json.loads, open(sys.argv[1])) if e["event"] == "end" and not e.get("stopped")]
print(ends[-1]["final_hash"] if ends else "none")
PY
}
end_field() {
  python3 - "$1/metrics.jsonl" "$2" <<'PY'
import json, sys
ends = [e for e in map(json.loads, open(sys.argv[1])) if e["event"] == "end" and not e.get("stopped")]
print(ends[-1].get(sys.argv[2], "none") if ends else "none")
PY
}
steps_done() { grep -c "event" "$1/metrics.jsonl" 2>/dev/null || echo 0; }
logged() { grep -q -F -- "$2" "$work/job-$1.out" 2>/dev/null; }
check_run() {
  python3 deploy/check_run.py "$1" --epochs "$MBT_EPOCHS" --users "$MBT_SYNTHETIC_USERS" \
    --items "$MBT_SYNTHETIC_ITEMS" --dim "$MBT_DIM" --min-recall 0.05
}

# Job 1: a clean run. Random ranking's Recall@20 here is about 20/800 = 0.025; check_run asks for twice that.
job_began=$(date +%s)
clean=$(submit clean)
say "job $clean: a clean run"
check "job $clean finishes" wait_until 300 "job $clean" finished "$clean"
check "job $clean completed with exit 0" test "$(field "$clean" JobState) $(field "$clean" ExitCode)" = "COMPLETED 0:0"
check "job $clean: the coordinator admitted its 3 workers by CURVE key" \
  test "$(grep -c 'admitted CURVE client worker' "$work/job-$clean.out")" -ge 3
check "job $clean: metrics and embeddings (audits exact, Recall@20 above random)" check_run "$work/clean"
reference=$(final_hash "$work/clean")
say "job $clean took $(($(date +%s) - job_began)) s; final parameter hash $reference"

# Job 2: a worker task killed mid-run.
job_began=$(date +%s)
kill_job=$(submit kill-worker)
say "job $kill_job: kill worker task 2 mid-run"
check "job $kill_job starts training" wait_until 120 "training" logged "$kill_job" "is ready at version"
sleep 2
# The worker process of global task 2: a child of the task's shell, whose pid Slurm lists.
scontrol listpids "$kill_job" >"$work/listpids" 2>&1 || true
victim=""
for task in $(awk '$3 == 0 && $5 == 2 { print $1 }' "$work/listpids"); do
  for pid in $(ps -o pid= --ppid "$task" || true); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = worker ] && victim=$pid
  done
done
check "job $kill_job: found worker task 2's process" test -n "$victim"
[ -z "$victim" ] || kill -9 "$victim"
say "killed worker task 2 (pid ${victim:-none})"
check "job $kill_job finishes" wait_until 300 "job $kill_job" finished "$kill_job"
check "job $kill_job completed with exit 0 despite the dead worker" \
  test "$(field "$kill_job" JobState) $(field "$kill_job" ExitCode)" = "COMPLETED 0:0"
check "job $kill_job: the worker task's death was reported" logged "$kill_job" "worker task 2 exited with status 137"
check "job $kill_job: the coordinator counted the death" test "$(end_field "$work/kill-worker" members_lost)" -ge 1
check "job $kill_job: metrics and embeddings" check_run "$work/kill-worker"
check "job $kill_job: same parameters as the clean run" test "$(final_hash "$work/kill-worker")" = "$reference"
say "job $kill_job took $(($(date +%s) - job_began)) s"

# Job 3: preempted mid-epoch and requeued.
job_began=$(date +%s)
preempt=$(submit preempt)
say "job $preempt: requeue mid-run (preemption), then resume"
check "job $preempt starts training" wait_until 120 "training" logged "$preempt" "is ready at version"
sleep 2
scontrol requeue "$preempt"
say "requeued job $preempt"
check "job $preempt: the coordinator stopped on SIGTERM with a checkpoint" \
  wait_until 60 "a stopped event" grep -q '"event":"stopped".*"reason":"SIGTERM"\|"checkpoint":true.*"event":"stopped"' "$work/preempt/metrics.jsonl"
check "job $preempt: it said how to resume" logged "$preempt" "to resume: "
# A requeued job waits two minutes (its BeginTime) before it may run again: start it now.
check "job $preempt is pending again" wait_until 60 "pending" state_is "$preempt" PENDING
scontrol update JobId="$preempt" StartTime=now
check "job $preempt runs again (SLURM_RESTART_COUNT 1)" wait_until 120 "restart" logged "$preempt" "requeued (restart 1)"
check "job $preempt: the coordinator resumed from the checkpoint" \
  wait_until 60 "resuming" logged "$preempt" "resuming from $work/preempt/checkpoint-"
check "job $preempt finishes" wait_until 300 "job $preempt" finished "$preempt"
check "job $preempt completed with exit 0 after 1 restart" \
  test "$(field "$preempt" JobState) $(field "$preempt" ExitCode) $(field "$preempt" Restarts)" = "COMPLETED 0:0 1"
check "job $preempt: metrics and embeddings" check_run "$work/preempt"
check "job $preempt: bit-identical to the uninterrupted run (final parameter hash)" \
  test "$(final_hash "$work/preempt")" = "$reference"
say "job $preempt took $(($(date +%s) - job_began)) s"

say "slurm test took $(($(date +%s) - began)) s"
echo "slurm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
