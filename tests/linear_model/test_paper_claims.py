"""The paper's qualitative claims on its dataset recipes (A: least squares, B: logistic):
greedy GSL/GSQ selection beats cyclic and random selection, and matrix / Newton updates beat
Lipschitz gradient updates, measured as the objective after the same number of iterations."""

import numpy as np
import pytest

from numsolve.linear_model import Logistic, NoPenalty, NonNegL1, Quadratic, bcd
from numsolve.linear_model._datasets import make_paper_dataset


@pytest.fixture(scope="module")
def datasets():
    return {"A": make_paper_dataset("A", 150, 400, random_state=1),
            "B": make_paper_dataset("B", 150, 400, random_state=1)}


def _objective_after(data, name, rule, update, partition, iterations=150):
    X, y = data[name]
    datafit = Quadratic() if name == "A" else Logistic()
    res = bcd(X, y, datafit, NoPenalty(), rule=rule, block_size=5, partition=partition,
              update=update, max_iter=iterations, tol=0.0, random_state=0)
    return res.objective


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", ["A", "B"])
@pytest.mark.parametrize("partition", ["variable", "sort"])
def test_greedy_rules_beat_cyclic_and_random(datasets, name, partition):
    baseline = min(_objective_after(datasets, name, rule, "lipschitz", partition)
                   for rule in ("cyclic", "random", "lipschitz"))
    for rule in ("gsl", "gsq"):
        assert _objective_after(datasets, name, rule, "lipschitz", partition) < baseline


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", ["A", "B"])
def test_matrix_and_newton_updates_beat_lipschitz(datasets, name):
    lipschitz = _objective_after(datasets, name, "gsl", "lipschitz", "sort")
    assert _objective_after(datasets, name, "gsl", "matrix", "sort") < lipschitz
    assert _objective_after(datasets, name, "gsl", "newton", "sort") < lipschitz


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_gsq_rule_selects_progress_on_nonnegative_l1(datasets):
    # the paper's figure 7 problem: non-negative L1 least squares; the GS-q rule with
    # prox-Newton ("matrix") updates reaches a lower objective than random selection
    X, y = datasets["A"]
    lam = 0.05 * np.abs(X.T @ y).max() / X.shape[0]
    greedy = bcd(X, y, Quadratic(), NonNegL1(lam), rule="gs-q", block_size=5,
                 update="matrix", max_iter=100, tol=0.0)
    random = bcd(X, y, Quadratic(), NonNegL1(lam), rule="random", block_size=5,
                 update="matrix", max_iter=100, tol=0.0, random_state=0)
    assert greedy.objective < random.objective
    assert greedy.x.min() >= 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_two_metric_projection_beats_projected_gradient_on_nonnegative_l1(datasets):
    # figure 7: with GS-q blocks, the two-metric projection (Newton on the free coordinates,
    # projection onto the orthant) makes more progress per iteration than projected gradient
    X, y = datasets["A"]
    lam = 0.05 * np.abs(X.T @ y).max() / X.shape[0]
    results = {update: bcd(X, y, Quadratic(), NonNegL1(lam), rule="gs-q", block_size=5,
                           update=update, max_iter=100, tol=0.0)
               for update in ("lipschitz", "two-metric")}
    assert results["two-metric"].objective < results["lipschitz"].objective
    assert results["two-metric"].x.min() >= 0


def test_two_metric_projection_reaches_the_nonnegative_solution(datasets):
    X, y = datasets["A"]
    lam = 0.05 * np.abs(X.T @ y).max() / X.shape[0]
    res = bcd(X, y, Quadratic(), NonNegL1(lam), rule="gs-q", block_size=10,
              update="two-metric", max_iter=20_000, tol=1e-8)
    ref = bcd(X, y, Quadratic(), NonNegL1(lam), tol=1e-12)
    assert res.converged and res.gap <= res.threshold
    assert res.x.min() >= 0
    assert res.objective == pytest.approx(ref.objective, rel=1e-6)
