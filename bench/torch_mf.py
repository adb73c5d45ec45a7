"""A PyTorch MF trained with the same sampled-softmax loss, as a yardstick for the trainer's quality runs.

Usage: bench/.venv/bin/python bench/torch_mf.py LR sparse|dense EPOCHS [detach] [options]
  sparse: nn.Embedding(sparse=True) + SparseAdam (lazy: only the rows in the batch move), like `--optimizer adam`;
  dense:  dense embeddings + Adam (every row each step), like `--optimizer dense-adam`.
  detach: the K negatives get no gradient (like constant bank rows).
Options: --negatives K (1024), --batch B (3072), --cosine (decay the rate along a cosine to 1 % over the run),
  --dropout P (dropout on the user vector before normalising), --history-weight W (user vector
  (1-W)·u + W·mean of the user's other training items' vectors, SimpleX-style), --users N (test users scored: the
  first N, default 5000), --dataset DIR (a LightGCN directory, default ../shared/datasets/gowalla),
  --temperature τ (0.1), --positive-temperature τ⁺ (the bilateral softmax: the positive out of the log-sum-exp,
  −s⁺/τ⁺ + log Σ exp(s⁻/τ), as the trainer's --positive-temperature), --weight-decay λ (λ·θ added to the gradient
  of the rows in the step's gradient before Adam, as the trainer's --weight-decay), --minibatches M (1: the batch
  is cut into M minibatches of B/M pairs, each with its own K negatives, as the trainer's step of M minibatches;
  the losses are summed over the batch's pairs and divided by B, one optimizer step), --threads N (1:
  torch.set_num_threads), --no-eval (no evaluation: only the training epochs are run and timed), --seed S (0),
  --hard-negatives M --hard-pool C --hard-skip S (each pair also gets the M items of a fresh uniform pool of C,
  shared by the minibatch, that score highest against its user on a memory bank after the S highest, the user's
  training items left out; they are
  read live, with gradients, beside the K uniform negatives; the bank is the normalised item rows moved by momentum
  --bank-momentum m (0.5) after each step, for the rows the step trained), --bank-negatives (the K negatives read
  from that bank at their live rows' lengths, with gradients into the live rows, as the trainer's
  --trained-bank-negatives).
Cosine similarity, K negatives shared by each minibatch (uniform, with replacement, accidental hits removed). The
cosine schedule goes from lr at the first step to lr/100 at the last planned step, as the trainer's `cosine`.
Prints Recall@20 on the first N test users after each epoch, and a line
`EPOCH epoch=E loss=L examples=N train_seconds=S` with the time of the epoch's training steps alone (not the
evaluation, not the loading).
"""
import argparse, math, os, time
import numpy as np, torch

parser = argparse.ArgumentParser()
parser.add_argument('lr', type=float)
parser.add_argument('optimizer', choices=['sparse', 'dense'])
parser.add_argument('epochs', type=int)
parser.add_argument('detach', nargs='?', choices=['detach'])
parser.add_argument('--negatives', type=int, default=1024)
parser.add_argument('--batch', type=int, default=3072)
parser.add_argument('--cosine', action='store_true')
parser.add_argument('--dropout', type=float, default=0.0)
parser.add_argument('--history-weight', type=float, default=0.0)
parser.add_argument('--users', type=int, default=5000)
parser.add_argument('--dataset', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared',
                                                      'datasets', 'gowalla'))
parser.add_argument('--temperature', type=float, default=0.1)
parser.add_argument('--positive-temperature', type=float, default=None)
parser.add_argument('--weight-decay', type=float, default=0.0)
parser.add_argument('--minibatches', type=int, default=1)
parser.add_argument('--threads', type=int, default=1)
parser.add_argument('--no-eval', action='store_true')
parser.add_argument('--seed', type=int, default=0)
parser.add_argument('--hard-negatives', type=int, default=0)
parser.add_argument('--hard-pool', type=int, default=2048)
parser.add_argument('--hard-skip', type=int, default=0)
parser.add_argument('--bank-momentum', type=float, default=0.5)
parser.add_argument('--bank-negatives', action='store_true')
args = parser.parse_args()
if args.minibatches < 1 or args.minibatches > args.batch:
    parser.error('--minibatches must be between 1 and --batch')

torch.set_num_threads(args.threads)
np.random.seed(args.seed)
d = args.dataset + '/'
def read(f):
    out = {}
    for line in open(d + f):
        p = line.split()
        if len(p) > 1: out[int(p[0])] = [int(x) for x in p[1:]]
    return out
tr = read('train.txt'); te = read('test.txt')
nu = 1 + max(max(tr), max(te)); ni = 1 + max(max(max(v) for v in tr.values()), max(max(v) for v in te.values()))
pairs = np.array([(u, i) for u, its in tr.items() for i in its], dtype=np.int64)
tau = args.temperature; K = args.negatives; B = args.batch; W = args.history_weight
sparse = args.optimizer == 'sparse'
torch.manual_seed(args.seed)
U = torch.nn.Embedding(nu, 64, sparse=sparse); V = torch.nn.Embedding(ni, 64, sparse=sparse)
torch.nn.init.normal_(U.weight, std=0.1); torch.nn.init.normal_(V.weight, std=0.1)
opt = (torch.optim.SparseAdam if sparse else torch.optim.Adam)(list(U.parameters()) + list(V.parameters()), lr=args.lr)

# Each user's training items, flattened, for the history tower.
hist_items = torch.tensor([i for u in range(nu) for i in tr.get(u, [])])
hist_len = torch.tensor([len(tr.get(u, [])) for u in range(nu)])
hist_off = torch.cat([torch.zeros(1, dtype=torch.long), hist_len.cumsum(0)[:-1]])

def user_vectors(users, positives=None):
    """The user tower: the user's row, mixed with the mean of its other training items when W > 0."""
    u = U(users)
    if W == 0: return u
    lens = hist_len[users]
    idx = torch.cat([hist_items[o:o + l] for o, l in zip(hist_off[users].tolist(), lens.tolist())])
    bags = torch.cat([torch.zeros(1, dtype=torch.long), lens.cumsum(0)[:-1]])
    total = torch.nn.functional.embedding_bag(idx, V.weight, bags, mode='sum', sparse=sparse)
    if positives is not None:   # leave the positive out of its own history
        total = total - V(positives); lens = (lens - 1).clamp(min=1)
    return (1 - W) * u + W * total / lens[:, None].float()

# The memory bank: normalised item rows, moved by momentum towards the live rows a step trained.
bank = torch.nn.functional.normalize(V.weight.detach().clone(), dim=1)
def move_bank(rows):
    with torch.no_grad():
        rows = rows.unique()
        live = torch.nn.functional.normalize(V.weight[rows], dim=1)
        m = args.bank_momentum
        bank[rows] = torch.nn.functional.normalize(m * bank[rows] + (1 - m) * live, dim=1)
# Every (user, training item) as one sorted key, to leave a user's own items out of its hard negatives.
train_keys = torch.from_numpy(np.unique(pairs[:, 0] * ni + pairs[:, 1]))
def seen(users, items):
    keys = users * ni + items
    at = torch.searchsorted(train_keys, keys).clamp(max=len(train_keys) - 1)
    return train_keys[at] == keys

def evaluate():
    with torch.no_grad():
        Vn = torch.nn.functional.normalize(V.weight, dim=1)
        users = sorted(te)[:args.users]; rec = []
        for s in range(0, len(users), 1000):
            b = users[s:s + 1000]
            S = (torch.nn.functional.normalize(user_vectors(torch.tensor(b)), dim=1) @ Vn.T).numpy()
            for k, u in enumerate(b): S[k, tr.get(u, [])] = -np.inf
            top = np.argpartition(-S, 20, axis=1)[:, :20]
            for k, u in enumerate(b): rec.append(len(set(top[k]) & set(te[u])) / len(te[u]))
    return np.mean(rec)

def minibatch_loss(u, i):
    """The summed loss of one minibatch (pairs u, i) against K negatives of its own; returns it and the negatives."""
    neg = torch.randint(0, ni, (K,))
    raw = user_vectors(u, i)
    if args.dropout > 0: raw = torch.nn.functional.dropout(raw, p=args.dropout, training=True)
    uu = torch.nn.functional.normalize(raw, dim=1); vv = torch.nn.functional.normalize(V(i), dim=1)   # (b, d)
    if args.bank_negatives:   # the bank's direction at the live row's length, with gradients into the live rows
        live = V(neg)
        read = live + (bank[neg] * live.detach().norm(dim=1, keepdim=True) - live).detach()
        nn_ = torch.nn.functional.normalize(read, dim=1)                                              # (K, d)
    else:
        nn_ = torch.nn.functional.normalize(V(neg), dim=1)                                            # (K, d)
    if args.detach: nn_ = nn_.detach()
    logits = torch.cat([(uu * vv).sum(1, keepdim=True), uu @ nn_.T], 1) / tau                        # (b, 1+K)
    logits[:, 1:][neg[None, :] == i[:, None]] = -1e9   # accidental hits removed
    if args.hard_negatives > 0:
        pool = torch.randint(0, ni, (args.hard_pool,))
        with torch.no_grad():
            scores = uu.detach() @ bank[pool].T                                                        # (b, C)
            scores[seen(u[:, None].expand(-1, len(pool)), pool[None, :].expand(len(u), -1))] = -float('inf')
            top = scores.topk(args.hard_skip + args.hard_negatives, dim=1).indices[:, args.hard_skip:]
            hard = pool[top]                                                                              # (b, M)
        hn = torch.nn.functional.normalize(V(hard), dim=2)                                              # (b, M, d)
        hl = (uu[:, None, :] * hn).sum(2) / tau
        hl = hl.masked_fill(hard == i[:, None], -1e9)
        logits = torch.cat([logits, hl], 1)
        neg = torch.cat([neg, hard.flatten()])
    if args.positive_temperature is None:
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(u), dtype=torch.long), reduction='sum')
    else:   # bilateral: the positive out of the normaliser, with its own temperature
        loss = (-(uu * vv).sum(1) / args.positive_temperature + torch.logsumexp(logits[:, 1:], 1)).sum()
    return loss, neg

steps = args.epochs * ((len(pairs) + B - 1) // B); step = 0
for ep in range(args.epochs):
    perm = np.random.permutation(len(pairs)); t = time.time(); loss_sum = 0.0
    for s in range(0, len(perm), B):
        idx = pairs[perm[s:s + B]]; u = torch.from_numpy(idx[:, 0]); i = torch.from_numpy(idx[:, 1])
        size = (len(idx) + args.minibatches - 1) // args.minibatches
        parts = [minibatch_loss(u[m:m + size], i[m:m + size]) for m in range(0, len(idx), size)]
        total = sum(p[0] for p in parts); neg = torch.cat([p[1] for p in parts])
        loss = total / len(idx)
        loss_sum += total.item()
        if args.cosine:   # lr at the first step, lr/100 at the last planned one
            progress = step / (steps - 1) if steps > 1 else 0.0
            for g in opt.param_groups: g['lr'] = args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))
        step += 1
        opt.zero_grad(); loss.backward()
        if args.weight_decay > 0:   # on the rows in the step's gradient only
            for table, rows in ((U, u.unique()), (V, torch.cat([i, neg]).unique())):
                with torch.no_grad():
                    if sparse:
                        table.weight.grad = (table.weight.grad + torch.sparse_coo_tensor(
                            rows[None], args.weight_decay * table.weight[rows], table.weight.shape)).coalesce()
                    else:
                        table.weight.grad[rows] += args.weight_decay * table.weight[rows]
        opt.step()
        if args.hard_negatives > 0 or args.bank_negatives: move_bank(torch.cat([i, neg]))
    seconds = time.time() - t
    print('EPOCH epoch=%d loss=%.6f examples=%d train_seconds=%.3f' % (ep + 1, loss_sum / len(pairs), len(pairs), seconds),
          flush=True)
    if not args.no_eval:
        print(ep + 1, round(loss.item(), 3), 'recall@20(%d users) %.4f' % (args.users, evaluate()),
              '%.0fs' % seconds, flush=True)
