#!/usr/bin/env bash
# Installs what the project needs to build, run and test: libzmq, OpenBLAS, pkg-config, iproute2 (for the
# partition test's network namespaces), all Debian packages.
set -euo pipefail
need=()
for pkg in libzmq3-dev libopenblas-dev pkg-config iproute2; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
  echo "installing: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH (Swift 6 toolchain needed)" >&2; exit 1; }
