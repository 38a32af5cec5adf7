"""Python interop check: an artifact written by edgerec-core opens with `safetensors.numpy`
and its plain arrays equal what the core itself reads (version 5's compact item tables too); a
numpy reference forward pass of the version-4 sequence network agrees with the core's.

Run from the repository root: `.venv/bin/python tests/python/interop.py`.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


_examples = None


def cargo_example(name, *args):
    """Runs one of the core's examples, from the suite's debug build (tests/bins.sh): the same
    invocation as the test stage, so after it nothing is compiled again."""
    global _examples
    if _examples is None:
        subprocess.run(["cargo", "test", "--workspace", "--locked", "--no-run", "--quiet"], check=True)
        target = os.environ.get("CARGO_TARGET_DIR", "target")
        _examples = os.path.join(target, "debug", "examples")
    return subprocess.run([os.path.join(_examples, name), *args], check=True, capture_output=True, text=True).stdout


def strings(tensors, name):
    data, offsets = tensors[f"{name}.bytes"], tensors[f"{name}.offsets"]
    return [bytes(data[offsets[i] : offsets[i + 1]]).decode("utf-8") for i in range(len(offsets) - 1)]


def item_factors(t):
    """The item factors as f32, dequantised as docs/ARTIFACT.md says: int8 rows times their
    scale (stored as f16 and widened to f32 first), f16 widened."""
    q = t["item_factors"]
    if q.dtype == np.int8:
        assert t["item_factors.scales"].dtype == np.float16
        assert -127 <= int(q.min()) and int(q.max()) <= 127
        return q.astype(np.float32) * t["item_factors.scales"].astype(np.float32)[:, None]
    assert "item_factors.scales" not in t
    return q.astype(np.float32)


def check_v3_index(tmp):
    """A version-3 artifact (an index: items numbered list by list): `item_ids.order` reads the
    IDs in sorted order, and the lists are runs of items whose mean is the list's centroid."""
    path = os.path.join(tmp, "v3.safetensors")
    cargo_example("scale_fixture", path, "3000", "8", "5", "12", "int8")
    t = load_file(path)
    meta = safe_open(path, "numpy").metadata()
    assert meta["format_version"] == "3" and meta["index_kind"] == "ivf", meta
    assert "index.list_items" not in t
    ids = strings(t, "item_ids")
    order = t["item_ids.order"]
    assert sorted(order.tolist()) == list(range(len(ids)))
    assert [ids[i] for i in order] == sorted(ids)
    offsets = t["index.list_offsets"]
    assert offsets[0] == 0 and offsets[-1] == len(ids) and np.all(np.diff(offsets.astype(np.int64)) >= 0)
    # Each centroid is the mean of its list's items (built from the f32 factors, so the mean of
    # the dequantised int8 rows is within the quantisation error).
    v = item_factors(t)
    for k in range(len(offsets) - 1):
        if offsets[k + 1] > offsets[k]:
            mean = v[offsets[k] : offsets[k + 1]].mean(axis=0)
            np.testing.assert_allclose(mean, t["index.centroids"][k], atol=0.01)


def check_compact(tmp, quantization, dtype):
    """A compact artifact: numpy's dequantised factors equal the core's, bit for bit, and are
    close to the f32 fixture's."""
    path = os.path.join(tmp, f"{quantization}.safetensors")
    cargo_example("fixture", path, "7", "11", "4", "3", quantization)
    core = json.loads(cargo_example("dump_json", path))
    t = load_file(path)
    assert t["item_factors"].dtype == dtype and t["item_factors"].shape == (11, 4)
    assert core["info"]["item_factors"] == quantization
    got = item_factors(t)
    np.testing.assert_array_equal(got, np.array(core["item_factors"], dtype=np.float32))
    plain = load_file(os.path.join(tmp, "tiny.safetensors"))["item_factors"]
    # int8: half a quantisation step, the step being max / 127 rounded up to an f16 scale.
    step = np.abs(plain).max(axis=1, keepdims=True) / 127 * (1 + 2**-10)
    tol = step / 2 + 1e-7 if dtype == np.int8 else np.abs(plain) / 2048 + 1e-7
    assert (np.abs(got - plain) <= tol).all(), np.abs(got - plain).max()
    # Beside compact factors the item biases are f16 as well.
    assert t["item_bias"].dtype == np.float16
    item_bias = t["item_bias"].astype(np.float32)
    scores = t["global_bias"][0] + t["user_bias"][:, None] + item_bias[None, :] + t["user_factors"] @ got.T
    np.testing.assert_allclose(scores, np.array(core["scores"], dtype=np.float32), rtol=1e-5, atol=1e-5)


def check_v5_compact_tables(tmp):
    """A version-5 artifact (compact item tables: U8 categories, no all-zero item biases), read
    as docs/ARTIFACT.md says, gives the core's categories, factors and scores."""
    seeds = os.path.join(tmp, "seeds")
    cargo_example("fuzz_seeds", seeds)
    path = os.path.join(seeds, "v5_int8_index_compact_tables.safetensors")
    core = json.loads(cargo_example("dump_json", path))
    t = load_file(path)
    meta = safe_open(path, "numpy").metadata()
    assert meta["format_version"] == "5" and meta["model_kind"] == "ranking", meta
    assert t["item_category"].dtype == np.uint8 and "item_bias" not in t
    item_bias = (
        t["item_bias"].astype(np.float32) if "item_bias" in t else np.zeros(len(t["item_popularity"]), np.float32)
    )
    names = strings(t, "categories")
    assert [names[c] for c in t["item_category"].astype(np.int64)] == core["categories"]
    got = item_factors(t)
    np.testing.assert_array_equal(got, np.array(core["item_factors"], dtype=np.float32))
    scores = item_bias[None, :] + t["user_factors"] @ got.T  # a ranking model's score
    np.testing.assert_allclose(scores, np.array(core["scores"], dtype=np.float32), rtol=1e-5, atol=1e-5)


def layer_norm(x, g, b):
    """docs/ARTIFACT.md's LN: (x − mean)/√(var + 1e-6)·g + b over the features, biased variance."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-6) * g + b


def sequence_state(t, meta, items):
    """The sequence network's state over `items` (item indices, oldest first), in float64 from
    the tensors alone, as docs/ARTIFACT.md's version-4 section writes it: the latest m = min(n, L)
    items at position slots L − m … L − 1, pre-layer-norm blocks of one causal attention head
    and a ReLU feed-forward, then the final layer norm of the last row."""
    f = lambda name: t[name].astype(np.float64)
    max_len, blocks = int(meta["seq_max_len"]), int(meta["seq_blocks"])
    items = list(items)[-max_len:]
    m = len(items)
    assert m > 0
    x = item_factors(t).astype(np.float64)[items] + f("seq.positions")[max_len - m :]
    d = x.shape[1]
    causal = np.tril(np.ones((m, m), dtype=bool))
    for k in range(blocks):
        p = lambda part: f(f"seq.block{k}.{part}")
        h = layer_norm(x, p("ln1_g"), p("ln1_b"))
        q, key, v = (h @ p(f"{n}_w") + p(f"{n}_b") for n in ("q", "k", "v"))
        s = np.where(causal, q @ key.T / np.sqrt(d), -np.inf)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        x = x + (e / e.sum(axis=1, keepdims=True)) @ v @ p("o_w") + p("o_b")
        hidden = np.maximum(layer_norm(x, p("ln2_g"), p("ln2_b")) @ p("ff1_w") + p("ff1_b"), 0.0)
        x = x + hidden @ p("ff2_w") + p("ff2_b")
    return layer_norm(x[-1], f("seq.final_g"), f("seq.final_b"))


def relative(got, want):
    """Normwise relative difference ‖got − want‖ / ‖want‖."""
    want = np.asarray(want, dtype=np.float64)
    return float(np.linalg.norm(np.asarray(got, dtype=np.float64) - want) / np.linalg.norm(want))


SEQUENCE_TOL = 1e-5


def check_v4_sequence(tmp, quantization):
    """A version-4 artifact (a sequence network): the stored histories decode to the expected
    ones (oldest first, cut to L), and a numpy forward pass written from docs/ARTIFACT.md alone
    agrees with the core (to 1e-5, normwise relative) on every user's stored vector, on
    `sequence_state` over lists of 1, L and 2L + 1 items, and on the top 5 of sessions and
    visitors. Returns the largest relative difference seen."""
    path = os.path.join(tmp, f"v4-{quantization}.safetensors")
    core = json.loads(cargo_example("sequence_fixture", path, "8", "30", "40", "6", "2", "7", quantization))
    t = load_file(path)
    meta = safe_open(path, "numpy").metadata()
    assert meta["format_version"] == "4" and meta["model_kind"] == "ranking", meta
    max_len, blocks = int(meta["seq_max_len"]), int(meta["seq_blocks"])
    assert (max_len, blocks) == (6, 2), meta
    assert core["info"]["sequence"] == {"max_len": max_len, "blocks": blocks}, core["info"]
    assert core["info"]["item_factors"] == quantization
    assert t["seq.history.indptr"].dtype == np.uint32 and t["seq.history.indices"].dtype == np.uint32
    users, items = strings(t, "user_ids"), strings(t, "item_ids")
    index = {item: i for i, item in enumerate(items)}
    indptr, indices = t["seq.history.indptr"], t["seq.history.indices"]
    histories = [[int(i) for i in indices[indptr[u] : indptr[u + 1]]] for u in range(len(users))]
    assert {u: [items[i] for i in h] for u, h in zip(users, histories)} == core["histories"]
    assert max(len(h) for h in core["histories"].values()) == max_len  # some were cut
    assert not t["item_bias"].any() and not t["user_bias"].any()  # a sequence model's biases are 0

    worst = 0.0

    def agree(got, want, what):
        nonlocal worst
        diff = relative(got, want)
        worst = max(worst, diff)
        assert diff <= SEQUENCE_TOL, f"{quantization}: {what}: relative difference {diff:.3e}"

    for u, h in enumerate(histories):
        agree(t["user_factors"][u], sequence_state(t, meta, h), f"user {users[u]}'s stored vector")
    lengths = [len(case["items"]) for case in core["states"]]
    assert lengths == [1, max_len, 2 * max_len + 1], lengths
    for case in core["states"]:
        agree(case["state"], sequence_state(t, meta, [index[i] for i in case["items"]]), f"state over {case['items']}")

    v = item_factors(t).astype(np.float64)
    seen_indptr, seen_indices = t["seen.indptr"], t["seen.indices"]
    sources = []
    for case in core["queries"]:
        known = [index[i] for i in case["interactions"] if i in index]
        unknown = [i for i in case["interactions"] if i not in index]
        answer = case["answer"]
        assert answer["unknown_items"] == unknown, case
        if case["user"] is None:
            window, excluded = known, set(known)
        else:
            u = users.index(case["user"])
            seen = seen_indices[seen_indptr[u] : seen_indptr[u + 1]]
            window, excluded = histories[u] + known, set(known) | {int(i) for i in seen}
        sources.append(answer["source"])
        scores = v @ sequence_state(t, meta, window)
        ranked = [i for i in np.argsort(-scores, kind="stable") if int(i) not in excluded][: len(answer["items"])]
        got = [(item["item_id"], item["index"]) for item in answer["items"]]
        assert got == [(items[i], int(i)) for i in ranked], (case, [items[i] for i in ranked])
        agree([item["score"] for item in answer["items"]], scores[ranked], f"top 5 of {case['interactions']}")
    assert sources == ["session", "session", "fold_in", "fold_in"], sources
    assert any(len(case["interactions"]) > max_len for case in core["queries"])
    return worst


def check_explain(tmp, kind):
    """The core's explanations against a numpy reference built from the artifact alone: the
    fold-in's exact split (implicit ALS, as implicit's `explain`; or the ridge fold-in of a
    rating model) plus each recent item's recency term; top 3 positive, shares of the positive
    sum. Also checks the split is exact: the terms sum to the fold-in vector's score."""
    path = os.path.join(tmp, f"explain-{kind}.safetensors")
    cases = json.loads(cargo_example("explain_fixture", path, kind))
    t = load_file(path)
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata()
    users, items = strings(t, "user_ids"), strings(t, "item_ids")
    index = {item: i for i, item in enumerate(items)}
    y = item_factors(t).astype(np.float64)
    d = y.shape[1]
    alpha, lam = float(meta["fold_in_alpha"]), float(meta["fold_in_lambda"])
    explicit = meta["model_kind"] == "rating"
    indptr, indices, values = t["seen.indptr"], t["seen.indices"], t["seen.values"]
    worst = 0.0
    for case in cases:
        u = users.index(case["user"]) if case["user"] is not None else None
        session = [(index[i], float(v)) for i, v in case["interactions"]]
        history = []
        if u is not None:
            history = [(int(j), float(v)) for j, v in zip(indices[indptr[u]:indptr[u + 1]], values[indptr[u]:indptr[u + 1]])]
        history += session
        newest = [j for j, _ in reversed(session)]
        if u is not None and "recent.indptr" in t:
            newest += [int(j) for j in t["recent.indices"][t["recent.indptr"][u]:t["recent.indptr"][u + 1]]]
        if explicit:
            f = [np.append(y[j], 1.0) for j, _ in history]
            tj = [v - float(t["global_bias"][0]) - float(t["item_bias"][j]) for j, v in history]
            a = sum((np.outer(x, x) for x in f), np.zeros((d + 1, d + 1))) + lam * np.eye(d + 1)
        else:
            f = [y[j] for j, _ in history]
            tj = [1.0 + alpha * max(v, 0.0) for _, v in history]
            a = y.T @ y + sum(((c - 1.0) * np.outer(x, x) for x, c in zip(f, tj)), np.zeros((d, d))) + lam * np.eye(d)
        x_fold = np.linalg.solve(a, sum((c * x for x, c in zip(f, tj)), np.zeros(a.shape[0])))
        recent = []
        if "recency_weight" in meta and float(meta["recency_weight"]) > 0:
            weight, decay, window = float(meta["recency_weight"]), float(meta["recency_decay"]), int(meta["recency_window"])
            ws = [decay**k for k in range(min(window, len(newest)))]
            recent = [(j, weight * w / sum(ws)) for j, w in zip(newest, ws)]
        assert len(case["items"]) == len(case["because"]) == 5, case
        for item, because in zip(case["items"], case["because"]):
            i = index[item]
            fi = np.append(y[i], 1.0) if explicit else y[i]
            z = np.linalg.solve(a, fi)
            terms = [(j, c * float(z @ x)) for (j, _), x, c in zip(history, f, tj)]
            # Exact: the fold-in terms sum to the fold-in vector's score.
            assert abs(sum(c for _, c in terms) - float(fi @ x_fold)) <= 1e-9 * (1 + abs(float(fi @ x_fold)))
            terms += [(j, w * float(y[j] @ y[i])) for j, w in recent]
            per = {}
            for j, c in terms:
                per[j] = per.get(j, 0.0) + c
            positive = sorted(((c, j) for j, c in per.items() if c > 0), key=lambda p: (-p[0], p[1]))
            total = sum(c for c, _ in positive)
            want = [[items[j], c, c / total] for c, j in positive[:3]]
            assert [b[0] for b in because] == [w[0] for w in want], (case["user"], item, because, want)
            for b, w in zip(because, want):
                worst = max(worst, abs(b[1] - w[1]) / (abs(w[1]) + 1e-3), abs(b[2] - w[2]))
    assert worst <= 1e-4, f"{kind}: explanations differ from the numpy reference by {worst:.2e}"
    return worst


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tiny.safetensors")
        cargo_example("fixture", path, "7", "11", "4", "3")
        core = json.loads(cargo_example("dump_json", path))
        t = load_file(path)
        with safe_open(path, framework="numpy") as f:
            meta = f.metadata()
        check_compact(tmp, "int8", np.int8)
        check_compact(tmp, "f16", np.float16)
        check_v3_index(tmp)
        check_v5_compact_tables(tmp)
        sequence_worst = {q: check_v4_sequence(tmp, q) for q in ("f32", "int8")}
        explain_worst = {k: check_explain(tmp, k) for k in ("ranking", "rating")}

    assert meta["format"] == "edgerec" and meta["format_version"] == "2", meta
    assert meta["model_kind"] == "rating" and int(meta["dim"]) == 4, meta
    json.loads(meta["info"])  # the free-form blob is valid JSON

    assert t["user_factors"].dtype == np.float32 and t["user_factors"].shape == (7, 4)
    assert t["item_factors"].shape == (11, 4)
    assert strings(t, "user_ids") == core["user_ids"]
    assert strings(t, "item_ids") == core["item_ids"]
    np.testing.assert_array_equal(t["user_factors"], np.array(core["user_factors"], dtype=np.float32))
    np.testing.assert_array_equal(t["item_factors"], np.array(core["item_factors"], dtype=np.float32))
    np.testing.assert_array_equal(t["item_popularity"], np.array(core["popularity"], dtype=np.uint32))
    assert float(t["global_bias"][0]) == np.float32(core["global_bias"])

    indptr, indices, values = t["seen.indptr"], t["seen.indices"], t["seen.values"]
    for u, row in enumerate(core["seen"]):
        lo, hi = indptr[u], indptr[u + 1]
        assert [int(i) for i in indices[lo:hi]] == [i for i, _ in row]
        np.testing.assert_array_equal(values[lo:hi], np.array([v for _, v in row], dtype=np.float32))

    names = strings(t, "categories")
    assert [names[c] for c in t["item_category"]] == core["categories"]

    # The model's scores, recomputed in numpy, agree with the core's.
    scores = (
        t["global_bias"][0]
        + t["user_bias"][:, None]
        + t["item_bias"][None, :]
        + t["user_factors"] @ t["item_factors"].T
    )
    np.testing.assert_allclose(scores, np.array(core["scores"], dtype=np.float32), rtol=1e-5, atol=1e-5)
    print(f"python interop: {len(t)} tensors match the core's view")
    print("python interop: int8 and f16 item factors dequantise to the core's values")
    print("python interop: a version-3 index reads as documented (ID order, lists as runs)")
    print("python interop: version-5 compact item tables (U8 categories, no zero biases) read as documented")
    print(
        "python interop: a version-4 sequence network, run in numpy from docs/ARTIFACT.md, agrees with the core "
        + ", ".join(f"({q}: max relative difference {d:.1e})" for q, d in sequence_worst.items())
        + f", tolerance {SEQUENCE_TOL:g}; its histories decode oldest first"
    )
    print(
        "python interop: explanations (implicit ALS with recency, and a rating model) match a numpy reference "
        + ", ".join(f"({k}: max difference {w:.1e})" for k, w in explain_worst.items())
        + "; the fold-in terms sum to the fold-in score"
    )
    print("6 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
