"""Command line: ``python -m experiments demo`` and ``python -m experiments bench fit``."""

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
    demo = sub.add_parser("demo", help="a short tour of the course, trained for real")
    demo.add_argument("--seed", type=int, default=0)
    bench = sub.add_parser("bench", help="benchmarks (printed and saved as JSON)")
    bench.add_argument(
        "name",
        choices=["fit", "restarts"],
        help="fit: jaxnn.fit vs a hand-written loop; restarts: the W1 restart study",
    )
    bench.add_argument("--host-devices", type=int, default=0, help="XLA CPU devices (restarts)")
    bench.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    bench.add_argument("--out", default="results/bench", help="where to write JSON")
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
    if args.command == "demo":
        from experiments.demo import main as demo_main

        demo_main(args.seed)
    elif args.command == "restarts":
        _host_devices(args.host_devices)
        restarts_mod.run(args)
    elif args.command == "bench":
        if args.name == "fit":
            from experiments.bench_fit import main as bench_fit

            bench_fit(quick=args.quick, out=args.out)
        else:
            _host_devices(args.host_devices)
            from experiments.bench_restarts import main as bench_restarts

            bench_restarts(quick=args.quick, out=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
