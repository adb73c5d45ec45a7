#!/usr/bin/env bash
# Checks the module layering: every target imports exactly what the module table of docs/DESIGN.md lists for it
# (test targets: their module, what it imports, and TestSupport), Package.swift declares exactly those imports,
# the imports have no cycle, and docs/DESIGN.md draws the layers they give. Prints the import graph and the layers.
# Usage: scripts/check-layering.sh [--package-json FILE] [PACKAGE_ROOT]   (default: this repository; the package
# description comes from `swift package dump-package` unless FILE holds it). Exit 1 on a violation.
set -euo pipefail
exec python3 "$(dirname "$0")/layering.py" "$@"
