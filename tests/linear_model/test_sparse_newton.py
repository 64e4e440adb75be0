"""The least-squares Newton finish on sparse wide data: its Hessian is factored sparse, and
the finish lands where the dense factorisation does, at the exact solution."""

import numpy as np
import scipy.sparse as sp

from numsolve.linear_model import L1, Quadratic, bcd
from numsolve.linear_model._design import Design
from numsolve.linear_model._newton import _quadratic_hessian, newton_finish


def _problem(seed=0, n=500, p=2000):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=5e-3, format="csc", random_state=seed,
                  data_rvs=rng.standard_normal)
    w = np.zeros(p)
    w[rng.choice(p, 40, replace=False)] = 3 * rng.standard_normal(40)
    y = X @ w + 0.1 * rng.standard_normal(n)
    return X, y, np.abs(X.T @ y).max() / n / 100


def _finish(X, y, alpha, w):
    """The finish from ``w`` (no intercept); returns the new coefficients."""
    n = X.shape[0]
    W = w.reshape(-1, 1).copy()
    Z = np.asarray(X @ W).reshape(n, 1)
    newton_finish(Design(X), Quadratic(), L1(alpha), W, np.zeros(1), Z, y,
                  np.full(n, 1.0 / n), False)
    return W[:, 0]


def test_sparse_support_hessian_stays_sparse():
    X, y, alpha = _problem()
    exact = bcd(X, y, Quadratic(), L1(alpha), tol=1e-14, fit_intercept=False)
    support = np.flatnonzero(exact.x)
    assert support.size > 100
    H = _quadratic_hessian(X[:, support], np.full(X.shape[0], 1.0 / X.shape[0]))
    assert sp.issparse(H)
    dense = (X[:, support].T @ X[:, support]).toarray() / X.shape[0]
    np.testing.assert_allclose(H.toarray(), dense, atol=1e-15)


def test_sparse_finish_matches_dense_and_reaches_the_solution():
    X, y, alpha = _problem()
    exact = bcd(X, y, Quadratic(), L1(alpha), tol=1e-14, fit_intercept=False).x
    rng = np.random.default_rng(1)
    start = exact * (1 + 0.3 * rng.random(exact.size))
    # wrongly signed extra coefficients the finish must project away
    off = rng.choice(np.flatnonzero(exact == 0), 5, replace=False)
    start[off] = 0.01
    w_sparse = _finish(X, y, alpha, start)
    np.testing.assert_allclose(w_sparse, _finish(X.toarray(), y, alpha, start), atol=1e-10)
    assert not np.allclose(w_sparse, start)
    # with the solution's signs, one step lands on the solution from a far start
    start[off] = 0.0
    assert np.abs(start - exact).max() > 1e-2
    np.testing.assert_allclose(_finish(X, y, alpha, start), exact, atol=1e-8)
