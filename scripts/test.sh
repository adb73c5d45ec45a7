#!/usr/bin/env bash
# Sets up and runs the test suite: unit tests, golden values, multi-process integration tests (one renders a run's
# report in headless Chromium), and scripts/test-faiss.sh (the README's FAISS example against `coordinator recommend`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The layering of docs/DESIGN.md against the imports and Package.swift (seconds), and the tests of that check.
bash scripts/check-layering.sh
bash scripts/test-check-layering.sh
swift build --build-tests
log=$(mktemp)
set +e
swift test --skip-build --disable-swift-testing 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line any CI can read: "N passed, N failed".
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?" "$log" | tail -1)
total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
# "with N failures", or "with M tests skipped and N failures" when some were skipped.
failed=$(grep -oE "([0-9]+) failures?" <<<"$summary" | head -1 | grep -oE "[0-9]+" || echo 0)
skipped=$(grep -oE "with ([0-9]+) tests? skipped" <<<"$summary" | grep -oE "[0-9]+" || echo 0)
rm -f "$log"
# The README's NumPy + FAISS example against `coordinator recommend` (counted as one more test).
if bash scripts/test-faiss.sh; then
  total=$(( ${total:-0} + 1 ))
else
  total=$(( ${total:-0} + 1 )); failed=$((failed + 1)); status=1
fi
if [ -n "$total" ]; then
  echo "tests: $((total - failed - skipped)) passed, $failed failed, $skipped skipped"
fi
exit "$status"
