#!/usr/bin/env bash
# Sets up and runs the test suite: unit tests, golden values, and multi-process integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests
swift test --skip-build
