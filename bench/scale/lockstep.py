"""Two implementations of a query, taking turns call by call on one core (bench/scale/run.py).

This machine's speed comes in phases lasting seconds (docs/notes/scale-experiments.md), so two
runs made one after the other can see different machines, and their ratio moves by ±30 % from
pair to pair.
Here the two run at once on one core and take turns: each side loads and warms up as in a run
of its own, then makes its next timed call only when told to, and this script tells the two in
turn (which goes first alternates from query to query). Both sides' calls are thus spread over
the same fraction of a second and see the same machine. Each also sees caches that the other's
last call has just used, so the absolute times are higher than in runs of their own; the ratio
is the figure this measures.

A side is a subprocess that prints `ready` once warm, then answers each byte on its stdin with
one timed call's milliseconds on a line (`bench/scale/wasm.mjs --lockstep`, `bench_native
--per-call --lockstep`, `core/examples/bench_search.rs`), or a Python callable of the query's
number that returns milliseconds (faiss, in this process).
"""

import os
import statistics
import subprocess

RUNS = 9
# The core every side runs on: the last one.
CPU = os.cpu_count() - 1


class Process:
    """A subprocess side, pinned to `CPU`."""

    def __init__(self, cmd, cwd):
        self.p = subprocess.Popen(["taskset", "-c", str(CPU), *cmd], cwd=cwd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, bufsize=0)
        line = self.p.stdout.readline()
        if line != b"ready\n":
            self.p.kill()
            raise RuntimeError(f"{cmd[0]}: expected `ready`, got {line!r}")

    def __call__(self, _query):
        self.p.stdin.write(b"g")
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("a lockstep process ended early")
        return float(line)

    def close(self):
        self.p.stdin.close()
        self.p.stdout.read()
        if self.p.wait() != 0:
            raise RuntimeError(f"a lockstep process exited with {self.p.returncode}")


def take_turns(a, b, queries):
    """Every query on both sides, taking turns: the p50 (ms) of each side's calls."""
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {CPU})  # an in-process side runs on the same core
    try:
        times = ([], [])
        sides = (a, b)
        for q in range(queries):
            for s in ((0, 1) if q % 2 == 0 else (1, 0)):
                times[s].append(sides[s](q))
    finally:
        os.sched_setaffinity(0, affinity)
    return tuple(statistics.median(t) for t in times)


def summary(runs):
    return {"runs": runs, "median_ratio": statistics.median(r["ratio"] for r in runs), "cpu": CPU}


def wasm_native(root, native_bin, model, queries, runs=RUNS):
    """The whole `recommend` call, wasm in Node against native: `runs` runs of `queries` users."""
    out = []
    for _ in range(runs):
        wasm = Process(["node", "bench/scale/wasm.mjs", model, str(queries), "--lockstep"], root)
        native = Process([native_bin, model, str(queries), "--per-call", "--lockstep"], root)
        w, n = take_turns(wasm, native, queries)
        wasm.close()
        native.close()
        out.append({"wasm_p50_ms": w, "native_p50_ms": n, "ratio": w / n})
    return summary(out)


def core_faiss(root, search_bin, model, nprobe, faiss_search, queries, runs=RUNS):
    """The core's index search (`bench_search`, `nprobe`) against `faiss_search(q)` (ms), each
    query once a run after one untimed pass on both sides."""
    out = []
    for _ in range(runs):
        for q in range(queries):
            faiss_search(q)
        core = Process([search_bin, model, str(queries), str(nprobe)], root)
        c, f = take_turns(core, faiss_search, queries)
        core.close()
        out.append({"core_p50_ms": c, "faiss_p50_ms": f, "ratio": c / f})
    return summary(out)
