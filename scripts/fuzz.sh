#!/usr/bin/env bash
# Builds the libFuzzer targets (the package in Fuzz/, which links the main package's FuzzTargets library with
# -sanitize=fuzzer,address) and runs each for FUZZ_SECONDS against its committed corpus Fuzz/corpus/TARGET.
#
#   FUZZ_SECONDS=60      time per target (CI uses the default)
#   FUZZ_RUNS=N          stop each target after N inputs instead (FUZZ_SECONDS is then only a cap, default 1 h)
#   FUZZ_TARGETS="..."   the targets to run (default: all; see `Sources/FuzzTargets/FuzzTarget.swift`)
#   FUZZ_SANITIZERS=fuzzer,address   what -sanitize= gets (use "fuzzer" alone for a faster run without ASan)
#   FUZZ_MERGE=1         afterwards, merge the inputs that reach new edges into the committed corpus
#
# New inputs go to .build-fuzz/corpus/TARGET (kept between local runs, not committed). A crash, a failed check
# or a hang (an input taking over 10 s) stops that target, leaves the input in Fuzz/artifacts/TARGET/, prints how
# to replay it, and makes the script exit non-zero after running the other targets.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${FUZZ_RUNS:-}
if [ -n "$runs" ]; then seconds=${FUZZ_SECONDS:-3600}; else seconds=${FUZZ_SECONDS:-60}; fi
targets=${FUZZ_TARGETS:-"envelope message step-rows checkpoint key-file coordinator-protocol worker-protocol shard-service shard-link"}
sanitizers=${FUZZ_SANITIZERS:-fuzzer,address}
scratch=.build-fuzz

bash scripts/setup.sh
# Linked with lld: gold fails on the sanitizer runtimes ("internal error in format_file_lineno").
build=(swift build --package-path Fuzz --scratch-path "$scratch" -c release --product fuzz-targets
       -Xswiftc "-sanitize=$sanitizers" -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld)
echo "fuzz: building: ${build[*]}"
"${build[@]}"
binary="$("${build[@]}" --show-bin-path)/fuzz-targets"

max_len() {
  case "$1" in
    key-file) echo 1024 ;;
    *) echo 4096 ;;
  esac
}

failed=()
summary=()
for target in $targets; do
  corpus=Fuzz/corpus/$target
  work=$scratch/corpus/$target
  artifacts=Fuzz/artifacts/$target
  [ -d "$corpus" ] || { echo "fuzz: no corpus directory $corpus (unknown target \"$target\"?)" >&2; exit 2; }
  mkdir -p "$work" "$artifacts"
  log=$scratch/fuzz-$target.log
  echo "fuzz: $target for ${runs:+$runs inputs or }${seconds}s (max_len $(max_len "$target"))"
  start=$(date +%s)
  set +e
  # Swift's own crash reporter would read memory under ASan's watch; leaks at exit are the runtime's caches.
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} FUZZ_TARGET=$target "$binary" "$work" "$corpus" -max_len="$(max_len "$target")" -max_total_time="$seconds" \
    ${runs:+-runs="$runs"} -timeout=10 -rss_limit_mb=4096 -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    >"$log" 2>&1
  status=$?
  set -e
  executed=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || echo "?")
  rate=$(grep -oE "stat::average_exec_per_sec: *[0-9]+" "$log" | grep -oE "[0-9]+$" || echo "?")
  coverage=$(grep -oE "cov: [0-9]+ ft: [0-9]+" "$log" | tail -1 || true)
  files=$(find "$corpus" "$work" -type f | wc -l)
  line="$target: $executed inputs in $(( $(date +%s) - start ))s ($rate/s), corpus $files files ($(find "$corpus" -type f | wc -l) committed), $coverage"
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    line="$line, FAILED (exit $status)"
    echo "fuzz: $target failed; the end of its log ($log):" >&2
    tail -40 "$log" >&2
    for input in "$artifacts"/*; do
      [ -f "$input" ] && echo "fuzz: reproduce with: SWIFT_BACKTRACE=enable=no FUZZ_TARGET=$target $binary $input" >&2
    done
  fi
  summary+=("$line")
  if [ "${FUZZ_MERGE:-}" = 1 ] && [ "$status" -eq 0 ]; then
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} FUZZ_TARGET=$target "$binary" -merge=1 -use_counters=0 -max_len="$(max_len "$target")" -detect_leaks=0 "$corpus" "$work" \
      >"$scratch/merge-$target.log" 2>&1
  fi
done

echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]} (inputs in Fuzz/artifacts/)" >&2
  exit 1
fi
