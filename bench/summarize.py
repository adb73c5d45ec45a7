#!/usr/bin/env python3
"""Turns the RESULT lines of bench/speed.sh (one log file) into a Markdown table: medians over rounds, and the
median over rounds of each round's ratio Swift / best PyTorch variant."""
import re
import shlex
import statistics
import sys
from collections import defaultdict


def parse(path):
    rows = []
    for line in open(path):
        if line.startswith("RESULT "):
            fields = dict(token.split("=", 1) for token in shlex.split(line[len("RESULT "):]))
            if fields.get("impl") == "openblas-debian":   # logs from before the loadable BLAS
                fields["impl"] = "openblas-system"
            rows.append(fields)
    return rows


def variant(r):
    impl = r["impl"]
    return f"{impl}/{r['alloc']}" if impl.startswith("torch") else impl


def main():
    rows = parse(sys.argv[1])
    by_shape = defaultdict(lambda: defaultdict(dict))   # (B, K, d, threads) -> round -> variant -> row
    for r in rows:
        by_shape[(int(r["B"]), int(r["K"]), int(r["d"]), int(r["threads"]))][r["round"]][variant(r)] = r
    torch_variants = ["torch-fused/default", "torch-fused/tcmalloc", "torch-straight/default", "torch-straight/tcmalloc"]
    blas_impls = ("openblas-system", "openblas-library", "openblas-numpy")
    print("| B | K | d | threads | Swift interactions/s | " + " | ".join(v.replace("torch-", "PyTorch ") for v in torch_variants)
          + " | Swift / best PyTorch | GEMM fraction (in-process) | GEMM work / best build in-process | GEMM work / best rate, any process"
          + " | sgemm GFLOP/s fwd/bwd: Debian 0.3.21 | installed 0.3.34 | NumPy's |")
    print("|" + "---|" * (10 + len(torch_variants) + 2))
    for (B, K, d, threads), rounds in sorted(by_shape.items(), key=lambda kv: (kv[0][0] * kv[0][1], kv[0])):
        med = lambda v, key: statistics.median(float(rs[v][key]) for rs in rounds.values() if v in rs)
        ratios = []
        for rs in rounds.values():
            torch = [float(rs[v]["ips"]) for v in torch_variants if v in rs]
            if "swift" in rs and torch:
                ratios.append(float(rs["swift"]["ips"]) / max(torch))
        cells = [str(B), str(K), str(d), str(threads), f"{med('swift', 'ips'):.0f}"]
        cells += [f"{med(v, 'ips'):.0f}" if any(v in rs for rs in rounds.values()) else "–" for v in torch_variants]
        cells.append(f"**{statistics.median(ratios):.2f}×** ({', '.join(f'{x:.2f}' for x in ratios)})" if ratios else "–")
        cells.append(f"{med('swift', 'gemm_fraction'):.2f}")
        # The step's GEMM work against the build with the highest typical rate among those timed in the step's own
        # windows (--ceiling-blas): bench step's gemm_work_vs_best, per round.
        best = [float(rs["swift"]["gemm_work_vs_best"]) for rs in rounds.values()
                if "swift" in rs and "gemm_work_vs_best" in rs["swift"]]
        cells.append(f"**{statistics.median(best):.2f}** ({', '.join(f'{x:.2f}' for x in best)})" if best else "–")
        # The step's GEMM rate (its GEMM flops over the step's time) against every rate measured in the rounds: per
        # build (the in-process ceiling, then each separate GEMM process), the median over rounds of the ratio within
        # the round; the lowest of them. Not each round's fastest rate: with builds of about the same speed, that
        # picks each round's luckiest timing.
        per_build = defaultdict(list)
        for rs in rounds.values():
            if "swift" not in rs or "gemm_gflops" not in rs["swift"]:
                continue
            s = rs["swift"]
            work = float(s["gemm_gflops"]) * float(s["gemm_fraction"])
            per_build["in-process"].append(work / float(s["gemm_gflops"]))
            for i in blas_impls:
                if i in rs:
                    per_build[i].append(work / (4.0 * B * K * d / (float(rs[i]["pair_ms"]) * 1e6)))
        shares = [statistics.median(per_build[b]) for b in ("in-process",) + blas_impls if per_build[b]]
        cells.append(f"{min(shares):.2f} ({', '.join(f'{x:.2f}' for x in shares)})" if shares else "–")
        for impl in blas_impls:
            if any(impl in rs for rs in rounds.values()):
                cells.append(f"{med(impl, 'fwd_gflops'):.1f} / {med(impl, 'bwd_gflops'):.1f}")
            else:
                cells.append("–")
        print("| " + " | ".join(cells) + " |")
    print()
    print(f"{len(rows)} measurements from {sys.argv[1]}; medians over rounds; the ratio is the median of the "
          "per-round ratios (listed). GEMM fraction: time of the step's two GEMMs alone at full size / time of the "
          "whole step, in alternating windows of the same process. GEMM work / best build in-process: the step's GEMM "
          "flops per second of step over the full-size rate of the step's build, Debian's and NumPy's OpenBLAS, all "
          "timed in the step's process, each build's ratio taken window by window and its median kept; the lowest "
          "of the three (the build with the highest typical rate), then the median over rounds (listed). "
          "GEMM work / best rate: the same against every rate of the rounds, the step's own process and separate "
          "ones: per build, the median over rounds of the ratio within the round; the lowest of them (listed in the "
          "order in-process ceiling, Debian's OpenBLAS, the installed 0.3.34 build, NumPy's OpenBLAS).")


if __name__ == "__main__":
    main()
