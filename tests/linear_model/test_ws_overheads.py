"""Per-fit work the working-set engine skips: no GS-q scoring when every kept feature is
taken, and no Gram cache for fits that never solve a working set on it (sparse least
squares, issue #22's grid)."""

import numpy as np
import scipy.sparse as sp

from numsolve.linear_model import L1, Quadratic, bcd
from numsolve.linear_model import _working_set


def _wide_problem(n=80, p=400):
    rng = np.random.default_rng(3)
    X = sp.random(n, p, density=0.05, format="csc", random_state=3,
                  data_rvs=rng.standard_normal)
    w = np.zeros(p)
    w[:8] = rng.standard_normal(8)
    y = np.asarray(X @ w) + 0.01 * rng.standard_normal(n)
    a = np.full(n, 1.0 / n)
    return X, y, a, 0.05 * np.abs(X.T @ (a * y)).max()


def test_best_features_keep_the_model_then_the_best_scores(rng):
    W = np.zeros((6, 1))
    W[4] = 0.5
    grad = np.array([[0.1], [3.0], [0.2], [2.0], [0.0], [0.3]])
    lips = np.ones(6)
    in_model = W[:, 0] != 0
    chosen = _working_set._best_features(L1(0.05), W, grad, lips, in_model, 3)
    np.testing.assert_array_equal(chosen, [1, 3, 4])
    every = _working_set._best_features(L1(0.05), W, grad, lips, in_model, 6)
    np.testing.assert_array_equal(every, np.arange(6))


def test_sparse_fit_without_gram_solves_builds_no_gram(rng, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the Gram cache was built for a fit that never uses it")

    monkeypatch.setattr(_working_set, "WorkingSetGram", refuse)
    X, y, a, l1 = _wide_problem()
    result = bcd(X, y, Quadratic(), L1(l1), tol=1e-8, gram=False)
    assert result.converged and result.extras["route"] == "columns"
    tall = sp.random(4000, 40, density=0.2, format="csc", random_state=4,
                     data_rvs=rng.standard_normal)
    target = np.asarray(tall @ rng.standard_normal(40))
    result = bcd(tall, target, Quadratic(), L1(0.01), tol=1e-8)
    assert result.converged and result.extras["route"] == "columns"
