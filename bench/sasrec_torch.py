"""A reference SASRec in PyTorch on the CPU: the peer of EdgeRec's `trainer train --objective
sequence`, with the same network, loss, training loop and protocol, so the two can be compared
in one run (bench/run.py) for quality and speed.

Network (trainer/src/train/sequence/net.rs): item embeddings (row 0 padding) plus learned
positions, dropout, then pre-layer-norm blocks with ONE attention head (every projection with a
bias; Glorot-normal weights, zero biases; embeddings and positions N(0, 1/d)) and a ReLU
feed-forward of width d, dropout on each residual branch, a final LayerNorm (eps 1e-6 everywhere).
Histories are right-aligned: the newest item sits at position L-1 and padded keys are masked, as
is the future. An item's score is the last position's output dotted with its embedding (tied).

Training (fit.rs): full-softmax cross-entropy of the next item at every position; Adam (lr 0.002,
no weight decay); batches of 32 users of similar history length, the batch order shuffled each
epoch; on the inner split's next items (NDCG@10), 5 epochs without a gain cut the learning rate
to 0.3 of itself, twice, and then stop training, keeping the best epoch's weights.

Protocol (as `trainer train` runs it): bench/run.py's leave_last_out holds each user's latest
interaction out (ties: the larger item ID is later) for the test; the same split of the rest gives
the inner split. The network trains on the inner training part and is early-stopped on its held
out items; the test reads each user's whole training history with those weights (no refit).
Ranking is full, over every item the user has not seen in the history read; HR@10 and NDCG@10 come
from bench/run.py's topk_metrics.

Usage: python bench/sasrec_torch.py --data u.data [--epochs 200] [--threads 2] [--seed 0]
Prints one JSON object.
"""

import argparse
import copy
import json
import os
import sys
import time

import numpy as np

# OpenMP's worker threads sleep instead of spinning when idle (read as torch loads): on this
# 2-core machine, shared with other work, spinning made 2 threads 2-5x slower than 1. EdgeRec
# makes the same choice for candle's spinning pool (trainer/src/main.rs).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import leave_last_out, topk_metrics  # noqa: E402  (the benchmark's own split and metric)

MASKED = -1e9  # EdgeRec's additive mask value


def read_rows(path):
    """[user, item, rating, timestamp] rows from a tab- or comma-separated file (header skipped)."""
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.strip().split("\t" if "\t" in line else ",")
            try:
                rows.append([int(parts[0]), int(parts[1]), float(parts[2]), int(float(parts[3]))])
            except (ValueError, IndexError):
                if rows:
                    raise
    return rows


def histories(rows, uix, iix):
    """Each user's dense item indices, oldest first (ties: the larger item ID is later)."""
    out = [[] for _ in uix]
    for u, i, _, t in sorted(rows, key=lambda r: (r[0], r[3], r[1])):
        out[uix[u]].append(iix[i])
    return out


class Block(nn.Module):
    def __init__(self, d, p):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=1e-6), nn.LayerNorm(d, eps=1e-6)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ff1, self.ff2 = nn.Linear(d, d), nn.Linear(d, d)
        self.drop = nn.Dropout(p)
        for lin in (self.q, self.k, self.v, self.o, self.ff1, self.ff2):
            nn.init.xavier_normal_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, x, mask):
        h = self.ln1(x)
        a = F.scaled_dot_product_attention(self.q(h), self.k(h), self.v(h), attn_mask=mask)
        x = x + self.drop(self.o(a))
        return x + self.drop(self.ff2(F.relu(self.ff1(self.ln2(x)))))


class SASRec(nn.Module):
    def __init__(self, items, d, max_len, blocks, p):
        super().__init__()
        self.items = nn.Embedding(items + 1, d, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(max_len, d) * d ** -0.5)
        nn.init.normal_(self.items.weight, std=d ** -0.5)
        with torch.no_grad():
            self.items.weight[0].zero_()
        self.blocks = nn.ModuleList(Block(d, p) for _ in range(blocks))
        self.ln_f = nn.LayerNorm(d, eps=1e-6)
        self.drop = nn.Dropout(p)

    def forward(self, inputs):
        """(b × l) item rows (0 = padding, right-aligned) → (b × l × d) outputs."""
        b, l = inputs.shape
        x = self.drop(self.items(inputs) + self.pos[self.pos.shape[0] - l:])
        causal = torch.triu(torch.full((l, l), MASKED), diagonal=1)
        mask = causal + torch.where(inputs == 0, MASKED, 0.0)[:, None, :]
        for blk in self.blocks:
            x = blk(x, mask)
        return self.ln_f(x)

    def table(self):
        return self.items.weight[1:]


def example(items, length):
    """Right-aligned inputs (rows, 0 = padding) and next-item targets (-1 at padding)."""
    n = len(items)
    take = min(n - 1, length)
    inputs = [0] * (length - take) + [i + 1 for i in items[n - 1 - take:n - 1]]
    targets = [-1] * (length - take) + items[n - take:]
    return inputs, targets


@torch.no_grad()
def states(model, hists, max_len):
    """The last position's output for each history (the user's state), users × d."""
    model.eval()
    out = []
    for k in range(0, len(hists), 256):
        chunk = [h[-max_len:] for h in hists[k:k + 256]]
        l = max(1, max(len(h) for h in chunk))
        rows = [[0] * (l - len(h)) + [i + 1 for i in h] for h in chunk]
        out.append(model(torch.tensor(rows))[:, -1])
    return torch.cat(out)


def evaluate(model, hists, held, max_len):
    """HR@10 and NDCG@10 of held[u] ranked over the items not in hists[u] (bench/run.py's metric)."""
    users = [u for u in range(len(hists)) if u in held and hists[u]]
    with torch.no_grad():
        scores = (states(model, [hists[u] for u in users], max_len) @ model.table().T).numpy()
    row = {u: k for k, u in enumerate(users)}
    seen = {u: set(hists[u]) for u in users}
    return topk_metrics(lambda u: scores[row[u]], seen, {u: {held[u]} for u in users})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=200, help="most epochs (early stopping may end sooner)")
    ap.add_argument("--patience", type=int, default=5, help="0: never stop early")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--seq-len", type=int, default=200)
    ap.add_argument("--batch", type=int, default=32, help="users per batch")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--dropout", type=float, default=0.2)
    a = ap.parse_args()
    started, load_before = time.perf_counter(), open("/proc/loadavg").read().split()[:3]
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    rows = read_rows(a.data)
    train, test = leave_last_out(rows)
    inner_train, inner_val = leave_last_out(train)
    uix = {u: k for k, u in enumerate(sorted({r[0] for r in rows}))}
    iix = {i: k for k, i in enumerate(sorted({r[1] for r in rows}))}
    inner_hist, train_hist = histories(inner_train, uix, iix), histories(train, uix, iix)
    val_next = {uix[u]: iix[i] for u, i, _, _ in inner_val}
    test_next = {uix[u]: iix[i] for u, i, _, _ in test}

    model = SASRec(len(iix), a.dim, a.seq_len, a.blocks, a.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    # Batches of users with histories of similar length (as EdgeRec), in a new order each epoch.
    users = sorted((u for u, h in enumerate(inner_hist) if len(h) >= 2),
                   key=lambda u: (min(len(inner_hist[u]), a.seq_len + 1), u))
    batches = [users[k:k + a.batch] for k in range(0, len(users), a.batch)]
    history, best = [], None
    since, cuts = 0, 0  # the epoch of the last gain or learning-rate cut; cuts so far (at most 2)
    for epoch in range(1, a.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        total, slots = 0.0, 0
        for b in rng.permutation(len(batches)):
            chunk = batches[b]
            length = min(max(len(inner_hist[u]) - 1 for u in chunk), a.seq_len)
            ex = [example(inner_hist[u], length) for u in chunk]
            inputs = torch.tensor([e[0] for e in ex])
            targets = torch.tensor([e[1] for e in ex]).reshape(-1)
            keep = targets >= 0
            h = model(inputs).reshape(-1, a.dim)[keep]
            loss = F.cross_entropy(h @ model.table().T, targets[keep])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * int(keep.sum())
            slots += int(keep.sum())
        seconds = time.perf_counter() - t0
        val = evaluate(model, inner_hist, val_next, a.seq_len)
        history.append({"epoch": epoch, "loss": total / slots, "hr": float(val["hr"]), "ndcg": float(val["ndcg"]),
                        "seconds": seconds, "per_second": slots / seconds})
        print(f"epoch {epoch}: loss {total / slots:.4f}, inner HR@10 {val['hr']:.4f}, NDCG@10 {val['ndcg']:.4f}, "
              f"{seconds:.1f} s ({slots / seconds:.0f} interactions/s)", file=sys.stderr, flush=True)
        if best is None or val["ndcg"] > best[0]:
            best = (val["ndcg"], epoch, copy.deepcopy(model.state_dict()))
            since = epoch
        elif a.patience > 0 and epoch - since >= a.patience:
            if cuts == 2:
                break
            cuts, since = cuts + 1, epoch
            for group in opt.param_groups:
                group["lr"] *= 0.3
    model.load_state_dict(best[2])
    res = evaluate(model, train_hist, test_next, a.seq_len)
    train_s = sum(e["seconds"] for e in history)
    print(json.dumps({
        "hr": float(res["hr"]), "ndcg": float(res["ndcg"]), "users": res["users"], "epochs": len(history), "best_epoch": best[1],
        "seconds_per_epoch": train_s / len(history),
        "interactions_per_second": sum(e["seconds"] * e["per_second"] for e in history) / train_s,
        "total_seconds": time.perf_counter() - started, "threads": a.threads, "torch": torch.__version__,
        "omp_wait_policy": os.environ["OMP_WAIT_POLICY"], "load_before": load_before,
        "load_after": open("/proc/loadavg").read().split()[:3],
        "config": {k: v for k, v in vars(a).items() if k != "data"}, "history": history,
    }))


if __name__ == "__main__":
    main()
