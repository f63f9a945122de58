"""Command line: ``python -m experiments demo``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a short tour of the course, trained for real")
    demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from experiments.demo import main as demo_main

        demo_main(args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
