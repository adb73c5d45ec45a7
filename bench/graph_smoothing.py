#!/usr/bin/env python3
"""Ranks with a trained run's embeddings after one step of graph propagation at ranking time, to see whether mixing
each user's (or item's) neighbours into its vector helps a model that was trained without it (lever 3 in its
cheapest form: no training change).

    python3 bench/graph_smoothing.py RUN_DIR DATASET_DIR [--alphas 0,0.1,0.2,0.3] [--betas 0.1,0.2]

RUN_DIR holds user_embeddings.npy and item_embeddings.npy (written by every run); DATASET_DIR is a LightGCN-format
directory (train.txt, test.txt) whose ids are the run's rows (users.tsv / items.tsv map them one to one for these
files). Scores are cosine similarities, as the trainer ranks with --similarity cosine:
  user side: q_u = û + α · mean_{i ∈ train(u)} v̂_i   (û, v̂: unit rows), items v̂;
  item side: users û, items normalize(v̂ + β · mean_{u ∈ train(i)} û_u).
Prints Recall@20 and NDCG@20 on the test split (training items excluded from the ranking), as the coordinator's
evaluation computes them; α = 0 reproduces the run's own figures. The test split is what it reports on: it is a
diagnostic of the idea, not a way to choose α.
"""
import argparse

import numpy as np
import scipy.sparse as sp


def read(path):
    lists = {}
    for line in open(path):
        fields = line.split()
        if len(fields) > 1:
            lists[int(fields[0])] = [int(t) for t in fields[1:]]
    return lists


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def evaluate(queries, items, train, test, k=20):
    users = np.array(sorted(test))
    discounts = 1 / np.log2(np.arange(2, k + 2))
    recall = ndcg = 0.0
    for start in range(0, len(users), 2048):
        batch = users[start:start + 2048]
        scores = queries[batch] @ items.T
        for row, user in enumerate(batch):
            scores[row, train.get(user, [])] = -np.inf
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1)
        top = np.take_along_axis(top, order, 1)
        for row, user in enumerate(batch):
            relevant = set(test[user])
            hits = np.array([1.0 if item in relevant else 0.0 for item in top[row]])
            recall += hits.sum() / len(relevant)
            ndcg += (hits * discounts).sum() / discounts[:min(len(relevant), k)].sum()
    return recall / len(users), ndcg / len(users)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run")
    parser.add_argument("dataset")
    parser.add_argument("--alphas", default="0,0.1,0.2,0.3")
    parser.add_argument("--betas", default="0.1,0.2")
    args = parser.parse_args()
    users = unit(np.load(args.run + "/user_embeddings.npy").astype(np.float32))
    items = unit(np.load(args.run + "/item_embeddings.npy").astype(np.float32))
    train, test = read(args.dataset + "/train.txt"), read(args.dataset + "/test.txt")
    rows = np.array([u for u, its in train.items() for _ in its])
    cols = np.array([i for its in train.values() for i in its])
    graph = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(users), len(items)))
    user_degree = np.maximum(np.asarray(graph.sum(1)).ravel(), 1)
    item_degree = np.maximum(np.asarray(graph.sum(0)).ravel(), 1)
    user_history = (graph @ items) / user_degree[:, None]
    item_history = (graph.T @ users) / item_degree[:, None]
    for alpha in [float(a) for a in args.alphas.split(",") if a]:
        recall, ndcg = evaluate(users + alpha * user_history, items, train, test)
        print(f"user side alpha {alpha}: recall@20 {recall:.4f} ndcg@20 {ndcg:.4f}", flush=True)
    for beta in [float(b) for b in args.betas.split(",") if b]:
        recall, ndcg = evaluate(users, unit(items + beta * item_history), train, test)
        print(f"item side beta {beta}: recall@20 {recall:.4f} ndcg@20 {ndcg:.4f}", flush=True)


if __name__ == "__main__":
    main()
