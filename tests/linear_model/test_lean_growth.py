"""Dense least squares keeps working sets at 1.5x the support after column solves when a
full gradient is cheap against their epochs (``_working_set._LEAN_GROWTH``), and takes the
outer Newton finish once the support changes by a few features between outer iterations
(``_working_set._SETTLED_CHANGE``), not only when it repeats exactly."""

import numpy as np
import pytest
from sklearn.linear_model import Lasso

import numsolve.linear_model._working_set as working_set
from numsolve.linear_model import L1, Quadratic, bcd

TOL = 1e-8


def _correlated(n, p, seed=0):
    rng = np.random.default_rng(seed)
    # equicorrelated columns (rho = 0.5) and a 10 % support: supports near n at small alpha
    X = np.sqrt(0.5) * rng.standard_normal((n, p)) + np.sqrt(0.5) * rng.standard_normal((n, 1))
    w = np.zeros(p)
    w[rng.choice(p, p // 10, replace=False)] = rng.standard_normal(p // 10)
    y = X @ w + 0.3 * rng.standard_normal(n)
    return np.asfortranarray(X), y


def _objective(X, y, alpha, w):
    r = y - X @ w
    return 0.5 * r @ r / X.shape[0] + alpha * np.abs(w).sum()


def _solve_recording(monkeypatch, X, y, alpha):
    """bcd's result and the (working set size, support size on entry) of each column solve."""
    record = []
    inner = working_set._inner

    def recording(design, y_, a, datafit, penalty, W, b, Z, G, ws, *args, **kwargs):
        record.append((ws.size, int(np.count_nonzero(W))))
        return inner(design, y_, a, datafit, penalty, W, b, Z, G, ws, *args, **kwargs)

    monkeypatch.setattr(working_set, "_inner", recording)
    result = bcd(X, y, Quadratic(), L1(alpha), tol=TOL)
    monkeypatch.setattr(working_set, "_inner", inner)
    return result, record


@pytest.mark.parametrize("divisor", [100, 1000])
def test_lean_working_sets_solve_to_the_requested_gap(monkeypatch, divisor):
    X, y = _correlated(100, 500)
    n = X.shape[0]
    alpha = np.abs(X.T @ y).max() / n / divisor
    result, record = _solve_recording(monkeypatch, X, y, alpha)
    # the rule took effect: some column solve ran on 1.5x its entering support
    assert any(size == int(1.5 * support) and support > 10 for size, support in record[1:])
    assert np.count_nonzero(result.x) > 0.8 * n  # support near n: the case the rule is for
    threshold = TOL * 0.5 * y @ y / n
    best = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=1_000_000).fit(X, y)
    # P(w) - P* <= gap <= threshold, and scikit-learn's objective is at least P*
    assert _objective(X, y, alpha, result.x) - _objective(X, y, alpha, best.coef_) <= threshold
    # KKT: |X_j'r/n| <= alpha off the support and = alpha sign(w_j) on it, to the gap's size
    corr = X.T @ (y - X @ result.x) / n
    assert np.all(np.abs(corr) <= alpha * (1 + 1e-3))
    on = result.x != 0
    np.testing.assert_allclose(corr[on], alpha * np.sign(result.x[on]), rtol=1e-3)


def test_lean_growth_same_solution_as_doubling(monkeypatch):
    X, y = _correlated(100, 500, seed=1)
    alpha = np.abs(X.T @ y).max() / X.shape[0] / 100
    lean = bcd(X, y, Quadratic(), L1(alpha), tol=TOL)
    monkeypatch.setattr(working_set, "_LEAN_GROWTH", 2)
    doubling = bcd(X, y, Quadratic(), L1(alpha), tol=TOL)
    threshold = TOL * 0.5 * y @ y / X.shape[0]
    assert lean.converged and doubling.converged
    assert abs(_objective(X, y, alpha, lean.x) - _objective(X, y, alpha, doubling.x)) <= threshold
    np.testing.assert_allclose(X @ lean.x, X @ doubling.x, atol=1e-3 * np.abs(y).max())


def test_settled_allows_a_few_changed_features():
    support = np.arange(0, 200, 2)
    moved = support.copy()
    moved[:2] = [1, 3]  # two features out, two in: four changes
    assert working_set._settled(support, support, 0.0)
    assert not working_set._settled(moved, support, 0.0)
    assert working_set._settled(moved, support, 0.04)
    assert not working_set._settled(moved, support, 0.03)
    assert not working_set._settled(support, None, 0.5)


def test_finish_starts_on_a_nearly_settled_dense_support(monkeypatch):
    X, y = _correlated(300, 1500)
    n = X.shape[0]
    alpha = np.abs(X.T @ y).max() / n / 100
    calls = []  # (settled, support changed) at each outer iteration's test
    settled = working_set._settled

    def recording(support, previous, change):
        result = settled(support, previous, change)
        calls.append((result, previous is not None and not np.array_equal(support, previous)))
        return result

    monkeypatch.setattr(working_set, "_settled", recording)
    result = bcd(X, y, Quadratic(), L1(alpha), tol=TOL)
    assert (True, True) in calls  # a finish started on a support that still moved
    assert result.converged
    threshold = TOL * 0.5 * y @ y / n
    best = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=1_000_000).fit(X, y)
    assert _objective(X, y, alpha, result.x) - _objective(X, y, alpha, best.coef_) <= threshold
    corr = X.T @ (y - X @ result.x) / n
    assert np.all(np.abs(corr) <= alpha * (1 + 1e-3))
