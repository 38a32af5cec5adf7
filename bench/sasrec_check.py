"""Checks that bench/sasrec_torch.py is the same network and protocol as EdgeRec's sequence
model: loads a `trainer train --objective sequence` artifact's weights into the PyTorch network,
recomputes every user's state from the history the artifact stores, and compares them with the
artifact's user factors; then scores those weights with the peer's split and metric on the data
the artifact was trained from (for comparison with the metrics `trainer train` reported).

Usage: python bench/sasrec_check.py MODEL.safetensors DATA   (prints one JSON object)
"""

import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sasrec_torch import SASRec, evaluate, histories, leave_last_out, read_rows, states  # noqa: E402
import torch  # noqa: E402  (after sasrec_torch, which sets OpenMP's wait policy)

DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "U64": np.uint64, "I32": np.int32,
          "U32": np.uint32, "U8": np.uint8}


def load(path):
    """A safetensors file's tensors (numpy) and its metadata."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    meta = head.pop("__metadata__", {})
    return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                             dtype=DTYPES[v["dtype"]]).reshape(v["shape"]) for k, v in head.items()}, meta


def main():
    t, meta = load(sys.argv[1])
    items, d = t["item_factors"].shape
    max_len, blocks = int(meta["seq_max_len"]), int(meta["seq_blocks"])
    model = SASRec(items, d, max_len, blocks, 0.0)
    f32 = lambda name: torch.tensor(np.array(t[name], dtype=np.float32))  # noqa: E731
    with torch.no_grad():
        model.items.weight[1:] = f32("item_factors")
        model.pos[:] = f32("seq.positions").reshape(max_len, d)
        model.ln_f.weight[:], model.ln_f.bias[:] = f32("seq.final_g"), f32("seq.final_b")
        for b, blk in enumerate(model.blocks):
            p = f"seq.block{b}."
            blk.ln1.weight[:], blk.ln1.bias[:] = f32(p + "ln1_g"), f32(p + "ln1_b")
            blk.ln2.weight[:], blk.ln2.bias[:] = f32(p + "ln2_g"), f32(p + "ln2_b")
            for name in ["q", "k", "v", "o", "ff1", "ff2"]:
                lin = getattr(blk, name)  # EdgeRec stores W as (in × out), torch as (out × in)
                lin.weight[:], lin.bias[:] = f32(p + name + "_w").reshape(d, d).T, f32(p + name + "_b")
    ptr, idx = t["seq.history.indptr"].astype(np.int64), t["seq.history.indices"].astype(np.int64)
    hists = [idx[ptr[u]:ptr[u + 1]].tolist() for u in range(len(ptr) - 1)]
    users = [u for u, h in enumerate(hists) if h]
    diff = float(np.abs(states(model, [hists[u] for u in users], max_len).numpy() - t["user_factors"][users]).max())

    # The peer's protocol on EdgeRec's weights: its item order is by ID, EdgeRec's by first sight.
    ids = t["item_ids.bytes"].tobytes()
    off = t["item_ids.offsets"]
    edgerec_ids = [int(ids[off[k]:off[k + 1]].decode()) for k in range(items)]
    rows = read_rows(sys.argv[2])
    train, test = leave_last_out(rows)
    uix = {u: k for k, u in enumerate(sorted({r[0] for r in rows}))}
    iix = {i: k for k, i in enumerate(sorted({r[1] for r in rows}))}
    order = np.empty(items, dtype=np.int64)
    for k, i in enumerate(edgerec_ids):
        order[iix[i]] = k
    with torch.no_grad():
        model.items.weight[1:] = f32("item_factors")[order]
    res = evaluate(model, histories(train, uix, iix), {uix[u]: iix[i] for u, i, _, _ in test}, max_len)
    print(json.dumps({"users": len(users), "max_state_diff": diff, "max_state": float(np.abs(t["user_factors"]).max()),
                      "hr": float(res["hr"]), "ndcg": float(res["ndcg"])}))


if __name__ == "__main__":
    main()
