"""Python interop check: an artifact written by edgerec-core opens with `safetensors.numpy`
and its plain arrays equal what the core itself reads.

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


def cargo_example(*args):
    cmd = ["cargo", "run", "--quiet", "-p", "edgerec-core", "--example", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


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
    cargo_example("scale_fixture", "--", path, "3000", "8", "5", "12", "int8")
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
    cargo_example("fixture", "--", path, "7", "11", "4", "3", quantization)
    core = json.loads(cargo_example("dump_json", "--", path))
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


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tiny.safetensors")
        cargo_example("fixture", "--", path, "7", "11", "4", "3")
        core = json.loads(cargo_example("dump_json", "--", path))
        t = load_file(path)
        with safe_open(path, framework="numpy") as f:
            meta = f.metadata()
        check_compact(tmp, "int8", np.int8)
        check_compact(tmp, "f16", np.float16)
        check_v3_index(tmp)

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
    print("4 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
