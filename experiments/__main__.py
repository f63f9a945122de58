"""Command line: ``python -m experiments demo``, ``python -m experiments bench`` (the peer
comparison), ``bench fit`` and ``bench restarts``."""

from __future__ import annotations

import argparse
import os
import sys

from experiments.restarts import whole_number


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


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every option's default in ``--help`` (unless its help states it), descriptions
    kept as written."""

    def _get_help_string(self, action):
        if "default:" in (action.help or "") or action.default is None:
            return action.help
        return super()._get_help_string(action)


_positive_int = whole_number(1)
_devices = whole_number(0)  # 0: one per core
_seed = whole_number(0, 2**32)


COMMANDS = """commands:
  list       the 16 lessons (and these commands)
  run        reproduce lessons into results/report.md (make run: all of them, 20 seeds)
  demo       a short tour of the course, trained for real (a minute)
  restarts   a restart study on one of the course's data sets (lesson 12)
  bench      benchmarks: jaxnn against a bare JAX loop and against other libraries
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments", description=__doc__, epilog=COMMANDS, formatter_class=_Help
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the lessons and the commands", formatter_class=_Help)
    run = sub.add_parser(
        "run",
        help="run lesson experiments and write results/report.md",
        description="Run lessons at several seeds and (re)write their sections of\n"
        "OUT/report.md; the sections of lessons not run are kept from earlier runs.",
        formatter_class=_Help,
    )
    run.add_argument(
        "names",
        nargs="+",
        help="'all', or lessons by number (7, 07, lesson7) or name (gd_vs_perceptron)",
    )
    run.add_argument("--quick", action="store_true", help="small sizes (seconds per lesson)")
    seeds = run.add_mutually_exclusive_group()
    seeds.add_argument(
        "--seeds",
        type=_positive_int,
        default=None,
        help="run seeds 0..K-1; a claim holds at 19 of 20 seeds, all of fewer "
        "(default: 20, or 3 with --quick)",
    )
    seeds.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="run this one seed only: its numbers as in a multi-seed run (default: seeds 0..K-1)",
    )
    run.add_argument("--out", default="results", help="output folder")
    demo = sub.add_parser(
        "demo", help="a short tour of the course, trained for real", formatter_class=_Help
    )
    demo.add_argument("--seed", type=_seed, default=0)
    bench = sub.add_parser(
        "bench", help="benchmarks (printed and saved as JSON)", formatter_class=_Help
    )
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
        type=_devices,
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
    rs = sub.add_parser(
        "restarts", help="a restart study on a course data set (lesson 12)", formatter_class=_Help
    )
    from experiments import restarts as restarts_mod

    restarts_mod.add_arguments(rs)
    rs.add_argument(
        "--host-devices",
        type=_devices,
        default=0,
        help="split the CPU into this many XLA devices (default: one per core)",
    )
    args = parser.parse_args(argv)
    if args.command == "list":
        from experiments import registry

        for name in registry.available():
            module = registry.load(name)
            print(f"{int(name[6:8]):2d}  {name:30} {module.TITLE}")
        print()
        print(COMMANDS.rstrip())
    elif args.command == "run":
        return _run(args, run)
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


def _run(args, parser) -> int:
    from experiments import registry, report

    try:
        names = (
            registry.available()
            if [n.lower() for n in args.names] == ["all"]
            else list(dict.fromkeys(registry.resolve(n) for n in args.names))
        )
    except ValueError as e:
        parser.error(str(e))
    if args.seed is not None:
        seeds = [args.seed]
    else:
        seeds = list(range(args.seeds or (3 if args.quick else registry.SEEDS)))
    log = _Log(total=len(names) * len(seeds))
    for name in names:
        module = registry.load(name)
        log.status(f"lesson {module.LESSON}: {module.TITLE}")

        def on_seed(seed, o, module=module):
            log.step(
                f"lesson {module.LESSON}, seed {seed}: "
                f"{sum(c.holds for c in o.claims)}/{len(o.claims)} claims hold"
            )

        r = registry.run_lesson(name, seeds, out=args.out, quick=args.quick, on_seed=on_seed)
        held = sum(c.holds for c in r.claims)
        log.write(
            f"lesson {r.lesson:2d} {r.title}: {held} of {len(r.claims)} claims hold "
            f"over {len(r.seeds)} seed(s) ({r.seconds:.1f} s)"
        )
        for c in r.claims:
            mark = "holds" if c.holds else "DOES NOT HOLD"
            log.write(
                f"    {c.claim}: {c.quantity} {c.median:.4g} (median), expected "
                f"{c.expected}, held at {c.held}/{c.seeds} seeds -> {mark}"
            )
    log.close()
    path = report.build(args.out, registry.available())
    print(f"wrote {path}")
    return 0


class _Log:
    """Progress of ``run``: a tqdm bar on a terminal; plain lines (no carriage
    returns) when the output goes to a file or a pipe."""

    def __init__(self, total: int):
        self.tty = sys.stderr.isatty()
        self.bar = None
        if self.tty:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="experiments", unit="seed", dynamic_ncols=True)

    def status(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text)
        else:
            print(f"running {text}", flush=True)

    def step(self, text: str) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(text)

    def write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


if __name__ == "__main__":
    sys.exit(main())
