"""Scale benchmark: a 1,000,000-item catalogue at d = 64 through EdgeRec (native and wasm in
Node) and faiss-cpu's IndexIVFFlat and IndexHNSWFlat, on the same vectors and queries, one
query thread, in one run. Writes docs/bench/scale.md (included in docs/BENCHMARKS.md by
bench/run.py) and target/scale/results.json.

    python bench/scale/run.py            # run through scripts/bench.sh (it prepares the venv)

Steps:
1. `scale_fixture` writes a generated model: items and users drawn around 1,000 centres (trained
   factors cluster; uniform noise would not), int8 item factors, an IVF index (k-means, one list
   per ~1,000 items). The users' factor rows are the queries.
2. `trainer export-users` moves the users to a KV file: the artifact without users is what a
   Worker loads, so its size is the size figure.
3. `trainer evaluate-index --json` for nprobe 1, 2, 3, 4, 6, 8, … until recall@10 >= 0.95 against
   exact search through the same core: EdgeRec's figure is the first nprobe that reaches it.
4. The wasm build (web/pkg) in Node answers the same users' top-10 with that nprobe, and the
   same Rust API natively (`wasm/examples/bench_native.rs --per-call`), call by call: in runs
   of their own, alternating, and then taking turns call by call (`lockstep.py`).
5. faiss on the same (dequantised int8) vectors, with the same exact top-10 as truth:
   IndexIVFFlat (inner product, the same number of lists) over nprobe, IndexHNSWFlat (M = 32)
   over efSearch; each reports its fastest setting reaching recall@10 >= 0.95. Then faiss's IVF
   at that setting and the core's index search take turns query by query (`lockstep.py`).

BENCH_QUICK=1 shrinks the catalogue to 200,000 items (and the lists to 450) and the queries
to 300; everything else is the same.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np

import lockstep

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.path.join(TARGET, "release")
WORK = os.path.join(ROOT, "target", "scale")
QUICK = os.environ.get("BENCH_QUICK") == "1"
ITEMS = 200_000 if QUICK else 1_000_000
LISTS = 450 if QUICK else 1000
QUERIES = 300 if QUICK else 1000
DIM = 64
TARGET_RECALL = 0.95


def sh(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, **kw).stdout


def percentiles(ms):
    ms = np.sort(np.asarray(ms))
    at = lambda q: float(ms[max(int(np.ceil(len(ms) * q)) - 1, 0)])
    return {"p50_ms": at(0.5), "p99_ms": at(0.99)}


def load_artifact(path):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    return load_file(path), safe_open(path, "numpy").metadata()


def edgerec_native(model):
    rows = []
    for nprobe in [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128]:
        if nprobe > LISTS:
            break
        r = json.loads(sh([os.path.join(BIN, "trainer"), "evaluate-index", "--model", model, "--queries",
                           str(QUERIES), "--nprobe", str(nprobe), "--json"]))
        rows.append(r)
        if r["recall_at_10"] >= TARGET_RECALL:
            break
    return rows


def with_nprobe(model, nprobe, out):
    """The same artifact with `index_nprobe` set, for the wasm build (which searches with the
    artifact's own setting)."""
    from safetensors.numpy import save_file

    tensors, meta = load_artifact(model)
    meta["index_nprobe"] = str(nprobe)
    save_file(tensors, out, metadata=meta)


WHOLE_CALL_RUNS = 9


def edgerec_wasm(model):
    """The whole `recommend` call in wasm (Node), and natively through the same Rust API
    (`edgerec_wasm::Recommender::recommend_request`, the function the JS binding calls), so
    that the ratio compares like with like. The two alternate, WHOLE_CALL_RUNS runs each, so
    that both see the same machine; each side reports its run with the median p50 (and that
    run's p99), `runs_p50_ms` keeps every run's p50, and `pair_ratios` each wasm run's p50 over
    the native run right after it (the machine's speed drifts between runs; a pair shares it)."""
    wasm, native = [], []
    for _ in range(WHOLE_CALL_RUNS):
        wasm.append(json.loads(sh(["node", "bench/scale/wasm.mjs", model, str(QUERIES)])))
        native.append(json.loads(sh([os.path.join(BIN, "examples", "bench_native"), model, str(QUERIES), "--per-call"])))

    def median_run(runs):
        runs = sorted(runs, key=lambda r: r["p50_ms"])
        return dict(runs[len(runs) // 2], runs_p50_ms=[r["p50_ms"] for r in runs])

    out = median_run(wasm)
    out["native_whole"] = median_run(native)
    out["pair_ratios"] = [w["p50_ms"] / n["p50_ms"] for w, n in zip(wasm, native)]
    return out


def faiss_bench(items, queries, truth, core):
    """faiss's sweeps, and (`core`: EdgeRec's model and nprobe) its first IVF setting reaching
    the target recall against the core's index search, taking turns (`lockstep.core_faiss`)."""
    import faiss

    faiss.omp_set_num_threads(1)
    out = {}

    def sweep(index, setter, values):
        rows = []
        for v in values:
            setter(v)
            times, hits = [], 0
            for q in range(len(queries)):
                t = time.perf_counter()
                _, ids = index.search(queries[q : q + 1], 10)
                times.append((time.perf_counter() - t) * 1e3)
                hits += len(set(ids[0].tolist()) & truth[q])
            rows.append({"param": v, "recall_at_10": hits / (10 * len(queries)), **percentiles(times)})
            if rows[-1]["recall_at_10"] >= TARGET_RECALL:
                break
        return rows

    quant = faiss.IndexFlatIP(DIM)
    ivf = faiss.IndexIVFFlat(quant, DIM, LISTS, faiss.METRIC_INNER_PRODUCT)
    t = time.perf_counter()
    ivf.train(items)
    ivf.add(items)
    out["ivf_build_s"] = time.perf_counter() - t
    out["IndexIVFFlat"] = sweep(ivf, lambda v: setattr(ivf, "nprobe", v), [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64])
    pick = first_reaching(out["IndexIVFFlat"])
    if pick:
        ivf.nprobe = pick["param"]

        def search(q):
            t = time.perf_counter()
            ivf.search(queries[q : q + 1], 10)
            return (time.perf_counter() - t) * 1e3

        out["lockstep"] = lockstep.core_faiss(ROOT, os.path.join(BIN, "examples", "bench_search"), core[0], core[1],
                                              search, len(queries))
        out["lockstep"]["faiss_nprobe"] = pick["param"]
    del ivf

    # The graph is built on both cores (a 1M-item HNSW build on one takes far longer than the
    # budget); the queries run on one thread like every other figure.
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    hnsw = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
    t = time.perf_counter()
    hnsw.add(items)
    out["hnsw_build_s"] = time.perf_counter() - t
    faiss.omp_set_num_threads(1)
    out["IndexHNSWFlat"] = sweep(hnsw, lambda v: setattr(hnsw.hnsw, "efSearch", v), [16, 24, 32, 48, 64, 96, 128, 256])
    return out


def exact_top10(items, queries):
    """Exact top-10 by inner product; ties to the lower index, as the core breaks them."""
    truth = []
    for q in queries:
        s = items @ q
        top = np.argpartition(-s, 10)[:10]
        truth.append(set(sorted(top.tolist(), key=lambda i: (-s[i], i))))
    return truth


def first_reaching(rows, key="recall_at_10"):
    return next((r for r in rows if r[key] >= TARGET_RECALL), None)


def markdown(res):
    f, n = res["fixture"], res["native"]
    best = first_reaching(n)
    w = res["wasm"]
    lines = [
        f"Regenerated by `bench/scale/run.py` (from `scripts/bench.sh`) on {res['date']}; load average "
        f"{res['load_before']} before, {res['load_after']} after. {f['items']:,} items, d = {f['dim']}, int8 item factors, "
        f"an IVF index of {f['lists']:,} lists (greedy k-means++ seeding, 20 Lloyd steps on 64 points per list; "
        f"{f['index_build_seconds']:.0f} s to build). Queries: the factor rows of {res['queries']:,} users of the same "
        "generated model (items and users are drawn around the same 1,000 centres), top 10. Recall@10 is against exact "
        "search over the same int8 vectors; every system gets those vectors (dequantised) and that truth. One query "
        "thread everywhere (faiss `omp_set_num_threads(1)`; faiss's HNSW graph is built on all cores).",
        "",
        "| figure | value |",
        "| --- | ---: |",
        f"| artifact with {f['users']:,} users | {f['artifact_bytes'] / 1e6:.1f} MB |",
        f"| artifact without users (`trainer export-users`), what a Worker loads | **{res['artifact_without_users'] / 1e6:.1f} MB** |",
        f"| exact int8 search against exact f32 search, recall@10 | {res['int8_recall_vs_f32']:.4f} |",
        "",
        "| system | setting | recall@10 | top-10 p50 | top-10 p99 |",
        "| --- | --- | ---: | ---: | ---: |",
        f"| EdgeRec exact search (native) | all {f['items']:,} items | 1.0000 | {n[0]['exact']['p50_ms']:.3f} ms | {n[0]['exact']['p99_ms']:.3f} ms |",
    ]
    for r in n:
        mark = "**" if r is best else ""
        lines.append(f"| EdgeRec IVF (native, `evaluate-index`) | nprobe {r['nprobe']} | {mark}{r['recall_at_10']:.4f}{mark} | "
                     f"{mark}{r['index']['p50_ms']:.3f} ms{mark} | {r['index']['p99_ms']:.3f} ms |")
    if w:
        nw = w["native_whole"]
        lines.append(f"| EdgeRec IVF (native, whole `recommend` call) | nprobe {w['nprobe']} | (same core) | "
                     f"**{nw['p50_ms']:.3f} ms** | {nw['p99_ms']:.3f} ms |")
        lines.append(f"| EdgeRec IVF (wasm in Node, whole `recommend` call) | nprobe {w['nprobe']} | (same core) | "
                     f"**{w['p50_ms']:.3f} ms** | {w['p99_ms']:.3f} ms |")
    for name, key, label in [("faiss IndexIVFFlat", "IndexIVFFlat", "nprobe"), ("faiss IndexHNSWFlat (M 32)", "IndexHNSWFlat", "efSearch")]:
        rows = res["faiss"][key]
        pick = first_reaching(rows)
        for r in rows:
            mark = "**" if r is pick else ""
            lines.append(f"| {name} | {label} {r['param']} | {mark}{r['recall_at_10']:.4f}{mark} | {mark}{r['p50_ms']:.3f} ms{mark} | {r['p99_ms']:.3f} ms |")
    lines.append("")
    ivf = first_reaching(res["faiss"]["IndexIVFFlat"])
    verdict = []
    if best:
        verdict.append(f"EdgeRec's first setting at recall@10 >= {TARGET_RECALL}: nprobe {best['nprobe']}, "
                       f"p50 {best['index']['p50_ms']:.3f} ms (target <= 1.0 ms)")
        if w:
            pairs = sorted(w["pair_ratios"])
            fastest = min(w["runs_p50_ms"]) / min(w["native_whole"]["runs_p50_ms"])
            verdict.append(f"wasm/native p50 of the whole `recommend` call {w['p50_ms'] / w['native_whole']['p50_ms']:.2f}x "
                           f"(target <= 1.5x; pair by pair {', '.join(f'{r:.2f}' for r in w['pair_ratios'])}, "
                           f"median {pairs[len(pairs) // 2]:.2f}x; fastest run against fastest run {fastest:.2f}x; "
                           f"{w['p50_ms'] / best['index']['p50_ms']:.2f}x the native core search alone)")
            ls = w["lockstep"]
            ratios = ", ".join(f"{r['ratio']:.2f}" for r in sorted(ls["runs"], key=lambda r: r["ratio"]))
            p50s = ", ".join(f"{r['wasm_p50_ms']:.3f}/{r['native_p50_ms']:.3f}" for r in ls["runs"])
            verdict.append(f"taking turns call by call on one core (`bench/scale/lockstep.py`, {len(ls['runs'])} runs): "
                           f"wasm/native **{ls['median_ratio']:.2f}x** (median run; runs {ratios}; p50 wasm/native {p50s} ms)")
        if ivf:
            verdict.append(f"against faiss IVFFlat at nprobe {ivf['param']}: {best['index']['p50_ms'] / ivf['p50_ms']:.2f}x its p50 "
                           "(target <= 1x)")
        fl = res["faiss"].get("lockstep")
        if fl:
            ratios = ", ".join(f"{r['ratio']:.2f}" for r in sorted(fl["runs"], key=lambda r: r["ratio"]))
            p50s = ", ".join(f"{r['core_p50_ms']:.3f}/{r['faiss_p50_ms']:.3f}" for r in fl["runs"])
            verdict.append(f"taking turns with faiss IVFFlat at nprobe {fl['faiss_nprobe']} (the core's search at nprobe "
                           f"{best['nprobe']}, `core/examples/bench_search.rs`; faiss's `index.search` of one query from "
                           f"Python, as in its rows; {len(fl['runs'])} runs): **{fl['median_ratio']:.2f}x** its p50 (median run; "
                           f"runs {ratios}; p50 EdgeRec/faiss {p50s} ms)")
    runs_note = ""
    if w:
        runs = lambda r: ", ".join(f"{x:.3f}" for x in r["runs_p50_ms"])
        runs_note = (f"; the two alternate, {WHOLE_CALL_RUNS} runs each, and each row is the run with the median p50 "
                     f"(every run's p50, wasm: {runs(w)} ms; native: {runs(w['native_whole'])} ms)")
    lines.append("Bold: each system's first setting reaching recall@10 >= 0.95. " + "; ".join(verdict) + ". "
                 f"faiss builds: IVF {res['faiss']['ivf_build_s']:.0f} s (one thread), HNSW {res['faiss']['hnsw_build_s']:.0f} s. "
                 "The `evaluate-index` figures time the core search, `Model::recommend_index` by user index (seen items "
                 "excluded), the one to set against faiss's `index.search` of one query; the whole-call figures time "
                 "`recommend` by user ID with the answer's item IDs: natively through `edgerec_wasm::Recommender::recommend_request` "
                 "(`wasm/examples/bench_native.rs --per-call`), and in wasm through `Recommender.recommend` from JavaScript "
                 "(`bench/scale/wasm.mjs`, the JS answer object included)" + runs_note + ".")
    return "\n".join(lines) + "\n"


def main():
    os.makedirs(WORK, exist_ok=True)
    load_before = " ".join(open("/proc/loadavg").read().split()[:3])
    sh(["cargo", "build", "--release", "--locked", "-p", "edgerec-core", "--example", "scale_fixture", "--example",
        "bench_search"])
    sh(["cargo", "build", "--release", "--locked", "-p", "edgerec-trainer", "--bin", "trainer"])
    sh(["cargo", "build", "--release", "--locked", "-p", "edgerec-wasm", "--example", "bench_native"])
    model = os.path.join(WORK, f"scale-{ITEMS}.safetensors")
    fixture = json.loads(sh([os.path.join(BIN, "examples", "scale_fixture"), model, str(ITEMS), str(DIM),
                             str(QUERIES), str(LISTS), "int8", WORK]))
    outside = os.path.join(WORK, "items-only.safetensors")
    sh([os.path.join(BIN, "trainer"), "export-users", "--model", model, "--artifact-out", outside,
        "--kv-out", os.path.join(WORK, "users.kv.json")])
    native = edgerec_native(model)
    best = first_reaching(native) or native[-1]

    tensors, _ = load_artifact(model)
    items = (tensors["item_factors"].astype(np.float32) * tensors["item_factors.scales"][:, None]).astype(np.float32)
    # evaluate-index queries every user once (users == queries), in index order: the same rows.
    queries = np.ascontiguousarray(tensors["user_factors"][:QUERIES])
    del tensors
    truth = exact_top10(items, queries)
    f32 = np.fromfile(os.path.join(WORK, "items.f32"), dtype=np.float32).reshape(-1, DIM)
    truth_f32 = exact_top10(f32, queries)
    del f32
    int8_recall = float(np.mean([len(a & b) / 10 for a, b in zip(truth, truth_f32)]))

    wasm = None
    if os.environ.get("BENCH_SCALE_WASM", "1") == "1":
        tuned = os.path.join(WORK, f"scale-nprobe{best['nprobe']}.safetensors")
        with_nprobe(model, best["nprobe"], tuned)
        wasm = edgerec_wasm(tuned)
        wasm["nprobe"] = best["nprobe"]
        wasm["lockstep"] = lockstep.wasm_native(ROOT, os.path.join(BIN, "examples", "bench_native"), tuned, QUERIES)
    res = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": load_before,
        "queries": QUERIES,
        "fixture": fixture,
        "artifact_without_users": os.path.getsize(outside),
        "int8_recall_vs_f32": int8_recall,
        "native": native,
        "wasm": wasm,
        "faiss": faiss_bench(items, queries, truth, (model, best["nprobe"])),
    }
    res["load_after"] = " ".join(open("/proc/loadavg").read().split()[:3])
    json.dump(res, open(os.path.join(WORK, "results.json"), "w"), indent=1)
    os.makedirs(os.path.join(ROOT, "docs", "bench"), exist_ok=True)
    with open(os.path.join(ROOT, "docs", "bench", "scale.md"), "w") as f:
        f.write("# Scale: a million items\n\n" + markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
