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
