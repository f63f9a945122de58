"""Command line: ``python -m experiments demo``, ``python -m experiments bench`` (the peer
comparison), ``bench fit`` and ``bench restarts``."""

from __future__ import annotations

import argparse
import os
import sys


def _host_devices(count: int | None) -> None:
    """Split this process's CPU into ``count`` XLA devices (before jax is imported).

    Library code never does this: XLA reads the flag once, at import.
    """
    if "jax" in sys.modules:
        raise RuntimeError("--host-devices must take effect before jax is imported")
    count = count or os.cpu_count() or 1
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the lesson experiments")
    run = sub.add_parser("run", help="run lesson experiments and write results/report.md")
    run.add_argument("names", nargs="+", help="lesson names or numbers, or 'all'")
    run.add_argument("--quick", action="store_true", help="small sizes (seconds each)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--out", default="results")
    demo = sub.add_parser("demo", help="a short tour of the course, trained for real")
    demo.add_argument("--seed", type=int, default=0)
    bench = sub.add_parser("bench", help="benchmarks (printed and saved as JSON)")
    bench.add_argument(
        "name",
        nargs="?",
        choices=["fit", "restarts", "distributed"],
        help="none: the peer comparison (W1-W3, every peer in its own process, "
        "report.md); fit: jaxnn.fit vs the bare loop (W2, W1 at N = 1); restarts: "
        "jaxnn.restarts vs the bare loop (W1 at each of --ns); distributed: W1 at "
        "N = 128 in two processes vs one",
    )
    bench.add_argument(
        "--host-devices",
        type=int,
        default=0,
        help="fit, restarts: XLA CPU devices per worker process (default: one per core)",
    )
    bench.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    bench.add_argument("--out", default="results/bench", help="where to write the results")
    bench.add_argument("--peers", default=None, help="peer comparison: e.g. jaxnn,reference")
    bench.add_argument("--workloads", default="w1,w2,w3", help="peer comparison: e.g. w1,w2")
    bench.add_argument(
        "--rounds",
        "--repeats",
        dest="repeats",
        type=int,
        default=None,
        help="rounds, each program once per round (default 3; 1 with --quick)",
    )
    bench.add_argument(
        "--ns",
        default=None,
        help="restarts and the peer comparison's W1: the numbers of restarts, e.g. 1,16,128",
    )
    rs = sub.add_parser("restarts", help="a restart study on a course data set (lesson 12)")
    from experiments import restarts as restarts_mod

    restarts_mod.add_arguments(rs)
    rs.add_argument(
        "--host-devices",
        type=int,
        default=0,
        help="split the CPU into this many XLA devices (default: one per core)",
    )
    args = parser.parse_args(argv)
    if args.command == "list":
        from experiments import registry

        for name in registry.available():
            module = registry.load(name)
            print(f"{name:34} {module.TITLE}")
    elif args.command == "run":
        return _run(args)
    elif args.command == "demo":
        from experiments.demo import main as demo_main

        demo_main(args.seed)
    elif args.command == "restarts":
        if args.local_processes:
            return restarts_mod.launch(args, list(sys.argv[1:] if argv is None else argv))
        _host_devices(args.host_devices)
        restarts_mod.run(args)
    elif args.command == "bench":
        words = sys.argv[1:] if argv is None else argv
        if args.name is None:
            return _bench_peers(args, parser, words)
        if args.ns is not None and args.name != "restarts":
            parser.error("--ns is an option of bench restarts")
        # fit and restarts run every program in its own worker process, which sets its
        # own XLA flags (--host-devices of them), so this process does not split the CPU.
        command = " ".join(["python -m experiments", *words])
        kwargs = dict(
            quick=args.quick,
            out=args.out,
            rounds=args.repeats,
            threads=args.host_devices or None,
            command=command,
        )
        if args.name == "fit":
            from experiments.bench.fit import main as bench_fit

            bench_fit(**kwargs)
        elif args.name == "distributed":
            from experiments.bench.distributed import main as bench_distributed

            bench_distributed(quick=args.quick, out=args.out, repeats=args.repeats)
        else:
            from experiments.bench.restarts import main as bench_restarts

            bench_restarts(ns=_ns(args, parser), **kwargs)
    return 0


def _ns(args, parser) -> list[int] | None:
    """``--ns`` as a list of positive numbers (None when not given)."""
    try:
        ns = None if args.ns is None else [int(v) for v in args.ns.split(",") if v]
    except ValueError:
        parser.error(f"--ns takes numbers separated by commas, got {args.ns!r}")
    if ns is not None and (not ns or min(ns) < 1):
        parser.error(f"--ns takes positive numbers, got {args.ns!r}")
    return ns


def _bench_peers(args, parser, argv: list[str]) -> int:
    """The peer comparison. Its workers set their own XLA flags, so this process
    does not split the CPU (no ``_host_devices``)."""
    from experiments.bench import peer_comparison as bench_peers
    from experiments.bench.peers import PEERS

    peers = None if args.peers is None else [p for p in args.peers.split(",") if p]
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = [w for w in workloads if w not in bench_peers.WORKLOADS]
    unknown += [p for p in peers or () if p not in PEERS]
    if unknown:
        parser.error(
            f"unknown workload or peer {', '.join(unknown)} (workloads: "
            f"{', '.join(bench_peers.WORKLOADS)}; peers: {', '.join(PEERS)})"
        )
    bench_peers.main(
        quick=args.quick,
        out=args.out,
        peers=peers,
        workloads=workloads,
        repeats=args.repeats,
        w1_ns=_ns(args, parser),
        command=" ".join(["python -m experiments", *argv]),
    )
    return 0


def _run(args) -> int:
    from tqdm.auto import tqdm

    from experiments import registry, report

    names = registry.available() if args.names == ["all"] else args.names
    outcomes = []
    with tqdm(names, desc="experiments", unit="lesson") as bar:
        for name in bar:
            bar.set_postfix_str(name)
            o = registry.run_one(name, seed=args.seed, out=args.out, quick=args.quick)
            outcomes.append(o)
            held = sum(c.holds for c in o.claims)
            tqdm.write(
                f"lesson {o.lesson:2d} {o.title}: {held}/{len(o.claims)} claims hold "
                f"({o.seconds:.1f} s)"
            )
            for c in o.claims:
                mark = "holds" if c.holds else "DOES NOT HOLD"
                tqdm.write(f"    {c.claim}: {c.measured:.4g} {c.expected} -> {mark}")
    outcomes.sort(key=lambda o: o.lesson)
    path = report.build(outcomes, args.out, quick=args.quick, seed=args.seed)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
