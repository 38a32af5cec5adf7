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


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tiny.safetensors")
        cargo_example("fixture", "--", path, "7", "11", "4", "3")
        core = json.loads(cargo_example("dump_json", "--", path))
        t = load_file(path)
        with safe_open(path, framework="numpy") as f:
            meta = f.metadata()

    assert meta["format"] == "edgerec" and meta["format_version"] == "1", meta
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
    print("1 passed, 0 failed")


if __name__ == "__main__":
    sys.exit(main())
