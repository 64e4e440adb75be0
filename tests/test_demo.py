"""The demo command runs the demo of every area, and each demo shows what its solver claims.

The demos report their figures as text (``quality``); the checks below read the figures back
and hold each against the baseline the claim is about.
"""

import re
import subprocess
import sys

import pytest

from numsolve._demo import AREAS, discover, run_demo


def figure(text, label):
    """The number written right after ``label`` in ``text``."""
    match = re.search(re.escape(label) + r"\s*([-+]?\d[\d.]*(?:e[-+]?\d+)?)", text)
    assert match, f"no figure after {label!r} in {text!r}"
    return float(match.group(1))


def by_solver(rows, prefix):
    """The quality texts of the rows whose solver name starts with ``prefix``."""
    found = [row["quality"] for row in rows if row["solver"].startswith(prefix)]
    assert found, f"no demo row for {prefix!r}"
    return found


def check_linalg(rows):
    (gauss_seidel,) = by_solver(rows, "linalg.sor (Gauss-Seidel)")
    (sor,) = by_solver(rows, "linalg.sor (SOR")
    for quality in [gauss_seidel, sor, *by_solver(rows, "linalg.ssor_cg")]:
        assert figure(quality, "relative residual") <= 1e-8
    # Baseline: Gauss-Seidel (omega = 1); Young's omega needs a fraction of its sweeps.
    assert figure(sor, "") < figure(gauss_seidel, "") / 5
    for quality in by_solver(rows, "linalg.solve_sequence"):
        assert figure(quality, "mean") < figure(quality, "Gauss-Seidel ~")


def check_linear_model(rows):
    for quality in by_solver(rows, "bcd ("):
        assert figure(quality, "gap") <= 1e-6
    (cyclic,) = by_solver(rows, "bcd cyclic")
    (greedy,) = by_solver(rows, "bcd gsl")
    # The paper's claim against the cyclic rule: greedy blocks decrease f faster.
    assert figure(greedy, "f after 200 blocks of 5:") < figure(cyclic, "f after 200 blocks of 5:")


def check_semi_supervised(rows):
    (harmonic,) = by_solver(rows, "harmonic_solution")
    assert figure(harmonic, "relative residual") <= 1e-8
    (propagation,) = by_solver(rows, "LabelPropagation")
    assert figure(propagation, "accuracy on unlabelled points") >= 0.9  # chance: 0.5


def check_completion(rows):
    for quality in by_solver(rows, "altmin("):  # noiseless: exact recovery
        assert figure(quality, "relative error") <= 1e-6
    (model,) = by_solver(rows, "MatrixCompletion")
    # Within 25 % of the noise level; predicting the mean would be off by the signal's scale.
    assert figure(model, "held-out RMSE") <= 1.25 * figure(model, "noise level")


def check_dag(rows):
    (topo,) = by_solver(rows, "dag.topo_swaps")
    assert figure(topo, "SHD") == 0 and figure(topo, "TPR") == 1.0  # empty graph: SHD 40


def check_neural(rows):
    (classifier,) = by_solver(rows, "GBNNClassifier")
    assert figure(classifier, "test accuracy") >= 0.9
    (regressor,) = by_solver(rows, "GBNNRegressor")
    assert figure(regressor, "test RMSE") < 65  # diabetes: predicting the mean gives about 77
    (network,) = by_solver(rows, "SvenRegressor")
    assert figure(network, "validation MSE") <= 1e-4
    (least_squares,) = by_solver(rows, "sven")
    assert figure(least_squares, "cost") <= 1e-12


CLAIMS = {
    "linalg": check_linalg,
    "linear_model": check_linear_model,
    "semi_supervised": check_semi_supervised,
    "completion": check_completion,
    "dag": check_dag,
    "neural": check_neural,
}


def test_every_area_has_a_demo():
    assert [module.__name__ for module in discover()] == [f"numsolve.{a}._demo" for a in AREAS]
    assert set(CLAIMS) == set(AREAS)


@pytest.mark.parametrize("area", AREAS)
def test_demo_runs_and_shows_its_claim(area):
    lines = []
    rows = run_demo([area], out=lines.append)
    assert rows, f"the {area} demo returned no row"
    for row in rows:
        assert set(row) >= {"solver", "problem", "quality", "seconds"}
        assert row["problem"] and row["quality"]
    assert lines[0] == f"== numsolve.{area} =="
    assert re.fullmatch(rf"{len(rows)} demos in \d+\.\d s", lines[-1])
    CLAIMS[area](rows)


def test_an_unknown_area_runs_nothing_and_says_so():
    lines = []
    assert run_demo(["no_such_area"], out=lines.append) == []
    assert lines[0] == "no solver demos found"


def test_command_line_entry_point(tmp_path):
    # Started elsewhere than the repository root, which would import the unbuilt source tree.
    result = subprocess.run([sys.executable, "-m", "numsolve", "--help"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0 and "demo" in result.stdout
