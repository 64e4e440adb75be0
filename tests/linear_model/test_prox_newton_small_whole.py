"""Binary logistic on a small problem: a working set holding every kept feature is solved
to the requested gap by its proximal Newton steps at once (``_SMALL_WHOLE``), instead of
one step per outer iteration; larger problems keep the schedule's looser inner stops."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from numsolve.linear_model import L1, L1PlusL2, Logistic, bcd
from numsolve.linear_model import _working_set
from numsolve.linear_model._objective import optimality


def _recorded_inner_tols(monkeypatch):
    """Patch the engine's proximal Newton solve to record ``(ws.size, inner_tol)``."""
    calls = []
    solve = _working_set.prox_newton_inner

    def recorded(design, y, a, datafit, penalty, W, b, Z, G, ws, col_means, inner_tol,
                 *args):
        calls.append((ws.size, inner_tol))
        return solve(design, y, a, datafit, penalty, W, b, Z, G, ws, col_means, inner_tol,
                     *args)

    monkeypatch.setattr(_working_set, "prox_newton_inner", recorded)
    return calls


def _breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), np.where(y == 1, 1.0, -1.0)


def _global_gap(X, labels, penalty, result):
    """The duality gap at the returned point, recomputed from scratch."""
    n = X.shape[0]
    a = np.full(n, 1.0 / n)
    W = result.x.reshape(-1, 1)
    Z = X @ W + result.intercept
    G = Logistic().raw_gradient(Z, labels, a, np)
    return optimality(Logistic(), penalty, W, Z, labels, a, X.T @ G, G, np,
                      X.T @ a)[1]


@pytest.mark.parametrize("C, penalty, most", [
    (1.0, "l1", 4), (10.0, "l1", 3), (1.0, "elasticnet", 3), (10.0, "elasticnet", 3)])
def test_small_whole_set_meets_the_gap_in_one_solve(monkeypatch, C, penalty, most):
    """breast_cancer (569 x 30): once the working set is every feature it is solved to
    half the requested gap, which ends the fit at the next check (before: 6, 5, 7 and 9
    outer iterations, one proximal Newton step each, on these four problems)."""
    X, labels = _breast_cancer()
    n, p = X.shape
    alpha = 1.0 / (C * n)
    reg = L1(alpha) if penalty == "l1" else L1PlusL2(alpha, 0.5)
    calls = _recorded_inner_tols(monkeypatch)
    result = bcd(X, labels, Logistic(), reg, fit_intercept=True)
    threshold = result.extras["threshold"]
    assert result.converged and result.n_iter <= most
    whole = [tol for size, tol in calls if size == p]
    assert whole and all(tol == 0.5 * threshold for tol in whole)
    assert _global_gap(X, labels, reg, result) <= threshold


def test_larger_whole_set_keeps_the_inner_fraction(monkeypatch):
    """Above ``_SMALL_WHOLE`` entries a whole working set keeps the loose inner stop
    (a fraction of the outer gap) while that gap is far from the request."""
    rng = np.random.default_rng(0)
    n, p = 4000, 30
    assert n * p > _working_set._SMALL_WHOLE
    X = rng.standard_normal((n, p))
    labels = np.where(X[:, :5].sum(axis=1) + rng.standard_normal(n) > 0, 1.0, -1.0)
    calls = _recorded_inner_tols(monkeypatch)
    result = bcd(X, labels, Logistic(), L1(0.002), fit_intercept=True, tol=1e-8)
    threshold = result.extras["threshold"]
    assert result.converged
    assert any(size == p and tol > 0.5 * threshold for size, tol in calls)
