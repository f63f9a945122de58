"""The peer benchmark: jaxnn against other ways to write the same training.

    python -m experiments bench [--quick] [--peers a,b] [--workloads w1,w2] [--repeats K]

Workloads (:mod:`experiments.bench.peers.workloads`): W1, a restart study (restart-epochs
per second); W2, one model with mini-batches, dropout and L2 (examples per second,
test accuracy); W3, scale (the largest W1 study a peer trains within 60 s and
8 GiB). Peers (:data:`experiments.bench.peers.PEERS`): jaxnn, jaxnn training a Flax NNX
module (``jaxnn_nnx``: W1 and W3 only), the bare JAX + optax loop a user would
write (``reference``: it records nothing per epoch, see
:mod:`experiments.bench.peers.reference`), Flax NNX, Equinox, PyTorch (a loop and
``torch.func.vmap``) and scikit-learn.

Every run is its own process (``python -m experiments.bench.peers``), so no library's
threads, allocator or caches touch another's numbers. W1 and W2 run in rounds,
the peer order rotated each round (interleaved, so that a slow drift of the machine
is spread over every peer); reported are medians with min-max over rounds. W3 starts
a fresh process per trial, doubling N until a trial fails, then one bisection step.

A peer that cannot run here (its module or a package it needs is missing) is
skipped with the reason, never failed. Writes ``peers.json`` (every run, the
summaries, the machine) and ``report.md`` to ``--out``.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

from experiments.bench.peers import MODULES, PEERS
from experiments.bench.peers import workloads as wl

WORKLOADS = ("w1", "w2", "w3")
REPEATS = 3
IMPORT_SLACK_S = 30.0  # a W3 worker is killed at W3_SECONDS + this (imports, data)
W3_MAX_N = 2**16  # keeps the W3 search bounded
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSIONS = ("jax", "jaxlib", "optax", "flax", "equinox", "torch", "scikit-learn", "numpy")


# --------------------------------------------------------------------------- workers


def _rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` now (0 if gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def run_worker(
    peer: str,
    workload: str,
    data: str,
    *,
    n: int = 1,
    epochs: int,
    threads: int,
    timeout: float,
    max_bytes: int | None = None,
) -> dict:
    """Run one worker process; poll its memory every 0.1 s.

    Returns a dict: ``status`` ("ok", "skip" or "fail"), ``result`` (the worker's
    RESULT dict or None), ``reason``, ``wall_s``, ``polled_peak_rss_bytes`` and
    ``killed`` ("time", "memory" or None).
    """
    cmd = [sys.executable, "-m", "experiments.bench.peers", peer, workload, "--data", data]
    cmd += ["--n", str(n), "--epochs", str(epochs), "--threads", str(threads)]
    cmd += ["--module", MODULES[peer]]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    load = os.getloadavg()[0]  # other work on the machine distorts timings: record it
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, env=env, cwd=ROOT, start_new_session=True
        )
        peak, killed = 0, None
        while proc.poll() is None:
            peak = max(peak, _rss_bytes(proc.pid))
            if max_bytes is not None and peak > max_bytes:
                killed = "memory"
            elif time.perf_counter() - t0 > timeout:
                killed = "time"
            if killed:
                try:  # the worker's own process group (it was started in a new session)
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
                break
            time.sleep(0.1)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    run = {
        "peer": peer,
        "workload": workload,
        "n": n,
        "epochs": epochs,
        "status": "fail",
        "result": None,
        "reason": "",
        "wall_s": wall,
        "polled_peak_rss_bytes": peak,
        "killed": killed,
        "returncode": proc.returncode,
        "load_1min": load,
    }
    lines = stdout.splitlines()
    results = [ln for ln in lines if ln.startswith("RESULT ")]
    skips = [ln for ln in lines if ln.startswith("SKIP ")]
    if killed == "time":
        run["reason"] = f"time: killed after {timeout:.0f} s"
    elif killed == "memory":
        run["reason"] = f"memory: resident memory above {max_bytes / 2**30:.1f} GiB"
    elif skips and not results and proc.returncode == 0:
        run["status"] = "skip"
        run["reason"] = skips[-1].split(": ", 1)[-1]
    elif results and proc.returncode == 0:
        run["status"] = "ok"
        run["result"] = json.loads(results[-1][len("RESULT ") :])
    else:
        tail = [ln for ln in stderr.strip().splitlines() if ln.strip()][-3:]
        run["reason"] = f"error (exit {proc.returncode}): " + " | ".join(tail)[-400:]
    return run


def measure_peak_gflops(threads: int, quick: bool) -> float | None:
    """This machine's f32 matmul GFLOP/s (JAX, ``threads`` host devices), in a subprocess."""
    size, repeats = (1024, 3) if quick else (2048, 5)
    code = (
        "from experiments.bench.restarts import matmul_peak_gflops; "
        f"print('PEAK', matmul_peak_gflops({size}, {repeats}))"
    )
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={threads}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    try:
        p = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    for line in p.stdout.splitlines():
        if line.startswith("PEAK "):
            return float(line.split()[1])
    return None


def machine_info() -> dict:
    info = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "versions": {},
    }
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        info["cpu"] = names[0] if names else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    try:
        with open("/proc/meminfo") as f:
            for ln in f:
                if ln.startswith("MemTotal:"):
                    info["memory_bytes"] = int(ln.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    for package in VERSIONS:
        try:
            info["versions"][package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return info


# ------------------------------------------------------------------ pure: aggregation


def spread(values: Sequence[float]) -> dict:
    """``{"median", "min", "max", "count"}`` of ``values`` (Nones if empty)."""
    vals = sorted(float(v) for v in values)
    if not vals:
        return {"median": None, "min": None, "max": None, "count": 0}
    return {
        "median": statistics.median(vals),
        "min": vals[0],
        "max": vals[-1],
        "count": len(vals),
    }


def _ratio(value, base):
    return None if value is None or not base else value / base


def _ok(runs, workload):
    return [r for r in runs if r["workload"] == workload and r["status"] == "ok"]


def _first_call(results: Sequence[dict]) -> float | None:
    """Median first-call seconds of a peer's results (None where it measured none)."""
    firsts = [m["first_call_s"] for m in results if m.get("first_call_s") is not None]
    return spread(firsts)["median"]


def _peer_order(peers: Sequence[str]) -> list[str]:
    """``peers`` in report order: PEERS' order, then any others."""
    known = [p for p in PEERS if p in peers]
    return known + [p for p in peers if p not in known]


def summarize_w1(
    runs: Sequence[dict], n_points: int, peak_gflops: float | None, base: str = "jaxnn"
) -> list[dict]:
    """One row per (N, peer) from W1 runs: rates over rounds, ratios against ``base``."""
    flops = wl.w1_flops_per_restart_epoch(n_points)
    ok = _ok(runs, "w1")
    rows = []
    for n in sorted({r["n"] for r in ok}):
        at_n = [r for r in ok if r["n"] == n]
        for peer in _peer_order(list(dict.fromkeys(r["peer"] for r in at_n))):
            mine = [r["result"] for r in at_n if r["peer"] == peer]
            rates = [m["timed_restarts"] * m["epochs"] / m["seconds"] for m in mine]
            rate = spread(rates)
            timed = min(m["timed_restarts"] for m in mine)
            gflops = rate["median"] * flops / 1e9
            rows.append(
                {
                    "N": n,
                    "peer": peer,
                    "rate": rate,
                    "warmup_s": spread([m["warmup_s"] for m in mine])["median"],
                    "first_call_s": _first_call(mine),
                    "gflops": gflops,
                    "pct_peak": gflops / peak_gflops if peak_gflops else None,
                    "final_loss": spread(mine[-1]["final_losses"]),
                    "timed_restarts": timed,
                    "scaled": timed < n,
                    "rounds": len(mine),
                    "note": mine[-1].get("note", ""),
                }
            )
    for row in rows:
        ref = next((r for r in rows if r["N"] == row["N"] and r["peer"] == base), None)
        row["ratio"] = _ratio(row["rate"]["median"], ref and ref["rate"]["median"])
    return rows


def summarize_w2(runs: Sequence[dict], n_train: int, base: str = "jaxnn") -> list[dict]:
    """One row per peer from W2 runs: examples/s, wall time, test accuracy."""
    ok = _ok(runs, "w2")
    rows = []
    for peer in _peer_order(list(dict.fromkeys(r["peer"] for r in ok))):
        mine = [r["result"] for r in ok if r["peer"] == peer]
        rows.append(
            {
                "peer": peer,
                "rate": spread([m["epochs"] * n_train / m["seconds"] for m in mine]),
                "wall_s": spread([m["seconds"] for m in mine]),
                "test_accuracy": spread([m["test_accuracy"] for m in mine]),
                "warmup_s": spread([m["warmup_s"] for m in mine])["median"],
                "first_call_s": _first_call(mine),
                "rounds": len(mine),
                "note": mine[-1].get("note", ""),
            }
        )
    ref = next((r for r in rows if r["peer"] == base), None)
    for row in rows:
        row["ratio"] = _ratio(row["rate"]["median"], ref and ref["rate"]["median"])
    return rows


def w3_search(trial: Callable[[int], dict], start: int, cap: int) -> dict:
    """The largest N for which ``trial(N)["ok"]``: double from ``start`` until a trial
    fails (or N would exceed ``cap``), then one bisection step (1.5x the last pass).

    ``trial(n)`` returns a dict with at least ``ok`` and ``reason`` (why it failed);
    ``seconds`` and ``peak_rss_bytes`` are reported for the largest pass.
    """
    trials: list[dict] = []

    def attempt(n):
        t = dict(trial(n))
        t["n"] = n
        trials.append(t)
        return t

    good = bad = None
    n = start
    while n <= cap:
        t = attempt(n)
        if not t["ok"]:
            bad = t
            break
        good = t
        n *= 2
    if good is not None and bad is not None:
        mid = max(good["n"] + 1, good["n"] * 3 // 2)
        if mid < bad["n"]:
            t = attempt(mid)
            if t["ok"]:
                good = t
            else:
                bad = t
    out = {
        "largest_n": good["n"] if good else None,
        "seconds": good.get("seconds") if good else None,
        "peak_rss_bytes": good.get("peak_rss_bytes") if good else None,
        "scaled": bool(good and good.get("scaled")),
        "next_n": bad["n"] if bad else None,
        "next_reason": bad["reason"] if bad else f"stopped at the cap N <= {cap}",
        "trials": trials,
    }
    return out


def summarize_w3(searches: dict[str, dict], base: str = "jaxnn") -> list[dict]:
    rows = [dict(searches[p], peer=p) for p in _peer_order(list(searches))]
    ref = searches.get(base, {}).get("largest_n")
    for row in rows:
        row["ratio"] = _ratio(row["largest_n"], ref)
    return rows


def behind_lines(summary: dict, base: str = "jaxnn") -> list[str]:
    """Where ``base`` is behind a peer, computed from the summaries (W1, W2 rates; W3 N)."""
    lines = []

    def faster(rows, label, unit):
        ref = next((r for r in rows if r["peer"] == base), None)
        if ref is None:
            return
        for r in rows:
            if r["peer"] == base or r["rate"]["median"] <= ref["rate"]["median"]:
                continue
            overlap = r["rate"]["min"] <= ref["rate"]["max"]
            lines.append(
                f"{label}: {base} is behind {r['peer']}: {_num(r['rate']['median'])} vs "
                f"{_num(ref['rate']['median'])} {unit} (x{_x(r['ratio'])})"
                + (", within the min-max spread of the rounds" if overlap else "")
                + "."
            )

    w1 = summary.get("w1", {}).get("rows", [])
    for n in sorted({r["N"] for r in w1}):
        faster([r for r in w1 if r["N"] == n], f"W1, N={n}", "restart-epochs/s")
    faster(summary.get("w2", {}).get("rows", []), "W2", "examples/s")
    w3 = summary.get("w3", {}).get("rows", [])
    ref = next((r for r in w3 if r["peer"] == base), None)
    if ref is not None:
        for r in w3:
            if r["peer"] != base and (r["largest_n"] or 0) > (ref["largest_n"] or 0):
                lines.append(
                    f"W3: {base} is behind {r['peer']}: N = {r['largest_n']} vs "
                    f"{ref['largest_n']} within the limits."
                )
    return lines


# ------------------------------------------------------------------ pure: rendering


def _f(v, fmt=".3g", none="–"):
    return none if v is None else format(v, fmt)


def _x(v):
    """A ratio for a table: two decimals, or two significant digits below 0.1."""
    if v is None:
        return "–"
    return f"{v:.2f}" if v >= 0.1 else f"{v:.2g}"


def _num(v):
    """A rate for a table: whole numbers with thousands separators from 100 up."""
    if v is None:
        return "–"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _range(s, fmt=None):
    if s["min"] is None:
        return "–"
    if fmt is None:
        return f"{_num(s['min'])}–{_num(s['max'])}"
    return f"{s['min']:{fmt}}–{s['max']:{fmt}}"


def _gib(b):
    return "–" if b is None else f"{b / 2**30:.2f} GiB"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "/") for c in row) + " |" for row in rows]
    return "\n".join(out)


def _skip_fail_lines(section: dict) -> list[str]:
    lines = [f"- {p}: skipped, {why}" for p, why in section.get("skipped", {}).items()]
    for f in section.get("failed", []):
        at = f" (N={f['n']})" if f.get("n") is not None and f["workload"] != "w2" else ""
        lines.append(f"- {f['peer']}{at}: FAILED, {f['reason']}")
    return lines


def render_w1(section: dict, settings: dict) -> str:
    rows = section.get("rows", [])
    body = []
    for r in rows:
        name = r["peer"] + ("*" if r["scaled"] else "")
        body.append(
            [
                r["N"],
                name,
                _num(r["rate"]["median"]),
                _range(r["rate"]),
                _x(r["ratio"]),
                _f(r["gflops"], ".3g"),
                _f(r["pct_peak"] and 100 * r["pct_peak"], ".1f"),
                _f(r["warmup_s"], ".2f"),
                _f(r.get("first_call_s"), ".2f"),
                " / ".join(_f(r["final_loss"][k], ".4f") for k in ("min", "median", "max")),
                r["note"],
            ]
        )
    head = (
        "N",
        "peer",
        "restart-epochs/s",
        "min–max",
        "vs jaxnn",
        "GFLOP/s",
        "% of peak",
        "warm-up s",
        "first call s",
        "final loss min / median / max",
        "note",
    )
    parts = [
        f"## W1: restart study ({settings['w1_points']} points, {settings['w1_epochs']} epochs)",
        "",
        _table(head, body) if body else "(no runs)",
    ]
    scaled = [r for r in rows if r["scaled"]]
    if scaled:
        parts += [
            "",
            "\\* timed on fewer restarts than N and scaled linearly: "
            + ", ".join(f"{r['peer']} at N={r['N']} on {r['timed_restarts']}" for r in scaled)
            + ".",
        ]
    extra = _skip_fail_lines(section)
    return "\n".join(parts + (["", *extra] if extra else []))


def render_w2(section: dict, settings: dict) -> str:
    body = [
        [
            r["peer"],
            _num(r["rate"]["median"]),
            _range(r["rate"]),
            _x(r["ratio"]),
            _f(r["wall_s"]["median"], ".3g"),
            f"{_f(r['test_accuracy']['median'], '.3f')} ({_range(r['test_accuracy'], '.3f')})",
            _f(r["warmup_s"], ".2f"),
            _f(r.get("first_call_s"), ".2f"),
            r["note"],
        ]
        for r in section.get("rows", [])
    ]
    head = (
        "peer",
        "examples/s",
        "min–max",
        "vs jaxnn",
        "wall s",
        "test accuracy (min–max)",
        "warm-up s",
        "first call s",
        "note",
    )
    parts = [
        f"## W2: one model, mini-batches ({settings['w2_epochs']} epochs)",
        "",
        _table(head, body) if body else "(no runs)",
    ]
    extra = _skip_fail_lines(section)
    return "\n".join(parts + (["", *extra] if extra else []))


def render_w3(section: dict, settings: dict) -> str:
    body = [
        [
            r["peer"] + ("*" if r.get("scaled") else ""),
            _f(r["largest_n"], "d", none="none"),
            _f(r["seconds"], ".1f"),
            _gib(r["peak_rss_bytes"]),
            _x(r["ratio"]),
            _f(r["next_n"], "d"),
            r["next_reason"],
        ]
        for r in section.get("rows", [])
    ]
    head = ("peer", "largest N", "seconds", "peak memory", "vs jaxnn", "next N tried", "why")
    parts = [
        f"## W3: scale (W1's study, {settings['w3_epochs']} epochs, within "
        f"{settings['w3_seconds']:.0f} s and {settings['w3_bytes'] / 2**30:.0f} GiB)",
        "",
        _table(head, body) if body else "(no runs)",
    ]
    if any(r.get("scaled") for r in section.get("rows", [])):
        parts += ["", "\\* the peer timed fewer restarts than N; its seconds are scaled."]
    extra = _skip_fail_lines(section)
    return "\n".join(parts + (["", *extra] if extra else []))


RENDER = {"w1": render_w1, "w2": render_w2, "w3": render_w3}


def render_report(results: dict) -> str:
    """``report.md`` from the dict saved as ``peers.json``."""
    m, s = results["machine"], results["settings"]
    peak = results.get("peak_gflops")
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())
    mem = f", {m['memory_bytes'] / 2**30:.0f} GiB" if m.get("memory_bytes") else ""
    loads = spread([r["load_1min"] for r in results.get("runs", []) if "load_1min" in r])
    load = ""
    if loads["count"]:
        # the benchmark's previous run still counts in the 1-minute average, so up
        # to about one per core is its own work
        busy = loads["max"] > 1.5 * (m.get("cpu_count") or 1)
        load = (
            f" Load average (1 min) at the start of the runs: {loads['min']:.1f}–"
            f"{loads['max']:.1f} (the benchmark's own runs count in it"
            + ("; other work shared the machine, so the timings are noisy)." if busy else ").")
        )
    lines = [
        "# Peer benchmark"
        + (" (quick smoke run: small sizes, not for comparison)" if results.get("quick") else ""),
        "",
        f"Machine: {m.get('cpu', '?')}, {m.get('cpu_count')} cores{mem}; f32 matmul peak "
        f"{_f(peak, '.0f')} GFLOP/s (JAX, all cores). {m.get('date', '')}.{load}",
        f"Versions: {versions}.",
        "",
        f"Command: `{results.get('command', 'python -m experiments bench')}`. Each run is its "
        f"own process with {s['threads']} threads; {s['repeats']} round(s), the peer order "
        'rotated each round; medians with min–max over rounds. "vs jaxnn" is the peer\'s '
        "rate over jaxnn's (above 1: the peer is faster).",
        "",
        "Workloads (stated in full in `experiments/bench/peers/workloads.py`):",
        "",
        f"- W1, a restart study: N restarts of a 2-32-32-1 tanh MLP on two moons "
        f"({s['w1_points']} points), full-batch momentum, {s['w1_epochs']} epochs; "
        "restart-epochs per second, compile/warm-up apart; GFLOP/s counts "
        f"{s['flops_per_restart_epoch']:,} FLOPs per restart-epoch (6nW).",
        f"- W2, one model with mini-batches: a 64-128-10 relu MLP on digits, dropout 0.2, "
        f"L2 1e-4, batch 32, lr 0.05 x 0.95 per epoch, {s['w2_epochs']} epochs; examples "
        "per second and test accuracy.",
        f"- W3, scale: the largest N of W1 each peer trains in a fresh process (compile "
        f"included) within {s['w3_seconds']:.0f} s and {s['w3_bytes'] / 2**30:.0f} GiB; "
        f"N doubles from {s['w3_start']}, then one bisection step (cap {s['w3_max_n']}).",
    ]
    if results.get("skipped"):
        lines += ["", "Skipped peers:", ""]
        lines += [f"- {p}: {why}" for p, why in results["skipped"].items()]
    for w in results.get("workloads_run", []):
        lines += ["", RENDER[w](results["summary"][w], s)]
    behind = behind_lines(results["summary"])
    ran = results.get("workloads_run", [])
    lines += ["", "## Where jaxnn is behind", ""]
    if behind:
        lines += [f"- {b}" for b in behind]
    elif ran:
        lines += [f"jaxnn is ahead of or level with every peer that ran ({', '.join(ran)})."]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------ the driver


def _rotated(peers: list[str], r: int) -> list[str]:
    k = r % len(peers) if peers else 0
    return peers[k:] + peers[:k]


def main(
    quick: bool = False,
    out: str = "results/bench",
    peers: Sequence[str] | None = None,
    workloads: Sequence[str] = WORKLOADS,
    repeats: int | None = None,
    *,
    threads: int | None = None,
    w1_ns: Sequence[int] | None = None,
    w3_seconds: float | None = None,
    w3_max_n: int | None = None,
    command: str | None = None,
) -> dict:
    """Run the benchmark; write ``peers.json`` and ``report.md`` to ``out``.

    Args:
      quick: small sizes (a smoke run, seconds per process).
      peers: peer names (default: all of :data:`experiments.bench.peers.PEERS`).
      workloads: any of ``"w1", "w2", "w3"``.
      repeats: rounds of W1 and W2 (default 3; 1 with ``quick``).
      threads: cores per worker (default: all).
      w1_ns, w3_seconds, w3_max_n: override W1's N values, W3's time limit and cap.

    Returns:
      The dict written to ``peers.json``.
    """
    threads = threads or os.cpu_count() or 1
    peers = list(PEERS) if peers is None else list(peers)
    workloads = [w for w in WORKLOADS if w in workloads]
    repeats = repeats or (1 if quick else REPEATS)
    w1_points = 256 if quick else wl.W1_N_POINTS
    w1_epochs = 50 if quick else wl.W1_EPOCHS
    w2_epochs = 2 if quick else wl.W2_EPOCHS
    ns = tuple(w1_ns or ((1, 4) if quick else wl.W1_NS))
    w3_limit = w3_seconds or (10.0 if quick else wl.W3_SECONDS)
    w3_cap = w3_max_n or (32 if quick else W3_MAX_N)
    w3_start = 2 if quick else 16
    timeout = 120.0 if quick else 600.0
    settings = {
        "threads": threads,
        "repeats": repeats,
        "w1_ns": list(ns),
        "w1_points": w1_points,
        "w1_epochs": w1_epochs,
        "w2_epochs": w2_epochs,
        "w3_epochs": w1_epochs,
        "w3_seconds": w3_limit,
        "w3_bytes": wl.W3_BYTES,
        "w3_start": w3_start,
        "w3_max_n": w3_cap,
        "flops_per_restart_epoch": wl.w1_flops_per_restart_epoch(w1_points),
    }

    from experiments.bench.peers.__main__ import unavailable

    skipped = {}
    for p in peers:
        why = "unknown peer" if p not in PEERS else unavailable(PEERS[p])
        if why:
            skipped[p] = why
            print(f"SKIP {p}: {why}", flush=True)
    avail = [p for p in _peer_order(peers) if p not in skipped]

    print(f"measuring the f32 matmul peak ({threads} host devices) ...", flush=True)
    peak = measure_peak_gflops(threads, quick)
    print(f"peak: {_f(peak, '.1f')} GFLOP/s", flush=True)

    results = {
        "command": command or "python -m experiments bench" + (" --quick" if quick else ""),
        "quick": quick,
        "machine": machine_info(),
        "peak_gflops": peak,
        "settings": settings,
        "peers": peers,
        "skipped": skipped,
        "workloads_run": workloads,
        "summary": {},
        "runs": [],
    }
    runs = results["runs"]

    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.npz")
        wl.write_data(data, w1_points=w1_points)
        n_train = int(wl.load_data(data)["w2_y_train"].shape[0])

        for w in workloads:
            section = {"rows": [], "skipped": {}, "failed": []}
            results["summary"][w] = section
            if w in ("w1", "w2"):
                run_rounds(
                    [(w, n) for n in (ns if w == "w1" else (1,))],
                    avail,
                    repeats,
                    data,
                    epochs={"w1": w1_epochs, "w2": w2_epochs},
                    threads=threads,
                    timeout=timeout,
                    runs=runs,
                    section=section,
                )
                if w == "w1":
                    section["rows"] = summarize_w1(runs, w1_points, peak)
                else:
                    section["rows"] = summarize_w2(runs, n_train)
            else:
                searches = {}
                for p in avail:
                    search = _w3(p, data, w1_epochs, threads, w3_limit, w3_start, w3_cap, runs)
                    if search is None:
                        section["skipped"][p] = runs[-1]["reason"]
                    else:
                        searches[p] = search
                section["rows"] = summarize_w3(searches)
            print("\n" + RENDER[w](section, settings) + "\n", flush=True)

    results["summary_behind"] = behind_lines(results["summary"])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "peers.json"), "w") as f:
        json.dump(results, f, indent=2)
    report = render_report(results)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(report)
    for line in results["summary_behind"]:
        print(line)
    print(f"wrote {os.path.join(out, 'report.md')} and peers.json", flush=True)
    return results


def run_rounds(
    cases: Sequence[tuple[str, int]],
    peers: Sequence[str],
    rounds: int,
    data: str,
    *,
    epochs: dict[str, int],
    threads: int,
    timeout: float,
    runs: list[dict],
    section: dict,
) -> None:
    """W1 or W2 runs: ``rounds`` rounds, each over every case ``(workload, n)`` and
    every peer (the peer order rotated each round), one worker process per run.

    Appends each run (with its ``round``) to ``runs``; a peer that skips is not run
    again on that workload, one that fails not again on that case; both are recorded
    in ``section`` (``skipped``: peer -> reason; ``failed``: a list).
    """
    done: set = set()  # (peer, workload, n) that failed, (peer, workload, None) skipped
    for r in range(rounds):
        for w, n in cases:
            for p in _rotated(list(peers), r):
                if (p, w, n) in done or (p, w, None) in done:
                    continue
                run = run_worker(
                    p, w, data, n=n, epochs=epochs[w], threads=threads, timeout=timeout
                )
                run["round"] = r
                runs.append(run)
                tag = f"[{w} round {r + 1}/{rounds}]" + (f" N={n}" if w == "w1" else "")
                if run["status"] == "skip":
                    section["skipped"][p] = run["reason"]
                    done.add((p, w, None))
                    print(f"{tag} {p}: SKIP {run['reason']}", flush=True)
                elif run["status"] == "fail":
                    section["failed"].append(
                        {"peer": p, "workload": w, "n": n, "round": r, "reason": run["reason"]}
                    )
                    done.add((p, w, n))
                    print(f"{tag} {p}: FAILED {run['reason']}", flush=True)
                else:
                    res = run["result"]
                    if w == "w1":
                        rate = res["timed_restarts"] * res["epochs"] / res["seconds"]
                        what = f"{rate:.4g} restart-epochs/s"
                    else:
                        what = f"{res['seconds']:.3g} s, test accuracy {res['test_accuracy']:.3f}"
                    first = res.get("first_call_s")
                    if first is not None:
                        what += f", first call {first:.2f} s"
                    print(f"{tag} {p}: {what} (process {run['wall_s']:.1f} s)", flush=True)


def _w3(peer, data, epochs, threads, limit, start, cap, runs) -> dict | None:
    """W3 for one peer: :func:`w3_search` over fresh worker processes (None: skipped)."""
    skipped = False

    def trial(n):
        nonlocal skipped
        if skipped:
            return {"ok": False, "reason": "skipped"}
        run = run_worker(
            peer,
            "w3",
            data,
            n=n,
            epochs=epochs,
            threads=threads,
            timeout=limit + IMPORT_SLACK_S,
            max_bytes=wl.W3_BYTES,
        )
        runs.append(run)
        t = {"ok": False, "reason": run["reason"], "seconds": None}
        t["peak_rss_bytes"] = run["polled_peak_rss_bytes"]
        if run["status"] == "skip":
            skipped = True
            t["reason"] = "skipped"
        elif run["status"] == "ok":
            res = run["result"]
            seconds = res["seconds"] * n / max(res["timed_restarts"], 1)
            peak = max(res["peak_rss_bytes"], run["polled_peak_rss_bytes"])
            t.update(seconds=seconds, peak_rss_bytes=peak, scaled=res["timed_restarts"] < n)
            if seconds > limit:
                t["reason"] = f"time: {seconds:.1f} s > {limit:.0f} s"
            elif peak > wl.W3_BYTES:
                t["reason"] = f"memory: {peak / 2**30:.1f} GiB > {wl.W3_BYTES / 2**30:.0f} GiB"
            else:
                t.update(ok=True, reason="")
        status = "pass" if t["ok"] else f"fail ({t['reason']})"
        print(
            f"[w3] {peer} N={n}: {status}, {_f(t['seconds'], '.1f')} s, "
            f"{_gib(t['peak_rss_bytes'])}",
            flush=True,
        )
        return t

    search = w3_search(trial, start, cap)
    return None if skipped else search
