#!/usr/bin/env python3
"""Times the step's two GEMM shapes with NumPy's bundled OpenBLAS (float32), like `bench gemm` does with the
system OpenBLAS: forward (B, d)·(d, K) and backward (B, K)·(K, d). Set OPENBLAS_NUM_THREADS before starting."""
import argparse
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--negatives", type=int, default=4096)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="for the report; set OPENBLAS_NUM_THREADS")
    parser.add_argument("--windows", type=int, default=7)
    parser.add_argument("--calls-per-window", type=int, default=5)
    args = parser.parse_args()
    B, K, d = args.batch, args.negatives, args.dim
    rng = np.random.default_rng(11)
    q = (rng.standard_normal((B, d)) * 0.1).astype(np.float32)
    n = (rng.standard_normal((K, d)) * 0.1).astype(np.float32)
    logits = np.empty((B, K), np.float32)
    dq = np.empty((B, d), np.float32)
    forward = lambda: np.matmul(q, n.T, out=logits)
    backward = lambda: np.matmul(logits, n, out=dq)
    for _ in range(2):
        forward()
        backward()
    times = {"fwd": [], "bwd": []}
    for _ in range(args.windows):
        for name, f in (("fwd", forward), ("bwd", backward)):
            start = time.perf_counter()
            for _ in range(args.calls_per_window):
                f()
            times[name].append((time.perf_counter() - start) / args.calls_per_window)
    f, b = np.median(times["fwd"]), np.median(times["bwd"])
    half = 2.0 * B * K * d
    config = np.show_config(mode="dicts")["Build Dependencies"]["blas"].get("openblas configuration", "?")
    print(f"RESULT impl=openblas-numpy B={B} K={K} d={d} threads={args.threads} fwd_gflops={half / f / 1e9:.1f} "
          f"bwd_gflops={half / b / 1e9:.1f} pair_ms={(f + b) * 1000:.2f} config=\"{config}\"")


if __name__ == "__main__":
    main()
