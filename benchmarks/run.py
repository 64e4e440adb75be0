"""Run numsolve's side-by-side benchmarks against the peers.

Usage::

    python benchmarks/run.py <name>|all [--quick] [--case TEXT] [--repeats N] [--out DIR]

``<name>`` selects ``benchmarks/bench_<name>.py``. Results go to ``benchmarks/results/``
(``<name>.json`` and a markdown table ``<name>.md``). ``--quick`` runs small problems, as a
smoke test of the harness. ``--case TEXT`` runs only the cases whose name contains TEXT and
writes ``<name>_<TEXT as a file name>.json/.md`` so that a partial run never overwrites the
full report. To let BLAS-backed peers run at full speed, unset
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE in the benchmark command; the report names the BLAS
kernel that ran.
"""

import argparse
import re
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import environment, run_case, write_report  # noqa: E402

if importlib.util.find_spec("numsolve") is None:  # a checkout with in-place built kernels
    sys.path.insert(0, str(HERE.parent))


def available():
    """Benchmark names found next to this script."""
    return sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))


def load(name):
    path = HERE / f"bench_{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="benchmark name, or 'all': " + ", ".join(available()))
    parser.add_argument("--quick", action="store_true", help="small problems (smoke test)")
    parser.add_argument("--case", default=None, help="only the cases whose name contains this text")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds per contender")
    parser.add_argument("--out", default=str(HERE / "results"), help="output folder")
    args = parser.parse_args(argv)
    names = available() if args.name == "all" else [args.name]
    unknown = [n for n in names if n not in available()]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; available: {', '.join(available())}")
    env = environment()
    for name in names:
        module = load(name)
        print(f"# {name}" + (" (quick)" if args.quick else ""))
        records = []
        for case in module.cases(quick=args.quick):
            if args.case is not None and args.case not in case.name:
                continue
            print(f"{case.name}: {case.description}")
            records.append(run_case(case, repeats=args.repeats))
        suffix = "_quick" if args.quick else ""
        if args.case is not None:
            suffix += "_" + re.sub(r"[^0-9A-Za-z]+", "_", args.case).strip("_")
        write_report(name + suffix, records, env, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
