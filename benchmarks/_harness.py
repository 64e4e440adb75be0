"""Side-by-side benchmark harness: cases, contenders, alternating timed runs, reports.

A benchmark module ``benchmarks/bench_<name>.py`` defines ``cases(quick) -> list[Case]``.
Each case builds its problem once; every contender solves it, first once untimed (JIT
compilation, caches), then ``repeats`` timed rounds in rotating order so that no contender
always runs first. Times are medians; ratios are numsolve's time over each peer's.
"""

import importlib.util
import json
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Case", "Contender", "run_case", "environment", "write_report"]


@dataclass
class Contender:
    """One solver in a comparison.

    Parameters
    ----------
    name : str
        Label in the report.
    run : callable
        ``run(problem) -> dict`` solving the problem and returning quality figures
        (``{"gap": ..., "iterations": ...}``); its wall time is what is measured.
    requires : str, optional
        Module that must be importable; the contender is reported as skipped otherwise.
    timed_figure : str, optional
        A figure that ``run`` reports as its own timing in seconds (``"fit_s"``: the fit
        alone); it is then measured instead of the whole call, so that computing the quality
        figures does not pull every ratio towards 1.
    """

    name: str
    run: Callable
    requires: str | None = None
    timed_figure: str | None = None

    @property
    def available(self):
        return self.requires is None or importlib.util.find_spec(self.requires) is not None


@dataclass
class Case:
    """One problem, the contenders that solve it, and how the comparison is read.

    Parameters
    ----------
    name : str
        Label of the problem.
    description : str
        Sizes, seeds and stopping criteria, identical for every contender.
    setup : callable
        ``setup() -> problem``, called once.
    contenders : list of Contender
        The first one is numsolve's reference for the ratios.
    repeats : int, default=3
        Timed rounds per contender.
    """

    name: str
    description: str
    setup: Callable
    contenders: list
    repeats: int = 3
    reference: str | None = None
    notes: list = field(default_factory=list)


def run_case(case, repeats=None, log=print, clock=time.perf_counter):
    """Run one case and return its record (a JSON-ready dict).

    Parameters
    ----------
    case : Case
    repeats : int, optional
        Timed rounds per contender; the case's own ``repeats`` by default.
    log : callable, default=print
        Receives one line of text per contender.
    clock : callable, default=time.perf_counter
        Seconds as a float; the timings are differences of two readings.
    """
    repeats = repeats or case.repeats
    try:
        problem = case.setup()
    except ModuleNotFoundError as error:  # the problem generator comes from a peer's package
        log(f"  skipped: its setup needs {error.name}, which is not installed")
        return {"case": case.name, "description": case.description, "reference": None,
                "repeats": 0, "rows": [], "skipped": [c.name for c in case.contenders],
                "notes": case.notes + [f"setup needs {error.name} (not installed)"]}
    runnable = [c for c in case.contenders if c.available]
    skipped = [c.name for c in case.contenders if not c.available]
    reference = case.reference or runnable[0].name
    times = {c.name: [] for c in runnable}
    quality = {}
    for contender in runnable:  # untimed warm-up: JIT compilation, caches, imports
        quality[contender.name] = contender.run(problem)
    for round_index in range(repeats):
        shift = round_index % len(runnable)
        for contender in runnable[shift:] + runnable[:shift]:
            start = clock()
            figures = contender.run(problem)
            elapsed = clock() - start
            times[contender.name].append(elapsed if contender.timed_figure is None
                                         else figures[contender.timed_figure])
            quality[contender.name] = figures
    medians = {name: statistics.median(values) for name, values in times.items()}
    rows = []
    for contender in runnable:
        name = contender.name
        rows.append({
            "contender": name,
            "median_s": medians[name],
            "times_s": times[name],
            "ratio_numsolve_over_this": medians[reference] / medians[name],
            "quality": _plain(quality[name]),
        })
        log(f"  {name:<32} {medians[name]:10.4f} s  "
            f"ratio {medians[reference] / medians[name]:7.3f}  {_plain(quality[name])}")
    return {
        "case": case.name,
        "description": case.description,
        "reference": reference,
        "repeats": repeats,
        "rows": rows,
        "skipped": skipped,
        "notes": case.notes,
    }


def _plain(figures):
    """Quality figures as JSON-ready floats/ints/strings."""
    out = {}
    for key, value in (figures or {}).items():
        if hasattr(value, "item"):
            value = value.item()
        out[key] = value
    return out


def environment():
    """Versions, BLAS kernel and thread settings the figures were measured with."""
    from threadpoolctl import threadpool_info

    import numpy

    info = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "numpy": numpy.__version__,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        # other work on the machine flips ratios: the report shows how busy it was
        "load_average_at_start": _load_average(),
        "blas": [
            {k: pool.get(k) for k in ("internal_api", "version", "architecture",
                                       "num_threads", "filepath")}
            for pool in threadpool_info() if pool.get("user_api") == "blas"
        ],
    }
    for module in ("scipy", "sklearn", "pyamg", "skglm", "celer", "torch"):
        spec = importlib.util.find_spec(module)
        if spec is not None:
            info[module] = getattr(importlib.import_module(module), "__version__", "?")
    return info


def _load_average():
    """The 1-, 5- and 15-minute load averages, or None where the platform has none."""
    try:
        return [round(load, 2) for load in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def write_report(name, records, env, out_dir):
    """Write ``<name>.json`` and ``<name>.md`` under ``out_dir``; return the markdown text."""
    os.makedirs(out_dir, exist_ok=True)
    env = {**env, "load_average_at_end": _load_average()}
    payload = {"benchmark": name, "environment": env, "cases": records}
    with open(os.path.join(out_dir, f"{name}.json"), "w") as handle:
        json.dump(payload, handle, indent=2, default=str)
    blas = ", ".join(f"{b['internal_api']} {b['version']} ({b['architecture']})"
                     for b in env["blas"]) or "none found"
    lines = [f"# Benchmark `{name}`", "",
             f"numpy {env['numpy']}, BLAS: {blas}, {env['cpu_count']} CPUs, "
             f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}, load average (1/5/15 min) "
             f"{_fmt_load(env.get('load_average_at_start'))} at start, "
             f"{_fmt_load(env.get('load_average_at_end'))} at end", ""]
    for record in records:
        lines += [f"## {record['case']}", "", record["description"], ""]
        if record["rows"]:
            lines += [f"Ratio = time of `{record['reference']}` / time of the contender "
                      "(below 1: numsolve is faster).", "",
                      "| contender | median s | ratio | quality |", "|---|---|---|---|"]
        for row in record["rows"]:
            quality = ", ".join(f"{k}={_fmt(v)}" for k, v in row["quality"].items())
            lines.append(f"| {row['contender']} | {row['median_s']:.4g} | "
                         f"{row['ratio_numsolve_over_this']:.3f} | {quality} |")
        if record["skipped"]:
            lines += ["", "Not installed, skipped: " + ", ".join(record["skipped"])]
        lines += [f"- {note}" for note in record["notes"]]
        lines.append("")
    text = "\n".join(lines)
    with open(os.path.join(out_dir, f"{name}.md"), "w") as handle:
        handle.write(text)
    return text


def _fmt_load(load):
    return "unknown" if load is None else "/".join(f"{value:.2f}" for value in load)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
