"""Command line: ``numsolve demo [AREA ...]`` (or ``python -m numsolve demo``) runs the demos."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="numsolve", description="numsolve command line")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="solve small built-in problems with every solver")
    demo.add_argument("areas", nargs="*", help="limit to these areas (linalg, linear_model, ...)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from numsolve._demo import run_demo

        rows = run_demo(args.areas or None)
        return 0 if rows else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
