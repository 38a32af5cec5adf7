"""The whole `recommend` call in wasm and natively, taking turns call by call (bench/scale/run.py).

This machine's speed comes in phases lasting seconds (docs/SCALE.md), so two runs made one
after the other can see different machines, and their ratio moves by ±30 % from pair to pair.
Here the two run at once on one core: `bench/scale/wasm.mjs --lockstep` and
`bench_native --per-call --lockstep` load the model and warm up as in their own runs, then
each makes its next timed call only when told to, and this script tells them in turn (which of
the two goes first alternates from user to user). Both sides' calls are thus spread over the
same fraction of a second and see the same machine. Each also sees caches that the other's last
call has just used, so the absolute times are higher than in runs of their own; the ratio is the
figure this measures.
"""

import os
import statistics
import subprocess

RUNS = 9


def _start(cmd, cwd, cpu):
    p = subprocess.Popen(["taskset", "-c", str(cpu), *cmd], cwd=cwd, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, bufsize=0)
    line = p.stdout.readline()
    if line != b"ready\n":
        p.kill()
        raise RuntimeError(f"{cmd[0]}: expected `ready`, got {line!r}")
    return p


def _turn(p):
    p.stdin.write(b"g")
    line = p.stdout.readline()
    if not line:
        raise RuntimeError("a lockstep process ended early")
    return float(line)


def run(root, native_bin, model, queries, runs=RUNS):
    """`runs` lockstep runs of `queries` users each: every run's p50 per side (ms) and their
    ratio, and the median of those ratios."""
    cpu = os.cpu_count() - 1
    out = []
    for _ in range(runs):
        procs = [_start(["node", "bench/scale/wasm.mjs", model, str(queries), "--lockstep"], root, cpu),
                 _start([native_bin, model, str(queries), "--per-call", "--lockstep"], root, cpu)]
        times = ([], [])
        for i in range(queries):
            for side in ((0, 1) if i % 2 == 0 else (1, 0)):
                times[side].append(_turn(procs[side]))
        for p in procs:
            p.stdin.close()
            p.stdout.read()
            if p.wait() != 0:
                raise RuntimeError(f"a lockstep process exited with {p.returncode}")
        wasm, native = (statistics.median(t) for t in times)
        out.append({"wasm_p50_ms": wasm, "native_p50_ms": native, "ratio": wasm / native})
    return {"runs": out, "median_ratio": statistics.median(r["ratio"] for r in out), "cpu": cpu}
