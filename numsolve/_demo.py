"""The demo of every solver that exists: each area's ``_demo.py`` reports what it solved.

An area ``numsolve/<area>/`` takes part by shipping ``_demo.py`` with a function
``demo() -> list[dict]``; each dict has the keys ``solver``, ``problem``, ``quality`` (a
short text: residual, gap, RMSE, ...) and ``seconds``. Areas not built yet are absent.
"""

import importlib
import pkgutil
import time

import numsolve

AREAS = ("linalg", "linear_model", "semi_supervised", "completion", "dag", "neural")


def discover():
    """The ``_demo`` modules of the areas that exist, in a fixed order."""
    present = {module.name for module in pkgutil.iter_modules(numsolve.__path__)}
    modules = []
    for area in AREAS:
        if area not in present:
            continue
        try:
            modules.append(importlib.import_module(f"numsolve.{area}._demo"))
        except ModuleNotFoundError as error:
            if error.name != f"numsolve.{area}._demo":
                raise
    return modules


def run_demo(areas=None, out=print):
    """Run the demos (all, or those of ``areas``) and print a summary; return the rows."""
    rows = []
    start = time.perf_counter()
    for module in discover():
        area = module.__name__.split(".")[1]
        if areas and area not in areas:
            continue
        out(f"== numsolve.{area} ==")
        for row in module.demo():
            rows.append(row)
            out(f"  {row['solver']:<28} {row['seconds']:7.2f} s  {row['problem']}")
            out(f"  {'':<28} {'':>9}  -> {row['quality']}")
    if not rows:
        out("no solver demos found")
    out(f"{len(rows)} demos in {time.perf_counter() - start:.1f} s")
    return rows
