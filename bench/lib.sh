# Shared by the bench scripts (`source bench/lib.sh` from the package root).

# The `swift build` flags of the benchmark builds: SWIFT_BUILD_FLAGS when it is set (set and empty: the portable
# build), else AVX2 + FMA code when this CPU has both, else none.
bench_build_flags() {
    if [ -n "${SWIFT_BUILD_FLAGS+x}" ]; then
        echo "$SWIFT_BUILD_FLAGS"
    elif grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
        echo "-Xswiftc -target-cpu -Xswiftc haswell"
    fi
}

# The "before" commit of the sparse-row transfer change: the default baseline of quality-speed.sh and netns.sh.
BENCH_BASELINE_REV=cb3c44a

bench_log() { echo "$(basename "$0"): $*" >&2; }

# bench_baseline_build REV [DIR]: checks REV out into DIR (default /tmp/mbt-baseline-<short commit>) with
# `git worktree add --detach`, builds its coordinator and worker in release mode there (DIR/.build) and prints the
# binary directory. Reuses DIR when DIR/.build/baseline-commit names REV's commit and both binaries exist; refuses a DIR
# that holds something else. Run from the package root.
bench_baseline_build() {
    local rev=$1 dir=${2:-} commit flags bin
    commit=$(git rev-parse --verify --quiet "$rev^{commit}") \
        || { bench_log "no commit '$rev' in this repository"; return 1; }
    [ -n "$dir" ] || dir=/tmp/mbt-baseline-${commit:0:7}
    bin=$dir/.build/release
    if [ -f "$dir/.build/baseline-commit" ] && [ "$(cat "$dir/.build/baseline-commit")" = "$commit" ] \
        && [ -x "$bin/coordinator" ] && [ -x "$bin/worker" ]; then
        echo "$bin"
        return
    fi
    if [ -e "$dir" ]; then
        local there
        there=$(git -C "$dir" rev-parse --verify --quiet HEAD 2>/dev/null || true)
        [ "$there" = "$commit" ] \
            || { bench_log "$dir exists and does not hold commit ${commit:0:7}: choose another directory"; return 1; }
    else
        git worktree add --detach "$dir" "$commit" >&2 || { bench_log "git worktree add $dir failed"; return 1; }
    fi
    flags=$(bench_build_flags)
    bench_log "building coordinator and worker of ${commit:0:7} in $dir (release, flags: ${flags:-none})"
    # (Every failure returns: callers run this in $(…), where `set -e` does not reach.)
    # shellcheck disable=SC2086
    swift build -c release --package-path "$dir" --scratch-path "$dir/.build" --product coordinator $flags >&2 \
        && swift build -c release --package-path "$dir" --scratch-path "$dir/.build" --product worker $flags >&2 \
        || { bench_log "the release build of ${commit:0:7} in $dir failed"; return 1; }
    mkdir -p "$dir/.build" && echo "$commit" > "$dir/.build/baseline-commit"
    echo "$bin"
}

# bench_current_build: builds the coordinator and worker of this working tree in release mode (SCRATCH, default
# .build) with the same flags as the baseline and prints the binary directory.
bench_current_build() {
    local scratch=${SCRATCH:-.build} flags
    flags=$(bench_build_flags)
    bench_log "building coordinator and worker of this tree in $scratch (release, flags: ${flags:-none})"
    # shellcheck disable=SC2086
    swift build -c release --scratch-path "$scratch" --product coordinator $flags >&2 \
        && swift build -c release --scratch-path "$scratch" --product worker $flags >&2 \
        || { bench_log "the release build of this tree failed"; return 1; }
    echo "$scratch/release"
}

# bench_setup_torch VENV: PyTorch and NumPy in the virtual environment VENV (created when missing), the newest from
# PyPI. PyPI's Linux torch wheel is the CUDA build: `pip install torch` pulls about 5 GB of nvidia-* wheels that the
# CPU never uses, and `torch --no-deps` alone fails to import (libcudart). It was measured about 12 % faster on this
# CPU than the 2.13.0+cpu wheel (bench/results.md). When PyPI cannot be reached, a CPU-only wheel offered by pip's
# configured find-links is the fallback.
bench_setup_torch() {
    local venv=$1 py=$1/bin/python wheel="" dir
    [ -x "$py" ] || python3 -m venv "$venv"
    if "$py" -c "import torch, numpy" 2>/dev/null; then return; fi
    bench_log "installing torch from PyPI into $venv (CUDA build with its dependencies, about 5 GB)"
    if "$py" -m pip install -q torch numpy >&2; then return; fi
    for dir in $("$py" -m pip config get global.find-links 2>/dev/null || true); do
        wheel=$(ls "$dir"/torch-*+cpu-cp3*-manylinux*_x86_64.whl 2>/dev/null | sort -V | tail -1 || true)
        [ -n "$wheel" ] && break
    done
    [ -n "$wheel" ] || { bench_log "no torch could be installed"; return 1; }
    bench_log "installing the CPU-only wheel $wheel"
    "$py" -m pip install -q --no-deps "$wheel" >&2
    "$py" -m pip install -q numpy filelock typing-extensions sympy networkx jinja2 fsspec >&2
}

# bench_tcmalloc: the path of tcmalloc (Debian's libtcmalloc-minimal4, installed when missing), for LD_PRELOAD into
# the PyTorch processes.
bench_tcmalloc() {
    local path
    path=$(ldconfig -p | awk '/libtcmalloc_minimal\.so\.4 / {path = $NF} END {print path}')
    if [ -z "$path" ]; then
        bench_log "installing libtcmalloc-minimal4"
        apt-get install -y -qq libtcmalloc-minimal4 >/dev/null \
            || { apt-get update -qq && apt-get install -y -qq libtcmalloc-minimal4 >/dev/null; }
        path=$(ldconfig -p | awk '/libtcmalloc_minimal\.so\.4 / {path = $NF} END {print path}')
    fi
    [ -n "$path" ] || { bench_log "libtcmalloc-minimal4 could not be installed"; return 1; }
    echo "$path"
}

# bench_binaries DIR: the directory that holds DIR's release `coordinator` and `worker`: DIR itself, or DIR/.build/release
# (a tree built by bench_baseline_build or `swift build -c release`).
bench_binaries() {
    local dir=$1 candidate
    for candidate in "$dir" "$dir/.build/release"; do
        if [ -x "$candidate/coordinator" ] && [ -x "$candidate/worker" ]; then
            echo "$candidate"
            return
        fi
    done
    bench_log "no coordinator and worker executables in $dir or $dir/.build/release (build them with bench/baseline.sh)"
    return 1
}

# bench_describe_build BINDIR: the commit a build was made from, as far as its directory tells (for the logs).
bench_describe_build() {
    local bin=$1 tree
    if [ -f "$bin/../baseline-commit" ]; then
        cut -c1-10 "$bin/../baseline-commit"
        return
    fi
    tree=$(cd "$bin/../.." 2>/dev/null && git rev-parse --show-toplevel 2>/dev/null || true)
    if [ -n "$tree" ]; then
        echo "$(git -C "$tree" rev-parse --short=10 HEAD)$(git -C "$tree" diff --quiet HEAD -- Sources Package.swift || echo +changes)"
    else
        echo unknown
    fi
}
