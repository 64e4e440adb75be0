"""Smoke test of the benchmark harness: alternating runs, ratios, JSON and markdown reports;
the bcd benchmark's comparison of peers at equal or smaller gap."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
pytestmark = pytest.mark.skipif(not BENCHMARKS.is_dir(), reason="run from a source checkout")


def _benchmark_module(name):
    """Yield the module ``benchmarks/<name>.py``, importable only for the test's duration."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture
def harness():
    yield from _benchmark_module("_harness")


@pytest.fixture
def bench_bcd():
    yield from _benchmark_module("bench_bcd")


class FakeClock:
    """A clock that only moves when a contender says how long it took."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_ratios_medians_and_alternation(harness, tmp_path):
    clock = FakeClock()
    calls = []

    def contender(name, durations):
        rounds = iter(durations)

        def run(problem):
            calls.append(name)
            clock.now += next(rounds)
            return {"iterations": problem["n"]}
        return harness.Contender(name, run)

    # First duration: the untimed warm-up, which must stay out of the medians.
    case = harness.Case(
        name="toy", description="fake durations", setup=lambda: {"n": 3},
        contenders=[contender("numsolve", [100.0, 1.0, 3.0, 2.0, 50.0]),
                    contender("peer", [100.0, 10.0, 10.0, 40.0, 20.0]),
                    harness.Contender("absent", lambda p: {}, requires="no_such_module_xyz")],
        repeats=4,
    )
    record = harness.run_case(case, log=lambda *a: None, clock=clock)
    # warm-up once each, then rounds with rotating order
    assert calls == ["numsolve", "peer"] + ["numsolve", "peer", "peer", "numsolve"] * 2
    rows = {row["contender"]: row for row in record["rows"]}
    assert rows["numsolve"]["times_s"] == [1.0, 3.0, 2.0, 50.0]
    assert rows["numsolve"]["median_s"] == 2.5
    assert rows["peer"]["median_s"] == 15.0
    assert rows["numsolve"]["ratio_numsolve_over_this"] == 1.0
    assert rows["peer"]["ratio_numsolve_over_this"] == pytest.approx(2.5 / 15.0)
    assert rows["peer"]["quality"] == {"iterations": 3}
    assert record["reference"] == "numsolve" and record["repeats"] == 4
    assert record["skipped"] == ["absent"]
    text = harness.write_report("toy", [record], harness.environment(), tmp_path)
    payload = json.loads((tmp_path / "toy.json").read_text())
    assert payload["cases"][0]["rows"][1]["contender"] == "peer"
    assert "blas" in payload["environment"]
    # the load average at start and end is recorded and printed in the header
    loads = [payload["environment"][f"load_average_at_{when}"] for when in ("start", "end")]
    assert all(len(load) == 3 and min(load) >= 0 for load in loads)
    assert f"load average (1/5/15 min) {'/'.join(f'{v:.2f}' for v in loads[0])} at start" in text
    assert "| peer | 15 | 0.167 | iterations=3 |" in text and (tmp_path / "toy.md").exists()


def test_a_timed_figure_replaces_the_wall_time_of_the_call(harness):
    clock = FakeClock()

    def run(problem):
        clock.now += 10.0  # the fit and then its quality figures
        return {"fit_s": 4.0, "gap": 0.0}

    case = harness.Case(name="fit alone", description="timed by its fit",
                        setup=lambda: {}, repeats=3,
                        contenders=[harness.Contender("numsolve", run, timed_figure="fit_s"),
                                    harness.Contender("whole call", run)])
    record = harness.run_case(case, log=lambda *a: None, clock=clock)
    rows = {row["contender"]: row for row in record["rows"]}
    assert rows["numsolve"]["times_s"] == [4.0, 4.0, 4.0]
    assert rows["whole call"]["times_s"] == [10.0, 10.0, 10.0]
    assert rows["whole call"]["ratio_numsolve_over_this"] == pytest.approx(0.4)


def test_a_case_whose_setup_needs_a_missing_peer_is_skipped(harness):
    def setup():
        import no_such_module_xyz  # noqa: F401

    case = harness.Case(name="needs a peer", description="", setup=setup,
                        contenders=[harness.Contender("numsolve", lambda p: {})])
    record = harness.run_case(case, log=lambda *a: None)
    assert record["rows"] == [] and record["skipped"] == ["numsolve"]
    assert "no_such_module_xyz" in record["notes"][-1]


def test_run_py_quick_on_every_benchmark(tmp_path):
    names = sorted(p.stem[len("bench_"):] for p in BENCHMARKS.glob("bench_*.py"))
    if not names:
        pytest.skip("no benchmark modules yet")
    import numsolve

    package_root = str(Path(numsolve.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "all", "--quick", "--repeats", "1",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in names:
        payload = json.loads((tmp_path / f"{name}_quick.json").read_text())
        ran = [case for case in payload["cases"] if case["rows"]]
        assert ran, f"{name}: no case ran"
        for case in ran:
            assert all(len(r["times_s"]) == 1 for r in case["rows"])


def test_run_py_rejects_unknown_names():
    result = subprocess.run([sys.executable, str(BENCHMARKS / "run.py"), "nonexistent"],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "unknown benchmark" in result.stderr


def _peer(gap_at, calls):
    """A fake peer whose final gap is ``gap_at(tighter)``; the target gap is 1."""
    def run(problem, tighter=1.0):
        calls.append(tighter)
        return {"fit_s": 1.0, "gap": gap_at(tighter), "target_gap": 1.0}
    return run


def test_the_loosest_tolerance_that_meets_the_target_is_timed(bench_bcd):
    calls = []
    run = bench_bcd._at_target(_peer(lambda tighter: 500 * tighter, calls))
    problem = {}
    first = run(problem)
    assert first["tol_tightened"] == 1000 and first["met_target"]
    assert calls == [1.0, 0.1, 0.01, 0.001, 0.001]
    run(problem)  # the tightening found on the warm-up run is reused
    assert calls[-1] == 0.001 and len(calls) == 6


def test_a_peer_that_breaks_down_keeps_its_last_sound_tolerance(bench_bcd):
    calls = []
    gaps = {1.0: 50.0, 0.1: 20.0, 0.01: 80.0}
    run = bench_bcd._at_target(_peer(lambda tighter: gaps.get(round(tighter, 6), 1e3),
                                     calls))
    figures = run({})
    assert figures["tol_tightened"] == 10 and not figures["met_target"]
    assert figures["gap"] == 20.0


def test_a_gap_above_the_objective_at_zero_stops_the_tightening(bench_bcd):
    calls = []
    run = bench_bcd._at_target(_peer(lambda tighter: 1e12, calls))
    figures = run({})
    assert figures["tol_tightened"] == 1 and not figures["met_target"]
    assert calls == [1.0, 1.0]


def test_the_grid_summary_compares_with_the_fastest_peer_at_the_target(bench_bcd):
    def row(name, seconds, gap, tightened=1):
        return {"contender": name, "median_s": seconds,
                "quality": {"gap": gap, "target_gap": 1.0, "tol_tightened": tightened}}

    record = {"case": "grid_lasso_dense_10x10_amax/10", "reference": "numsolve",
              "rows": [row("numsolve", 2.0, 0.5), row("skglm Lasso", 1.0, 30.0),
                       row("celer Lasso", 4.0, 0.2, tightened=100), row("sklearn Lasso", 8.0, 1.0)]}
    summary = bench_bcd._grid_row(record)
    assert summary["fastest_peer"] == "celer Lasso (tol/100)"
    assert summary["ratio_fastest"] == pytest.approx(0.5)
    assert summary["any_peer"] == "skglm Lasso" and summary["ratio_any"] == pytest.approx(2.0)
    assert summary["ratio_skglm"] == pytest.approx(2.0)
    assert summary["numsolve_gap"] == pytest.approx(0.5)
