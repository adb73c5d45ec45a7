#!/usr/bin/env python3
"""PyTorch reference of the training step that `bench step` times, in two forms.

Model: user and item tables (nn.Embedding, sparse=True), cosine similarity, temperature tau, InfoNCE of each
(user, positive item) pair against K negatives drawn uniformly with replacement from the item memory bank (rows
are constants: no gradient), a negative equal to the row's positive masked (-inf). The mean loss is minimised with
SparseAdam on the touched rows; then the positives' bank rows move:
bank[i] <- normalize(m * bank[i] + (1 - m) * normalize(V[i])), once per unique positive.

Forms of the loss:
  straight: logits = cat([q.p, q.n^T]) / tau, F.cross_entropy(logits, 0)
  fused:    q scaled by 1/tau before the GEMM, loss = logaddexp(pos, logsumexp(neg)) - pos

Modes:
  (default)   time the step: warm-up, then windows of steps; prints one RESULT line with the median.
  --check DIR compare with the Swift step written by `bench dump --dir DIR`: the loss of both forms within 1e-4
              relative, and the tables after one step.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def contrastive_straight(q, p, n, items, negatives, tau):
    """Sum over rows of the InfoNCE loss; logits (B, 1 + K) written whole, then F.cross_entropy."""
    pos = (q * p).sum(1, keepdim=True)                       # (B, 1)
    neg = q @ n.t()                                          # (B, K)
    neg = neg.masked_fill(negatives.unsqueeze(0) == items.unsqueeze(1), float("-inf"))
    logits = torch.cat([pos, neg], 1) / tau                  # (B, 1 + K)
    target = torch.zeros(q.shape[0], dtype=torch.long)
    return F.cross_entropy(logits, target, reduction="sum")


def contrastive_fused(q, p, n, items, negatives, tau):
    """The same loss: 1/tau folded into q before the GEMM, masking in place, logsumexp without a concatenation."""
    qs = q * (1.0 / tau)                                     # (B, d)
    pos = (qs * p).sum(1)                                    # (B)
    neg = (qs @ n.t()).masked_fill_(negatives.unsqueeze(0) == items.unsqueeze(1), float("-inf"))  # (B, K)
    return (torch.logaddexp(pos, torch.logsumexp(neg, 1)) - pos).sum()


FORMS = {"straight": contrastive_straight, "fused": contrastive_fused}


class Trainer:
    def __init__(self, users, items, bank, lr, momentum, tau, form):
        self.users = torch.nn.Embedding.from_pretrained(torch.from_numpy(users), freeze=False, sparse=True)
        self.items = torch.nn.Embedding.from_pretrained(torch.from_numpy(items), freeze=False, sparse=True)
        self.bank = torch.from_numpy(bank).clone()
        self.optimizer = torch.optim.SparseAdam(
            list(self.users.parameters()) + list(self.items.parameters()), lr=lr, betas=(0.9, 0.999), eps=1e-8)
        self.momentum = momentum
        self.tau = tau
        self.loss = FORMS[form]

    def step(self, users, items, negatives):
        """One full step; returns the mean loss."""
        q = F.normalize(self.users(users))                   # (B, d)
        p = F.normalize(self.items(items))                   # (B, d)
        with torch.no_grad():
            n = F.normalize(self.bank[negatives])            # (K, d), constants
        loss = self.loss(q, p, n, items, negatives, self.tau) / users.shape[0]
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        with torch.no_grad():
            ids = torch.unique(items)
            v = F.normalize(self.items.weight[ids])
            m = self.momentum
            self.bank[ids] = F.normalize(m * self.bank[ids] + (1 - m) * v)
        return float(loss.detach())


def allocator():
    preload = os.environ.get("LD_PRELOAD", "")
    return "tcmalloc" if "tcmalloc" in preload else "default"


def benchmark(args):
    rng = np.random.default_rng(args.seed)
    users = (rng.standard_normal((args.users, args.dim)) * 0.1).astype(np.float32)
    items = (rng.standard_normal((args.items, args.dim)) * 0.1).astype(np.float32)
    bank = items / np.linalg.norm(items, axis=1, keepdims=True)
    trainer = Trainer(users, items, bank, args.lr, args.momentum, args.temperature, args.form)
    ring = [(torch.from_numpy(rng.integers(0, args.users, args.batch)),
             torch.from_numpy(rng.integers(0, args.items, args.batch))) for _ in range(8)]
    generator = torch.Generator().manual_seed(args.seed)

    def step(t):
        u, i = ring[t % len(ring)]
        negatives = torch.randint(0, args.items, (args.negatives,), generator=generator)
        return trainer.step(u, i, negatives)

    t = 0
    loss = 0.0
    for _ in range(args.warmup):
        loss = step(t)
        t += 1
    seconds = []
    for _ in range(args.windows):
        start = time.perf_counter()
        for _ in range(args.steps_per_window):
            loss = step(t)
            t += 1
        seconds.append((time.perf_counter() - start) / args.steps_per_window)
    s = float(np.median(seconds))
    print(f"RESULT impl=torch-{args.form} alloc={allocator()} B={args.batch} K={args.negatives} d={args.dim} "
          f"threads={args.threads} ips={args.batch / s:.0f} step_ms={s * 1000:.2f} loss={loss:.5f} "
          f"torch={torch.__version__}")


def check(args):
    d = args.check
    load = lambda name: np.load(os.path.join(d, name + ".npy"))
    meta = json.load(open(os.path.join(d, "meta.json")))
    batch_users = torch.from_numpy(load("batch_users").astype(np.int64))
    batch_items = torch.from_numpy(load("batch_items").astype(np.int64))
    negatives = torch.from_numpy(load("negatives").astype(np.int64))
    hits = int((negatives.unsqueeze(0) == batch_items.unsqueeze(1)).sum())
    ok = True
    for form in FORMS:
        trainer = Trainer(load("users"), load("items"), load("bank"), meta["lr"], meta["momentum"],
                          meta["temperature"], form)
        loss = trainer.step(batch_users, batch_items, negatives)
        relative = abs(loss - meta["loss"]) / abs(meta["loss"])
        passed = relative <= 1e-4
        ok &= passed
        diffs = {name: float(np.abs(table.detach().numpy() - load(name + "_after")).max())
                 for name, table in [("users", trainer.users.weight), ("items", trainer.items.weight),
                                     ("bank", trainer.bank)]}
        print(f"CHECK form={form} swift_loss={meta['loss']:.7f} torch_loss={loss:.7f} relative={relative:.2e} "
              f"accidental_hits={hits} max_abs_diff_after_step users={diffs['users']:.2e} "
              f"items={diffs['items']:.2e} bank={diffs['bank']:.2e} lr={meta['lr']} "
              f"{'PASS' if passed else 'FAIL'}")
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--form", choices=sorted(FORMS), default="fused")
    parser.add_argument("--users", type=int, default=29858)
    parser.add_argument("--items", type=int, default=40981)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--negatives", type=int, default=4096)
    parser.add_argument("--temperature", type=float, default=0.1)
    parser.add_argument("--momentum", type=float, default=0.5)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--windows", type=int, default=7)
    parser.add_argument("--steps-per-window", type=int, default=3)
    parser.add_argument("--check", metavar="DIR", help="compare with `bench dump --dir DIR` instead of timing")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    if args.check:
        sys.exit(check(args))
    benchmark(args)


if __name__ == "__main__":
    main()
