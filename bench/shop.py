"""Training at shop scale, against implicit on the same matrix, machine and cores.

1. One iALS fit, timed alone (`trainer/examples/als_fit.rs`, which builds the triples exactly as
   `trainer train` does), against implicit 0.7's `AlternatingLeastSquares.fit()` on the same
   confidences, same factors, iterations, regularisation and CG steps: on every core and on one.
   Data: `trainer generate --users 50000 --items 1000000 --interactions 8000000` (the shop set)
   and MovieLens-1M (5-core, as the sequence benchmark uses it).
2. The default `trainer train` on the shop set (`--objective ranking --quantize int8 --index
   auto`), whole command, with its peak RSS, then `trainer export-users`: the artifact without
   its users, in bytes per item.

Writes docs/bench/shop.md and target/bench/shop.json. Run by scripts/bench.sh, or alone:
`target/bench-venv/bin/python bench/shop.py` after `cargo build --release -p edgerec-trainer
--bin trainer --example als_fit`. SHOP_SCALE=0.1 shrinks the shop set for a quick look.
"""

import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import run  # noqa: E402  (sh, timed, machine)

WORK = os.path.join(ROOT, "target", "bench", "shop")
TRAINER = run.TRAINER
ALS_FIT = os.path.join(os.path.dirname(run.TRAINER), "examples", "als_fit")
SCALE = float(os.environ.get("SHOP_SCALE", "1"))
CORES = os.cpu_count()

IMPLICIT = r"""
import json, sys, time
import numpy as np, scipy.sparse as sp
from threadpoolctl import threadpool_limits
from implicit.cpu.als import AlternatingLeastSquares
path, users, items, threads, dim, iters, reg = sys.argv[1:8]
t = np.fromfile(path, dtype=[("u", "<u4"), ("i", "<u4"), ("c", "<f4")])
m = sp.csr_matrix((t["c"], (t["u"], t["i"])), shape=(int(users), int(items)))
with threadpool_limits(1, "blas"):
    model = AlternatingLeastSquares(factors=int(dim), iterations=int(iters), regularization=float(reg),
                                    alpha=1.0, random_state=0, num_threads=int(threads),
                                    calculate_training_loss=False)
    start = time.perf_counter()
    model.fit(m, show_progress=False)
    print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def implicit_fit(triples, fit, threads):
    """implicit's fit on the triples als_fit wrote (confidence 1 + α·w; implicit's own α is 1),
    in a child whose BLAS is held to one thread, as implicit asks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_")}
    p = fit["params"]
    out = run.sh([sys.executable, "-c", IMPLICIT, triples, str(fit["users"]), str(fit["items"]), str(threads),
                  str(p["dim"]), str(p["iterations"]), str(p["reg"])], env=env)
    return json.loads(out.stdout)["seconds"]


def edgerec_fit(data, threads, extra=(), triples=None):
    cmd = [ALS_FIT, "--data", data, "--objective", "ranking", *extra]
    if triples:
        cmd += ["--triples", triples]
    return json.loads(run.sh(cmd, env={**os.environ, "RAYON_NUM_THREADS": str(threads)}).stdout)


def one_fit(name, data, runs, extra=()):
    """EdgeRec's and implicit's fit on every core and on one, taking turns; the best of `runs`
    each on every core, one run each on one core."""
    triples = os.path.join(WORK, f"{name}.triples")
    first = edgerec_fit(data, CORES, extra, triples)
    rows = {"nonzeros": first["nonzeros"], "users": first["users"], "items": first["items"],
            "params": first["params"]}
    for threads in sorted({CORES, 1}, reverse=True):
        n = runs if threads == CORES else 1
        ours, theirs = [first["seconds"]] if threads == CORES else [], []
        for k in range(n):
            theirs.append(implicit_fit(triples, first, threads))
            if k or threads != CORES:
                ours.append(edgerec_fit(data, threads, extra)["seconds"])
        rows[f"threads_{threads}"] = {"edgerec": min(ours), "implicit": min(theirs),
                                      "edgerec_runs": ours, "implicit_runs": theirs}
    os.remove(triples)
    return rows


def default_command(data):
    model = os.path.join(WORK, "shop.safetensors")
    out, seconds, rss = run.timed([TRAINER, "train", "--data", data, "--objective", "ranking", "--quantize", "int8",
                                   "--index", "auto", "--out", model, "--json", "--quiet"])
    report = json.loads(out)
    bare, kv = os.path.join(WORK, "shop-items.safetensors"), os.path.join(WORK, "shop-users.json")
    run.sh([TRAINER, "export-users", "--model", model, "--artifact-out", bare, "--kv-out", kv])
    items = report["items"]
    size = os.path.getsize(bare)
    return {"seconds": seconds, "peak_rss_mib": rss, "artifact_bytes": size, "items": items,
            "bytes_per_item": size / items,
            "hr": report["metrics"]["hr"], "ndcg": report["metrics"]["ndcg"],
            "baselines": {k: {"hr": v["hr"], "ndcg": v["ndcg"]} for k, v in report["baselines"].items()}}


def main():
    os.makedirs(WORK, exist_ok=True)
    started = time.time()
    meta = run.machine()
    users, items, rows = int(50_000 * SCALE), int(1_000_000 * SCALE), int(8_000_000 * SCALE)
    shop = os.path.join(WORK, f"shop-{rows}.csv")
    if not os.path.exists(shop):
        run.sh([TRAINER, "generate", "--users", str(users), "--items", str(items), "--interactions", str(rows),
                "--out", shop])
    ml1m = run.sh([sys.executable, "bench/movielens.py", "--ml-1m", "target/movielens-1m"]).stdout.strip()
    res = {"machine": meta, "shop": {"users": users, "items": items, "rows": rows}}
    res["fit_shop"] = one_fit("shop", shop, 2)
    res["fit_ml1m"] = one_fit("ml1m", ml1m, 3)
    res["default_shop"] = default_command(shop)
    res["seconds"] = time.time() - started
    os.makedirs(os.path.join(ROOT, "target", "bench"), exist_ok=True)
    with open(os.path.join(ROOT, "target", "bench", "shop.json"), "w") as f:
        json.dump(res, f, indent=1)
    write(res)


def write(res):
    m, s = res["machine"], res["shop"]
    lines = [
        "# Training at shop scale\n",
        f"{m['date']}; {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; load before {m['load_before']}; "
        f"{m['rustc']}. Written by `bench/shop.py` (run by `scripts/bench.sh`).\n",
        f"Shop set: `trainer generate --users {s['users']} --items {s['items']} --interactions {s['rows']}`. "
        "One iALS fit: `trainer/examples/als_fit.rs` times `train::als::fit` alone on the triples `trainer train` "
        "builds; implicit 0.7.3 `AlternatingLeastSquares.fit()` gets the same confidences (1 + α·w, its own α 1), "
        "factors, iterations, regularisation and 3 CG steps, with its BLAS held to one thread. The two take "
        "turns; on every core the best of 2 runs (shop set) or 3 (MovieLens-1M), on one core one run each.\n",
        "| data | nonzeros | threads | EdgeRec fit | implicit fit | EdgeRec / implicit |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, name in [("fit_shop", "shop set"), ("fit_ml1m", "MovieLens-1M")]:
        r = res[key]
        for t in sorted((k for k in r if k.startswith("threads_")), key=lambda k: -int(k.split("_")[1])):
            x = r[t]
            lines.append(f"| {name} | {r['nonzeros']:,} | {t.split('_')[1]} | {x['edgerec']:.2f} s | "
                         f"{x['implicit']:.2f} s | **{x['edgerec'] / x['implicit']:.2f}×** |")
    d = res["default_shop"]
    best = res["fit_shop"][f"threads_{res['machine']['cores']}"]["implicit"]
    lines += [
        "",
        "The default command on the shop set, whole (load, inner split and recency tuning, evaluation table "
        "with baselines, refit, int8, IVF index, export): "
        "`trainer train --data shop.csv --objective ranking --quantize int8 --index auto --out shop.safetensors`, "
        "then `trainer export-users` for the artifact without its users.\n",
        "| what | figure |",
        "| --- | ---: |",
        f"| wall time | {d['seconds']:.1f} s (**{d['seconds'] / best:.2f}×** implicit's fit on every core) |",
        f"| peak RSS (`/usr/bin/time -v`) | {d['peak_rss_mib']:,.0f} MiB |",
        f"| artifact without users | {d['artifact_bytes']:,} bytes, "
        f"**{d['bytes_per_item']:.1f} bytes per item** ({d['items']:,} items) |",
        f"| held-out HR@10 / NDCG@10 | {d['hr']:.4f} / {d['ndcg']:.4f} |",
    ]
    for k, v in sorted(d["baselines"].items()):
        lines.append(f"| baseline {k.replace('_', ' ')} | {v['hr']:.4f} / {v['ndcg']:.4f} |")
    lines.append(f"\nWhole script: {res['seconds'] / 60:.1f} min.\n")
    with open(os.path.join(ROOT, "docs", "bench", "shop.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
