"""jaxnn's default usage against the bare loop a user would write: the driver of
``python -m experiments bench restarts`` and ``bench fit``.

The bare loop is the ``reference`` peer (:mod:`experiments.bench.peers.reference`): a
``jax.jit`` of ``lax.scan`` loops over optax updates that records nothing per epoch
and returns the final params. jaxnn runs as its README shows, with its defaults
(peer ``jaxnn``: ``jaxnn.restarts``; peer ``jaxnn_fit``: ``jaxnn.fit``). Both train
the same data, init, keys and update rule, so they reach the same final losses.

Method, the peer comparison's (:mod:`experiments.bench.peer_comparison`): every run is its own
worker process (``python -m experiments.bench.peers``) with one XLA host device per core;
``rounds`` rounds, each over every case and both programs, the order of the two
rotated each round; reported are medians with min-max over rounds. The ratio
jaxnn / loop is taken per round (the two runs of a round were interleaved) and is
reported as its median and min-max. The first call is the wall time of a worker's
first call (tracing, compilation and one run, in a fresh process), reported apart
from the timed call. W1's GFLOP/s count ``6 n W`` FLOPs per restart-epoch
(:func:`experiments.bench.peers.workloads.w1_flops_per_restart_epoch`), as a share of an
f32 matmul peak measured in the same run, in its own process
(:func:`experiments.bench.restarts.matmul_peak_gflops`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence

from experiments.bench import peer_comparison as bp
from experiments.bench.peers import workloads as wl

LOOP = "reference"  # the peer that is the bare loop


def _rate(workload: str, result: dict, n_train: int) -> float:
    """Restart-epochs per second (W1) or examples per second (W2) of one run."""
    if workload == "w1":
        return result["timed_restarts"] * result["epochs"] / result["seconds"]
    return result["epochs"] * n_train / result["seconds"]


def summarize(
    runs: Sequence[dict],
    cases: Sequence[tuple[str, int]],
    jaxnn_peer: str,
    *,
    n_points: int,
    n_train: int,
    peak_gflops: float | None,
) -> list[dict]:
    """One row per case ``(workload, n)``: each side's rate, first call and result
    check over rounds, and the per-round ratios jaxnn / loop."""
    flops = wl.w1_flops_per_restart_epoch(n_points)
    rows = []
    for w, n in cases:
        ok = [r for r in runs if r["status"] == "ok" and r["workload"] == w and r["n"] == n]
        by_round = {
            p: {r["round"]: r["result"] for r in ok if r["peer"] == p} for p in (jaxnn_peer, LOOP)
        }
        row: dict = {"workload": w, "N": n}
        for side, peer in (("jaxnn", jaxnn_peer), ("loop", LOOP)):
            mine = list(by_round[peer].values())
            rate = bp.spread([_rate(w, m, n_train) for m in mine])
            firsts = [m["first_call_s"] for m in mine if m.get("first_call_s") is not None]
            info = {
                "peer": peer,
                "rate": rate,
                "seconds": bp.spread([m["seconds"] for m in mine]),
                "first_call_s": bp.spread(firsts),
                "warmup_s": bp.spread([m["warmup_s"] for m in mine]),
                "note": mine[-1]["note"] if mine else "",
            }
            if w == "w1":
                gflops = None if rate["median"] is None else rate["median"] * flops / 1e9
                info["gflops"] = gflops
                info["pct_peak"] = gflops / peak_gflops if gflops and peak_gflops else None
                info["final_loss"] = bp.spread([v for m in mine for v in m["final_losses"]])
            else:
                info["test_accuracy"] = bp.spread([m["test_accuracy"] for m in mine])
            row[side] = info
        j, lp = by_round[jaxnn_peer], by_round[LOOP]
        paired = sorted(set(j) & set(lp))
        ratios = [_rate(w, j[r], n_train) / _rate(w, lp[r], n_train) for r in paired]
        row["ratio"] = bp.spread(ratios)
        row["first_call_ratio"] = bp.spread(
            [
                j[r]["first_call_s"] / lp[r]["first_call_s"]
                for r in paired
                if j[r].get("first_call_s") and lp[r].get("first_call_s")
            ]
        )
        if w == "w1":  # the same restarts trained: their final losses pair up
            diffs = [
                abs(a - b)
                for r in paired
                for a, b in zip(j[r]["final_losses"], lp[r]["final_losses"], strict=True)
            ]
            row["max_final_loss_diff"] = max(diffs) if diffs else None
        rows.append(row)
    return rows


def _med(s: dict, fmt: str | None = None) -> str:
    """``median [min–max]``: rates formatted as the peer comparison does, else ``fmt``."""
    if s["median"] is None:
        return "–"
    f = bp._num if fmt is None else (lambda v: format(v, fmt))
    return f"{f(s['median'])} [{f(s['min'])}–{f(s['max'])}]"


def render(rows: Sequence[dict]) -> str:
    """The table: rates, ratios, first calls, share of peak, and the result check."""
    head = (
        "workload",
        "jaxnn",
        "bare loop",
        "jaxnn / loop",
        "first call s: jaxnn",
        "bare loop",
        "jaxnn / loop",
        "GFLOP/s jaxnn / loop",
        "% of peak jaxnn / loop",
        "check: jaxnn / loop",
    )
    body = []
    for r in rows:
        j, lp = r["jaxnn"], r["loop"]
        if r["workload"] == "w1":
            label = f"W1 N={r['N']} (restart-epochs/s)"
            gflops = f"{bp._f(j['gflops'])} / {bp._f(lp['gflops'])}"
            pct = " / ".join(bp._f(s["pct_peak"] and 100 * s["pct_peak"], ".1f") for s in (j, lp))
            check = (
                f"final loss {bp._f(j['final_loss']['median'], '.4f')} / "
                f"{bp._f(lp['final_loss']['median'], '.4f')} "
                f"(max diff {bp._f(r['max_final_loss_diff'], '.1e')})"
            )
        else:
            label = "W2 (examples/s)"
            gflops = pct = "–"
            check = (
                f"test accuracy {bp._f(j['test_accuracy']['median'], '.3f')} / "
                f"{bp._f(lp['test_accuracy']['median'], '.3f')}"
            )
        body.append(
            [
                label,
                _med(j["rate"]),
                _med(lp["rate"]),
                _med(r["ratio"], ".2f"),
                _med(j["first_call_s"], ".2f"),
                _med(lp["first_call_s"], ".2f"),
                _med(r["first_call_ratio"], ".2f"),
                gflops,
                pct,
                check,
            ]
        )
    return bp._table(head, body)


def main(
    name: str,
    cases: Sequence[tuple[str, int]],
    jaxnn_peer: str,
    *,
    quick: bool = False,
    out: str = "results/bench",
    rounds: int | None = None,
    threads: int | None = None,
    command: str | None = None,
) -> dict:
    """Run ``cases`` (``(workload, n)``) for ``jaxnn_peer`` and the bare loop; print the
    table and write ``<name>.json`` and ``<name>.md`` to ``out``.

    Args:
      name: the benchmark's name (``"restarts"`` or ``"fit"``), for the files.
      cases: ``("w1", N)`` or ``("w2", 1)`` each.
      jaxnn_peer: the peer that runs jaxnn (``"jaxnn"`` or ``"jaxnn_fit"``).
      quick: small sizes (256 points and 50 epochs in W1, 2 epochs in W2), a smoke run.
      rounds: rounds (default 3; 1 with ``quick``).
      threads: cores per worker, i.e. XLA host devices (default: all).

    Returns:
      The dict written to ``<name>.json``.
    """
    threads = threads or os.cpu_count() or 1
    rounds = rounds or (1 if quick else bp.REPEATS)
    n_points = 256 if quick else wl.W1_N_POINTS
    epochs = {"w1": 50 if quick else wl.W1_EPOCHS, "w2": 2 if quick else wl.W2_EPOCHS}
    peers = [jaxnn_peer, LOOP]
    print(f"measuring the f32 matmul peak ({threads} host devices) ...", flush=True)
    peak = bp.measure_peak_gflops(threads, quick)
    print(f"peak: {bp._f(peak, '.1f')} GFLOP/s", flush=True)
    section: dict = {"skipped": {}, "failed": []}
    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.npz")
        wl.write_data(data, w1_points=n_points)
        n_train = int(wl.load_data(data)["w2_y_train"].shape[0])
        bp.run_rounds(
            cases,
            peers,
            rounds,
            data,
            epochs=epochs,
            threads=threads,
            timeout=120.0 if quick else 600.0,
            runs=runs,
            section=section,
        )
    rows = summarize(runs, cases, jaxnn_peer, n_points=n_points, n_train=n_train, peak_gflops=peak)
    table = render(rows)
    notes = bp._skip_fail_lines(section)
    text = "\n".join(
        [
            f"jaxnn ({jaxnn_peer}) vs the bare loop ({LOOP}): {rounds} round(s), each run its "
            f"own process with {threads} host devices; median [min–max] over rounds; f32 "
            f"matmul peak {bp._f(peak, '.1f')} GFLOP/s"
            + (" (quick smoke run: small sizes, not for comparison)" if quick else ""),
            "",
            table,
            *(["", *notes] if notes else []),
        ]
    )
    print("\n" + text + "\n", flush=True)
    results = {
        "command": command or f"python -m experiments bench {name}",
        "quick": quick,
        "machine": bp.machine_info(),
        "peak_gflops": peak,
        "settings": {
            "threads": threads,
            "rounds": rounds,
            "cases": [list(c) for c in cases],
            "jaxnn_peer": jaxnn_peer,
            "loop_peer": LOOP,
            "w1_points": n_points,
            "epochs": epochs,
            "flops_per_restart_epoch": wl.w1_flops_per_restart_epoch(n_points),
        },
        "rows": rows,
        "skipped": section["skipped"],
        "failed": section["failed"],
        "runs": runs,
    }
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f"{name}.json"), "w") as f:
        json.dump(results, f, indent=2)
    with open(os.path.join(out, f"{name}.md"), "w") as f:
        f.write(f"# bench {name}\n\nCommand: `{results['command']}`.\n\n{text}\n")
    print(f"wrote {os.path.join(out, name + '.json')} and {name}.md", flush=True)
    return results
