"""Dense least squares: the first working set is sized from the first gradient's violators
(an eighth of them, at most n / 4) instead of ``p0``; the fit still reaches the requested
gap and the Lasso solution."""

import numpy as np
import scipy.sparse as sp

from numsolve.linear_model import L1, Quadratic, bcd
from numsolve.linear_model import _working_set


def _square_problem(n=300, p=300):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:40] = rng.standard_normal(40)
    y = X @ w + 0.5 * rng.standard_normal(n)
    l1 = 0.1 * np.abs(X.T @ y).max() / n
    return X, y, l1


def _first_size(monkeypatch, X, y, l1, **options):
    sizes = []
    best_features = _working_set._best_features

    def spy(penalty, W, grad, lips, in_model, size, nearest=False):
        sizes.append(size)
        return best_features(penalty, W, grad, lips, in_model, size, nearest)

    monkeypatch.setattr(_working_set, "_best_features", spy)
    result = bcd(X, y, Quadratic(), L1(l1), **options)
    return sizes[0], result


def test_first_working_set_takes_an_eighth_of_the_violators(monkeypatch):
    X, y, l1 = _square_problem()
    violators = int(np.count_nonzero(np.abs(X.T @ y) / X.shape[0] > l1))
    assert violators // 8 > 10  # above p0, below n / 4
    size, result = _first_size(monkeypatch, X, y, l1, tol=1e-8)
    assert size == violators // 8
    assert result.converged and result.gap <= result.extras["threshold"]
    exact = bcd(X, y, Quadratic(), L1(l1), tol=1e-14).x
    np.testing.assert_allclose(result.x, exact, atol=1e-4)


def test_first_working_set_is_capped_by_n(monkeypatch):
    X, y, l1 = _square_problem(n=60, p=2000)
    size, result = _first_size(monkeypatch, X, y, l1 / 10, tol=1e-8)
    assert size == 60 // 4
    assert result.converged


def test_sparse_first_working_set_stays_p0(monkeypatch):
    X, y, l1 = _square_problem()
    size, result = _first_size(monkeypatch, sp.csc_matrix(X), y, l1, tol=1e-8)
    assert size == 10
    assert result.converged
