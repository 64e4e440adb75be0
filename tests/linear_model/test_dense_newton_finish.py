"""The least-squares Newton finish factors a small support's Hessian densely (Cholesky
instead of SuperLU's per-call cost) and lands where the sparse factorisation does."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model import L1, Quadratic
from numsolve.linear_model import _newton
from numsolve.linear_model._design import Design


def _finish(X, y, start, a, fit_intercept, alpha, monkeypatch, dense_support):
    """The finish from ``start``; returns ``(W, b, Z)`` and whether the Hessian it factored
    was sparse."""
    monkeypatch.setattr(_newton, "_DENSE_SUPPORT", dense_support)
    factored = []
    of = _newton._FixedHessian.of

    def spy(H, ridge):
        factored.append(sp.issparse(H))
        return of(H, ridge)

    monkeypatch.setattr(_newton._FixedHessian, "of", spy)
    n = X.shape[0]
    W = start.reshape(-1, 1).copy()
    b = np.array([0.2]) if fit_intercept else np.zeros(1)
    Z = np.asarray(X @ W).reshape(n, 1) + b
    assert _newton.newton_finish(Design(X), Quadratic(), L1(alpha), W, b, Z, y, a,
                                 fit_intercept)
    return (W, b, Z), factored == [True]


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_dense_small_support_equals_sparse(fit_intercept, monkeypatch):
    rng = np.random.default_rng(0)
    n, p = 2000, 1500
    X = sp.random(n, p, density=2e-3, format="csc", random_state=0,
                  data_rvs=rng.standard_normal)
    # columns with a few entries: a well-conditioned Hessian whose product stays sparse
    support = rng.choice(np.flatnonzero(X.getnnz(axis=0) >= 2), 80, replace=False)
    w = np.zeros(p)
    w[support] = rng.standard_normal(support.size)
    y = X @ w + 0.1 * rng.standard_normal(n)
    weights = rng.uniform(0.5, 2.0, n)
    a = weights / weights.sum()
    alpha = np.abs(X.T @ (a * y)).max() / 50
    # off the solution, with wrongly signed entries the finish must project away
    start = w * (1 + 0.5 * rng.random(p))
    start[support[:5]] *= -1
    dense, sparse_factor = _finish(X, y, start, a, fit_intercept, alpha, monkeypatch, 100)
    sparse, sparse_factor_kept = _finish(X, y, start, a, fit_intercept, alpha, monkeypatch, 0)
    assert not sparse_factor and sparse_factor_kept
    assert not np.allclose(dense[0][:, 0], start)  # the finish moved
    for got, expected in zip(dense, sparse):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("order", ["F", "C"])
@pytest.mark.parametrize("uniform", [False, True])
def test_upper_weighted_gram_is_the_products_upper_triangle(order, uniform):
    """The dense least-squares Hessian: ``XS' diag(h) XS`` on and above the diagonal, zeros
    below it, whichever memory order ``XS`` has (an appended intercept column makes it C),
    for uniform weights (``XS`` scaled in the update) and others."""
    rng = np.random.default_rng(1)
    XS = np.asarray(rng.standard_normal((300, 40)), order=order)
    h = np.full(300, 0.7) if uniform else rng.uniform(0.0, 2.0, 300)
    H = _newton._upper_weighted_gram(XS, h)
    expected = XS.T @ (h[:, None] * XS)
    upper = np.triu_indices(40)
    np.testing.assert_allclose(H[upper], expected[upper], rtol=1e-12, atol=1e-12)
    assert not np.tril(H, -1).any()


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_finish_meets_the_sign_fixed_optimality(fit_intercept, dtype):
    """From a start with the solution's support and signs, the finish's one step on dense
    ``X`` (weighted samples) zeroes the support's gradient ``XS' A (Z - y) + alpha sign(w)``
    and the intercept's ``1' A (Z - y)``, with ``Z = X W + b`` kept consistent."""
    rng = np.random.default_rng(2)
    n, p = 400, 60
    X = np.asfortranarray(rng.standard_normal((n, p)).astype(dtype))
    w = np.zeros(p)
    w[:15] = rng.choice([-1.0, 1.0], 15) * rng.uniform(1.0, 2.0, 15)
    y = X.astype(np.float64) @ w + 0.05 * rng.standard_normal(n)
    weights = rng.uniform(0.5, 2.0, n)
    a = weights / weights.sum()
    alpha = 1e-3
    W = (w * (1 + 0.1 * rng.random(p))).reshape(-1, 1)
    b = np.array([0.3]) if fit_intercept else np.zeros(1)
    Z = X.astype(np.float64) @ W + b
    assert _newton.newton_finish(Design(X), Quadratic(), L1(alpha), W, b, Z, y, a,
                                 fit_intercept)
    residual = Z[:, 0] - y
    np.testing.assert_allclose(Z[:, 0], X.astype(np.float64) @ W[:, 0] + b[0], atol=1e-10)
    support = np.flatnonzero(W[:, 0])
    np.testing.assert_array_equal(support, np.arange(15))
    gradient = X[:, support].astype(np.float64).T @ (a * residual)
    np.testing.assert_allclose(gradient + alpha * np.sign(W[support, 0]), 0.0, atol=1e-10)
    if fit_intercept:
        assert abs(a @ residual) <= 1e-10


def test_fixed_hessian_from_the_upper_triangle_adds_the_ridge_once():
    """The dense fixed-Hessian factor, built from an upper triangle shifted in place, applies
    ``(H + diag(ridge) + eps I)^{-1}``; with coordinates fixed it solves the active block."""
    rng = np.random.default_rng(3)
    XS = np.asfortranarray(rng.standard_normal((200, 30)))
    a = np.full(200, 1.0 / 200)
    ridge = rng.uniform(0.5, 1.0, 30)
    H = XS.T @ (a[:, None] * XS)
    full = H + np.diag(ridge + _newton._RELATIVE_RIDGE * H.diagonal().mean())
    fixed = _newton._FixedHessian.of(_newton._quadratic_hessian(XS, a), ridge)
    g = rng.standard_normal(30)
    np.testing.assert_allclose(fixed.solve(g), np.linalg.solve(full, g), rtol=1e-10)
    active = np.ones(30, dtype=bool)
    active[[4, 17]] = False
    expected = np.zeros(30)
    expected[active] = -np.linalg.solve(full[np.ix_(active, active)], g[active])
    np.testing.assert_allclose(fixed.step(g, active), expected, rtol=1e-9, atol=1e-12)
