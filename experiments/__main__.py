"""Command line: ``python -m experiments demo`` and ``python -m experiments bench fit``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a short tour of the course, trained for real")
    demo.add_argument("--seed", type=int, default=0)
    bench = sub.add_parser("bench", help="benchmarks (printed and saved as JSON)")
    bench.add_argument("name", choices=["fit"], help="fit: jaxnn.fit vs a hand-written loop")
    bench.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    bench.add_argument("--out", default="results/bench", help="where to write JSON")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from experiments.demo import main as demo_main

        demo_main(args.seed)
    elif args.command == "bench":
        from experiments.bench_fit import main as bench_fit

        bench_fit(quick=args.quick, out=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
