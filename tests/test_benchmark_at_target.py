"""The bcd benchmark compares peers at equal or smaller gap: each peer's tolerance is
tightened tenfold until its gap meets the target, and the grid summary reads the fastest peer
at the target."""

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
pytestmark = pytest.mark.skipif(not BENCHMARKS.is_dir(), reason="run from a source checkout")


@pytest.fixture
def bench_bcd():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_bcd

        yield bench_bcd
    finally:
        sys.path.remove(str(BENCHMARKS))


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
