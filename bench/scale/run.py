"""Scale benchmark: 1,000,000 items x d=64 through EdgeRec's core (exact vs IVF index, int8
item factors) and faiss-cpu's IndexIVFFlat / IndexHNSWFlat on the same vectors, one thread.

Run from the repository root (needs `pip install faiss-cpu numpy`; writes nothing to git):

    python bench/scale/run.py [--items 1000000] [--dim 64] [--out target/scale]

It prints one JSON object: artifact sizes (with and without users), EdgeRec's recall@10 and
top-10 p50/p99 at the smallest nprobe reaching recall@10 >= 0.95, and faiss's at the smallest
nprobe / efSearch reaching the same recall. The vectors are synthetic (1,000 clusters), so
compare the systems with each other, not with trained-model figures.
"""

import argparse
import json
import os
import subprocess
import time

import numpy as np


def sh(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def percentiles(ms):
    ms = np.sort(np.asarray(ms))
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def edgerec(args, model):
    trainer = "target/release/trainer"
    rows = []
    for nprobe in [1, 2, 4, 8, 16, 32, 64, 128, 256]:
        if nprobe > args.lists:
            break
        out = sh(trainer, "evaluate-index", "--model", model, "--queries", str(args.queries),
                 "--nprobe", str(nprobe), "--json")
        r = json.loads(out)
        rows.append(r)
        if r["recall_at_10"] >= 0.95:
            break
    return rows


def faiss_bench(args, items, users, truth):
    import faiss

    faiss.omp_set_num_threads(1)
    out = {}
    d = items.shape[1]

    def run(index, setter, values):
        res = []
        for v in values:
            setter(v)
            times, hits = [], 0
            for q in range(len(users)):
                t = time.perf_counter()
                _, ids = index.search(users[q : q + 1], 10)
                times.append((time.perf_counter() - t) * 1e3)
                hits += len(set(ids[0].tolist()) & truth[q])
            row = {"param": v, "recall_at_10": hits / (10 * len(users)), **percentiles(times)}
            res.append(row)
            if row["recall_at_10"] >= 0.95:
                break
        return res

    flat = faiss.IndexFlatIP(d)
    flat.add(items)
    t = time.perf_counter()
    times = []
    for q in range(len(users)):
        t = time.perf_counter()
        flat.search(users[q : q + 1], 10)
        times.append((time.perf_counter() - t) * 1e3)
    out["IndexFlatIP"] = percentiles(times)

    quant = faiss.IndexFlatIP(d)
    ivf = faiss.IndexIVFFlat(quant, d, args.lists, faiss.METRIC_INNER_PRODUCT)
    t = time.perf_counter()
    ivf.train(items)
    ivf.add(items)
    out["IndexIVFFlat_build_seconds"] = time.perf_counter() - t
    out["IndexIVFFlat"] = run(ivf, lambda v: setattr(ivf, "nprobe", v), [1, 2, 4, 8, 16, 32, 64, 128, 256])

    hnsw = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
    t = time.perf_counter()
    hnsw.add(items)
    out["IndexHNSWFlat_build_seconds"] = time.perf_counter() - t
    out["IndexHNSWFlat"] = run(hnsw, lambda v: setattr(hnsw.hnsw, "efSearch", v), [16, 32, 64, 128, 256, 512])
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--items", type=int, default=1_000_000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--lists", type=int, default=1000)
    p.add_argument("--quantize", default="int8")
    p.add_argument("--out", default="target/scale")
    p.add_argument("--skip-faiss", action="store_true")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    sh("cargo", "build", "--release", "-p", "edgerec-core", "--example", "scale_fixture")
    sh("cargo", "build", "--release", "-p", "edgerec-trainer")
    model = os.path.join(args.out, f"scale-{args.items}-{args.quantize}.safetensors")
    fixture = json.loads(sh("target/release/examples/scale_fixture", model, str(args.items), str(args.dim),
                            str(args.users), str(args.lists), args.quantize, args.out))
    report = {"fixture": fixture, "edgerec": edgerec(args, model)}
    if not args.skip_faiss:
        items = np.fromfile(os.path.join(args.out, "items.f32"), dtype=np.float32).reshape(-1, args.dim)
        users = np.fromfile(os.path.join(args.out, "users.f32"), dtype=np.float32).reshape(-1, args.dim)
        # evaluate-index queries users spread over the model; with --users == --queries that is
        # every user once. Exact truth on the same (f32) vectors, by brute force.
        users = users[: args.queries]
        truth = [set(np.argsort(-(items @ u))[:10].tolist()) for u in users]
        report["faiss"] = faiss_bench(args, items, users, truth)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
