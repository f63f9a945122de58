"""Benchmark: the W1 restart study across two processes against one process.

    python -m experiments bench distributed [--quick] [--out results/bench]

W1 (two moons n = 1024, 2-32-32-1 tanh, full-batch momentum 0.9, lr 0.1, 500
epochs; see :mod:`experiments.bench.peers.workloads`) at N = 128 restarts, run two ways
on this machine, alternately, ``REPEATS`` times each:

* one process with two XLA host devices (``--xla_force_host_platform_device_count=2``);
* two processes with one device each, joined by ``jax.distributed`` on 127.0.0.1
  (gloo collectives), started by :func:`jaxnn.distributed.launch_local`.

Each run is a fresh set of processes: it times ``jaxnn.distributed.initialize``
(for one process: starting its runtime), a first study (compiling) and a second, timed one, and
inside the timed one the seconds spent in the study's gathers across processes
(every process fetches the members' progress and, at the end, the results with
``process_allgather``). Printed side by side with restart-epochs per second
(medians, min-max); nothing is asserted. Writes ``distributed.json`` to ``--out``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPEATS = 3
N = 128


def _worker(out: str, n: int, epochs: int) -> None:
    """One process of one run: writes its timings as JSON to ``out`` (process 0)."""
    import jax

    import jaxnn
    from jaxnn import study as study_mod

    t0 = time.perf_counter()  # starting the runtime: joining every process, or not
    if os.environ.get(jaxnn.distributed.ENV_NUM_PROCESSES):
        jaxnn.distributed.initialize()
    jax.devices()
    init_s = time.perf_counter() - t0

    from experiments.bench.peers import workloads as w

    x, y = jaxnn.data.make_moons(jax.random.key(0), w.W1_N_POINTS, noise=0.2)
    x = jaxnn.data.standardize(x)
    model = jaxnn.MLP(w.W1_SIZES, w.W1_ACTIVATION)
    config = jaxnn.FitConfig(learning_rate=w.W1_LR, momentum=w.W1_MOMENTUM, epochs=epochs)
    gathers = []
    fetch = study_mod._fetch

    def timed_fetch(tree):
        start = time.perf_counter()
        got = fetch(tree)
        gathers.append(time.perf_counter() - start)
        return got

    study_mod._fetch = timed_fetch

    def run():
        return jaxnn.restarts(jax.random.key(1), model, (x, y), config=config, n=n)

    t0 = time.perf_counter()
    run()
    first_s = time.perf_counter() - t0
    gathers.clear()
    t0 = time.perf_counter()
    s = run()
    seconds = time.perf_counter() - t0
    if jax.process_index() == 0:
        with open(out, "w") as f:
            json.dump(
                {
                    "processes": jax.process_count(),
                    "devices": len(jax.devices()),
                    "init_s": init_s,
                    "compile_s": first_s - seconds,
                    "seconds": seconds,
                    "gather_s": sum(gathers),
                    "gathers": len(gathers),
                    "median_loss": float(s.summary.median[0]),
                },
                f,
            )


def _run(mode: str, n: int, epochs: int) -> dict:
    """One fresh run, ``"1x2"`` (one process, two devices) or ``"2x1"``; its timings."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        worker = [sys.executable, "-m", "experiments.bench.distributed", "--worker", out]
        worker += ["--n", str(n), "--epochs", str(epochs)]
        env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
        env["JAX_PLATFORMS"] = "cpu"
        t0 = time.perf_counter()
        if mode == "1x2":
            env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
            done = subprocess.run(worker, env=env, capture_output=True, text=True, check=False)
            code, log = done.returncode, done.stdout + done.stderr
        else:
            launcher = [sys.executable, "-m", "jaxnn.distributed", "--local-processes", "2"]
            launcher += ["--devices-per-process", "1", "--", *worker]
            done = subprocess.run(launcher, env=env, capture_output=True, text=True, check=False)
            code, log = done.returncode, done.stdout + done.stderr
        wall = time.perf_counter() - t0
        if code != 0 or not os.path.exists(out):
            raise RuntimeError(f"the {mode} run failed (exit status {code}):\n{log[-3000:]}")
        with open(out) as f:
            result = json.load(f)
    result["process_wall_s"] = wall
    result["restart_epochs_per_s"] = n * epochs / result["seconds"]
    return result


def _stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main(quick: bool = False, out: str = "results/bench", repeats: int | None = None) -> dict:
    from experiments.bench.peers import workloads as w

    n, epochs = (8, 50) if quick else (N, w.W1_EPOCHS)
    repeats = (1 if quick else REPEATS) if repeats is None else repeats
    runs: dict[str, list[dict]] = {"1x2": [], "2x1": []}
    for r in range(repeats):
        for mode in ("1x2", "2x1") if r % 2 == 0 else ("2x1", "1x2"):  # interleaved
            runs[mode].append(_run(mode, n, epochs))
    summary = {}
    for mode, rs in runs.items():
        summary[mode] = {
            key: _stats([x[key] for x in rs])
            for key in ("restart_epochs_per_s", "seconds", "init_s", "compile_s", "gather_s")
        }
        summary[mode]["gathers"] = rs[0]["gathers"]
        summary[mode]["median_loss"] = rs[0]["median_loss"]
    ratio = (
        summary["2x1"]["restart_epochs_per_s"]["median"]
        / summary["1x2"]["restart_epochs_per_s"]["median"]
    )
    names = {"1x2": "1 process x 2 devices", "2x1": "2 processes x 1 device"}
    print(f"W1, N = {n}, {epochs} epochs; medians of {repeats} (min-max)")
    print(f"{'':24} {'restart-epochs/s':>26} {'init s':>7} {'compile s':>9} {'gathers s':>16}")
    for mode, sm in summary.items():
        rate = sm["restart_epochs_per_s"]
        print(
            f"{names[mode]:24} {rate['median']:9.0f} ({rate['min']:6.0f}-{rate['max']:6.0f}) "
            f"{sm['init_s']['median']:7.2f} {sm['compile_s']['median']:9.2f} "
            f"{sm['gather_s']['median']:7.3f} ({sm['gathers']} calls)"
        )
    print(f"two processes / one process: x{ratio:.2f}")
    result = {"n": n, "epochs": epochs, "repeats": repeats, "runs": runs, "summary": summary}
    result["ratio_2x1_over_1x2"] = ratio
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "distributed.json"), "w") as f:
        json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", required=True)
    parser.add_argument("--n", type=int, default=N)
    parser.add_argument("--epochs", type=int, default=500)
    args = parser.parse_args()
    _worker(args.worker, args.n, args.epochs)
