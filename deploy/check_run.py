#!/usr/bin/env python3
"""Checks a finished run directory: metrics.jsonl and the exported .npy embeddings.

    check_run.py DIR --epochs N --users U --items I --dim D [--min-recall R] [--first-epoch E]

Prints one line per check and exits 1 if any fails. Needs only the standard library (no numpy).
"""
import argparse
import ast
import json
import math
import struct
import sys


def read_npy(path):
    """(shape, values) of a little-endian float32 C-order .npy file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file")
    major = data[6]
    if major == 1:
        (length,) = struct.unpack("<H", data[8:10])
        start = 10
    else:
        (length,) = struct.unpack("<I", data[8:12])
        start = 12
    header = ast.literal_eval(data[start:start + length].decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        raise ValueError(f"{path}: expected little-endian float32 in C order, got {header}")
    shape = tuple(header["shape"])
    body = data[start + length:]
    count = math.prod(shape)
    if len(body) != 4 * count:
        raise ValueError(f"{path}: {len(body)} bytes of data for shape {shape}")
    return shape, struct.unpack(f"<{count}f", body)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--users", type=int, required=True)
    p.add_argument("--items", type=int, required=True)
    p.add_argument("--dim", type=int, required=True)
    p.add_argument("--min-recall", type=float, default=0.0)
    p.add_argument("--first-epoch", type=int, default=1,
                   help="first epoch expected in metrics.jsonl (a resumed run starts its file at the resumed epoch)")
    a = p.parse_args()
    failures = 0

    def check(ok, text):
        nonlocal failures
        print(("ok   " if ok else "FAIL ") + text)
        failures += 0 if ok else 1

    events = [json.loads(line) for line in open(f"{a.dir}/metrics.jsonl") if line.strip()]
    epochs = [e for e in events if e["event"] == "epoch"]
    ends = [e for e in events if e["event"] == "end"]
    numbers = [e["epoch"] for e in epochs]
    check(numbers and numbers[-1] == a.epochs and numbers == list(range(numbers[0], a.epochs + 1))
          and numbers[0] <= max(a.first_epoch, 1),
          f"epochs {numbers[0] if numbers else '-'}..{numbers[-1] if numbers else '-'} reported, in order, up to {a.epochs}")
    check(all(e["audit_exact"] for e in epochs), f"every epoch's audit is exact ({[e['audit_exact'] for e in epochs]})")
    recalls = [e.get("recall@20", float("nan")) for e in epochs]
    check(all(math.isfinite(r) for r in recalls) and recalls and recalls[-1] >= a.min_recall,
          f"recall@20 finite, last {recalls[-1] if recalls else '-'} >= {a.min_recall}")
    check(all(math.isfinite(e["loss"]) for e in epochs), "every epoch's loss is finite")
    # A coordinator stopped by a signal (docker stop, Slurm preemption) writes an end event with "stopped": true
    # before it is resumed; the run itself ends once.
    finals = [e for e in ends if not e.get("stopped")]
    check(len(finals) == 1 and all(e["replica_mismatches"] == 0 for e in ends),
          f"one final end event ({len(ends) - len(finals)} stop(s) before it), 0 replica mismatches ({ends})")

    for name, rows in [("user_embeddings", a.users), ("item_embeddings", a.items), ("bank", a.items)]:
        shape, values = read_npy(f"{a.dir}/{name}.npy")
        check(shape == (rows, a.dim), f"{name}.npy has shape {shape}, expected {(rows, a.dim)}")
        check(all(math.isfinite(v) for v in values) and any(v != 0 for v in values),
              f"{name}.npy values are finite and not all zero")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
