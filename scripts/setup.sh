#!/usr/bin/env bash
# Installs what the project needs to build, run and test: libzmq, OpenBLAS, pkg-config, libcurl, python3 (for the
# test scripts), iproute2 (for the partition test's network namespaces), Debian's ILP64 OpenBLAS (for the test of
# `--blas` with a build that takes 64-bit integers), Chromium (the test that renders
# a run's report headless) and python3-venv (scripts/test-faiss.sh puts faiss-cpu from PyPI in a venv), all Debian
# packages; and, on x86-64, a current OpenBLAS build
# that the executables load at run time (`--blas auto`): the library of the scipy-openblas32 wheel from PyPI (OpenBLAS
# 0.3.34; Debian 12's is 0.3.21), checked against its SHA-256 and installed as /usr/local/lib/mbt/libscipy_openblas.so.
# MBT_SKIP_BLAS_DOWNLOAD=1 skips that download; the executables then use the linked Debian OpenBLAS.
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
need=()
# libcurl4-openssl-dev: the metrics' HTTP server (FlyingFox) pulls in FoundationNetworking, which a
# --static-swift-stdlib build (the images') links against libcurl.
packages=(libzmq3-dev libopenblas-dev libopenblas64-0-pthread pkg-config iproute2 python3 libcurl4-openssl-dev)
# What only the tests use; MBT_SKIP_TEST_TOOLS=1 (the Docker build) leaves it out.
[ -n "${MBT_SKIP_TEST_TOOLS:-}" ] || packages+=(chromium python3-venv)
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
blas_dir=/usr/local/lib/mbt
blas_lib=$blas_dir/libscipy_openblas.so
blas_wheel=scipy_openblas32-0.3.34.481.3-py3-none-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
blas_sha256=0595f94cd58c1f8a0d90c975621f4587337a003916b1979e834ebdf2cb5d9504
want_blas=0
if [ "$(uname -m)" = x86_64 ] && [ -z "${MBT_SKIP_BLAS_DOWNLOAD:-}" ] && [ ! -f "$blas_lib" ]; then
  want_blas=1
  # pip fetches the wheel (it honours the machine's index and proxy settings); Debian's python3-pip if needed.
  python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
fi
if ((${#need[@]})); then
  echo "installing: ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ "$want_blas" = 1 ]; then
  echo "installing OpenBLAS 0.3.34 (scipy-openblas32 from PyPI) as $blas_lib" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download -q --no-deps --only-binary=:all: \
    -d "$tmp" "scipy-openblas32==0.3.34.481.3" >&2
  echo "$blas_sha256  $tmp/$blas_wheel" | sha256sum -c --quiet
  python3 -m zipfile -e "$tmp/$blas_wheel" "$tmp/x"
  $SUDO install -D -m 0644 "$tmp/x/scipy_openblas32/lib/libscipy_openblas.so" "$blas_lib"
fi
command -v swift >/dev/null || { echo "swift is not on PATH (Swift 6 toolchain needed)" >&2; exit 1; }
