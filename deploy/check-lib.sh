# What deploy/test-compose.sh and deploy/slurm/test-slurm.sh share: counting checks and waiting for a condition.
# Sourced; the caller defines `say` (its log prefix), `work` (a scratch directory), and `passed`, `failed`,
# `failures=()`.

# check DESCRIPTION COMMAND...: runs COMMAND, counts and prints the result. A failure is listed again, with the
# FAIL lines of the command's own output, as the last lines the script prints.
check() {
  local what=$1
  shift
  if "$@" >"$work/check.out" 2>&1; then
    cat "$work/check.out"
    passed=$((passed + 1))
    say "ok   $what"
  else
    cat "$work/check.out"
    failed=$((failed + 1))
    say "FAIL $what"
    failures+=("$(date +%H:%M:%S) $what$(grep '^FAIL\|gave up' "$work/check.out" | sed 's/^/ | /' | tr '\n' ' ')")
  fi
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every half second; false if it never succeeds.
wait_until() {
  local limit=$1 what=$2
  shift 2
  local deadline=$(($(date +%s) + limit))
  until "$@"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "gave up after ${limit} s waiting for: $what"
      return 1
    fi
    sleep 0.5
  done
}
