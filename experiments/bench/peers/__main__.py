"""One peer, one workload, one process: the worker of ``python -m experiments bench``.

    python -m experiments.bench.peers PEER {w1,w2,w3} --data PATH [--n N] [--epochs E]
                                [--threads T] [--module MODULE]

Prints ``SKIP <peer>: <why>`` (exit 0, no result) when the peer cannot run here
(its module or a package it needs is missing, or it has no such workload), else
ends with one line ``RESULT <json>``: the peer's result dict plus ``peer``,
``workload``, ``n``, ``epochs``, ``threads``, ``process_s`` (the whole process,
imports included), ``peak_rss_bytes`` (``VmHWM``) and ``ru_maxrss_bytes``. ``w3`` is
``w1`` without the warm-up run.
``--module`` names the module under :mod:`experiments.bench.peers` (default: the peer's
entry in :data:`experiments.bench.peers.MODULES`).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import json
import os
import resource
import sys
import time

_START = time.perf_counter()

INSTALL = "pip install 'jaxnn[bench]'"


def _requires(origin: str) -> tuple[str, ...] | None:
    """The module's ``REQUIRES`` read from its source, without importing it."""
    try:
        with open(origin) as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "REQUIRES" for t in targets):
                try:
                    return tuple(ast.literal_eval(node.value))
                except ValueError:
                    return None
    return None


def unavailable(module: str) -> str | None:
    """Why ``experiments.bench.peers.<module>`` cannot run in this environment, or None.

    Imports nothing of the peer: its module must exist and every package of its
    ``REQUIRES`` must be installed.
    """
    full = f"experiments.bench.peers.{module}"
    try:
        spec = importlib.util.find_spec(full)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        return f"its module {full} does not exist (not written yet?)"
    for package in _requires(spec.origin) or ():
        if importlib.util.find_spec(package) is None:
            return f"{package} is not installed ({INSTALL})"
    return None


def _peak_rss_bytes() -> int:
    """This process's peak resident memory: ``VmHWM`` of ``/proc/self/status`` (the
    memory map exec made, so only this program's own peak), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.bench.peers", description=__doc__)
    parser.add_argument("peer")
    parser.add_argument("workload", choices=["w1", "w2", "w3"])
    parser.add_argument("--data", required=True, help=".npz of workloads.write_data")
    parser.add_argument("--n", type=int, default=1, help="restarts (w1, w3)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the workload's")
    parser.add_argument("--threads", type=int, default=0, help="cores to use (default: all)")
    parser.add_argument("--module", default=None, help="module under experiments.bench.peers")
    args = parser.parse_args(argv)

    threads = args.threads or os.cpu_count() or 1
    # Before anything imports jax (XLA reads its flags once) or torch.
    flags = [
        f
        for f in os.environ.get("XLA_FLAGS", "").split()
        if "xla_force_host_platform_device_count" not in f
    ]
    flags.append(f"--xla_force_host_platform_device_count={threads}")
    os.environ["XLA_FLAGS"] = " ".join(flags)
    os.environ["JAXNN_BENCH_THREADS"] = str(threads)

    from experiments.bench.peers import MODULES

    module = args.module or MODULES.get(args.peer)
    if module is None:
        print(f"SKIP {args.peer}: unknown peer (known: {', '.join(MODULES)})", flush=True)
        return 0
    why = unavailable(module)
    if why is not None:
        print(f"SKIP {args.peer}: {why}", flush=True)
        return 0
    try:
        mod = importlib.import_module(f"experiments.bench.peers.{module}")
    except ModuleNotFoundError as e:  # an import REQUIRES did not name
        print(f"SKIP {args.peer}: {e.name} is not installed ({INSTALL})", flush=True)
        return 0

    from experiments.bench.peers import workloads
    from experiments.bench.peers.workloads import load_data

    data = load_data(args.data)
    if args.workload == "w2":
        if not hasattr(mod, "w2"):
            print(f"SKIP {args.peer}: no w2 (a variant of another peer on W2)", flush=True)
            return 0
        epochs = args.epochs or workloads.W2_EPOCHS
        out = mod.w2(data, epochs)
    else:
        epochs = args.epochs or workloads.W1_EPOCHS
        out = mod.w1(data, args.n, epochs, warmup=args.workload == "w1")
    out = dict(out)
    out.update(
        peer=args.peer,
        workload=args.workload,
        n=args.n,
        epochs=epochs,
        threads=threads,
        process_s=time.perf_counter() - _START,
        peak_rss_bytes=_peak_rss_bytes(),
        # KiB on Linux. Not the peak: Linux carries the parent's high-water mark
        # into a forked child and keeps it across exec, so this is at least the
        # driver's peak.
        ru_maxrss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    )
    print("RESULT " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
