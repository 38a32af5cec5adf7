"""What keeping the seed's contract costs: rank 1 carries the highest `predicted_rating`.

A hybrid model ranks with its ranker and reports ratings from its rating head, and the two can
disagree. The core reports the head's ratings made non-increasing in rank (isotonic regression),
so the ranker's order, and with it HR and NDCG, stays as it is. This measures, on MovieLens-100k
with the latest interaction of each user held out: how many top-10 lists the raw head ratings
break, how far the reported ratings move from the head's, and what the other way out (re-ordering
each top-10 by the head) would cost in NDCG@10.

Used by bench/run.py; `rating_order(ml, trainer, example, work)` returns a dict.
"""

import json
import math
import os
import subprocess


def ndcg_at(items, held_out):
    return next((1.0 / math.log2(k + 2) for k, i in enumerate(items) if i == held_out), 0.0)


def rating_order(rows, trainer, example, work):
    """rows: (user, item, rating, timestamp) lists. trainer and example: release binaries."""
    rows = sorted(rows, key=lambda r: (r[0], r[3], r[1]))
    train, held_out = [], {}
    for k, r in enumerate(rows):
        if k + 1 == len(rows) or rows[k + 1][0] != r[0]:
            held_out[str(r[0])] = str(r[1])
        else:
            train.append(r)
    path, model = os.path.join(work, "order-train.tsv"), os.path.join(work, "order.safetensors")
    with open(path, "w") as f:
        f.writelines(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in train)
    subprocess.run([trainer, "train", "--data", path, "--out", model, "--quiet"], check=True, capture_output=True)
    lines = subprocess.run([example, model, "10"], check=True, capture_output=True, text=True).stdout.splitlines()
    lists = broken = 0
    moved, largest = [], 0.0
    ndcg_ranker = ndcg_head = 0.0
    for line in lines:
        row = json.loads(line)
        raw, reported, items = row["raw"], row["reported"], row["items"]
        if not items or raw[0] is None:
            continue
        assert all(a >= b for a, b in zip(reported, reported[1:])), f"{row['user']}: reported ratings rise"
        lists += 1
        broken += any(a < b for a, b in zip(raw, raw[1:]))
        moved += [abs(a - b) for a, b in zip(raw, reported)]
        largest = max(largest, *(abs(a - b) for a, b in zip(raw, reported)))
        truth = held_out.get(row["user"])
        by_head = [i for _, i in sorted(zip(raw, items), key=lambda p: -p[0])]
        ndcg_ranker += ndcg_at(items, truth)
        ndcg_head += ndcg_at(by_head, truth)
    return {
        "lists": lists,
        "broken_by_raw_head": broken,
        "mean_abs_change": sum(moved) / max(len(moved), 1),
        "max_abs_change": largest,
        "ndcg_ranker_order": ndcg_ranker / max(lists, 1),
        "ndcg_head_order": ndcg_head / max(lists, 1),
    }


def markdown(r):
    return "\n".join([
        "### Keeping the seed's contract: `predicted_rating` never rises with rank\n",
        "The seed ranks by `predicted_rating`, so its clients read rank 1 as the highest. A hybrid model ranks with "
        "its ranker and rates with its rating head; the core reports the head's ratings made non-increasing in rank "
        "by isotonic regression (pool-adjacent-violators: each run that breaks the order becomes its mean), so the "
        "list, its order, HR and NDCG are the ranker's. MovieLens-100k, each user's latest interaction held out, "
        "`trainer train` with the defaults on the rest, every user's top-10 (`core/examples/rating_order.rs`).\n",
        "| figure | value |\n| --- | ---: |",
        f"| top-10 lists whose raw head ratings rise somewhere | {r['broken_by_raw_head']} of {r['lists']} |",
        f"| reported rating minus the head's, mean absolute | {r['mean_abs_change']:.3f} |",
        f"| same, largest | {r['max_abs_change']:.3f} |",
        f"| NDCG@10, ranker's order (what is served) | {r['ndcg_ranker_order']:.4f} |",
        f"| NDCG@10, the same top-10 re-ordered by the head (the alternative) | {r['ndcg_head_order']:.4f} |",
        "",
    ])
