"""Proximal Newton on the working set (binary L1-logistic): supports near n (at most n
nonzeros generically), where an active-set Newton finish factors a rank-deficient Hessian."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model import L1, Logistic, bcd
from numsolve.linear_model._design import Design
from numsolve.linear_model._prox_newton import prox_newton_inner


def _wide(sparse, n=80, p=800):
    rng = np.random.default_rng(3)
    if sparse:
        X = sp.random(n, p, density=0.05, format="csc", random_state=3,
                      data_rvs=rng.standard_normal)
    else:
        X = np.asfortranarray(rng.standard_normal((n, p)))
    y = np.where(rng.standard_normal(n) + X[:, :5] @ np.ones(5) > 0, 1.0, -1.0)
    alpha_max = np.abs(X.T @ y).max() / (2 * n)
    return X, y, alpha_max


def _gap_and_kkt(X, y, w, b, alpha):
    """Duality gap and subdifferential distance of ``w`` computed from scratch."""
    n = X.shape[0]
    a = np.full(n, 1.0 / n)
    datafit, penalty = Logistic(), L1(alpha)
    Z = np.asarray(X @ w).reshape(-1, 1) + b
    G = datafit.raw_gradient(Z, y, a, np)
    grad = np.asarray(X.T @ G).reshape(-1, 1)
    kkt = penalty.subdiff_distance(w.reshape(-1, 1), grad, np).max()
    theta = G * min(1.0, alpha / max(np.abs(grad).max(), 1e-300))
    primal = float(datafit.value(Z, y, a, np) + penalty.value(w.reshape(-1, 1), np))
    return primal + float(datafit.conjugate(theta, y, a, np)), kkt


@pytest.mark.parametrize("sparse", [False, True])
def test_support_near_n_reaches_requested_gap(sparse):
    X, y, alpha_max = _wide(sparse)
    alpha = alpha_max / 1000
    tol = 1e-10
    res = bcd(X, y, Logistic(), L1(alpha), tol=tol)
    w = res.x.ravel()
    assert res.converged
    gap, kkt = _gap_and_kkt(X, y, w, 0.0, alpha)
    assert 0 <= gap <= tol * np.log(2) * 1.0001
    assert kkt < 1e-6
    # the regime where the finish factors a near-singular m x m Hessian
    assert np.count_nonzero(w) > X.shape[0] / 2


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_steps_decrease_objective_to_restricted_gap(fit_intercept):
    X, y, alpha_max = _wide(False, n=120, p=60)
    n, p = X.shape
    a = np.full(n, 1.0 / n)
    datafit, penalty = Logistic(), L1(alpha_max / 20)
    design = Design(X)
    W, b, Z, G = np.zeros((p, 1)), np.zeros(1), np.zeros((n, 1)), np.empty((n, 1))
    ws = np.arange(p, dtype=np.int32)
    col_means = np.asarray(X.T @ a) if fit_intercept else None
    values = []

    def criterion(grad):
        values.append(float(datafit.value(Z, y, a, np) + penalty.value(W, np)))
        return _gap_and_kkt(X, y, W.ravel(), b, penalty.l1)[1]

    _, stalled = prox_newton_inner(design, y, a, datafit, penalty, W, b, Z, G, ws, col_means,
                                   1e-9, 50, criterion)
    assert not stalled
    assert np.all(np.diff(values) <= 0)
    assert _gap_and_kkt(X, y, W.ravel(), b, penalty.l1)[1] <= 1e-9
    np.testing.assert_allclose(Z.ravel(), X @ W.ravel() + b, atol=1e-12)
    if fit_intercept:  # the intercept's optimality: the raw gradient sums to zero
        assert abs(datafit.raw_gradient(Z, y, a, np).sum()) < 1e-8
