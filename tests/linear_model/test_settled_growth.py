"""Sparse least squares stops doubling its working sets once the support has settled and
epochs are slow (``_working_set._SETTLED``): the sets stay at twice the support instead of
growing to most of the problem around it."""

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import Lasso

from numsolve.linear_model import L1, Quadratic, _working_set, bcd
from numsolve.linear_model._objective import optimality

TOL = 1e-8


def _wide(n=1000, p=10_000, density=2e-3, seed=1):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csc", random_state=seed,
                  data_rvs=rng.standard_normal)
    w = np.zeros(p)
    w[rng.choice(p, 20, replace=False)] = 3 * rng.standard_normal(20)
    return X, X @ w + 0.1 * rng.standard_normal(n)


def test_settled_support_keeps_working_sets_at_twice_its_size(monkeypatch):
    X, y = _wide()
    n = X.shape[0]
    alpha = np.abs(X.T @ y).max() / n / 100
    record = []  # (working set size, support) of each outer iteration's choice
    choose = _working_set._best_features

    def recording(penalty, W, grad, lips, in_model, size, **fill):
        record.append((size, int(in_model.sum())))
        return choose(penalty, W, grad, lips, in_model, size, **fill)

    monkeypatch.setattr(_working_set, "_best_features", recording)
    result = bcd(X, y, Quadratic(), L1(alpha), tol=TOL)
    assert result.converged
    settled = [(size, support) for (size, support), (_, before) in zip(record[1:], record)
               if 100 <= support <= _working_set._SETTLED * before]
    assert len(settled) >= 3  # the phase the rule is for
    # before the rule, these sets doubled to 1392, 2784, 5568 around a support of ~354
    assert all(size <= 2 * support for size, support in settled)
    a = np.full(n, 1.0 / n)
    W = result.x.reshape(-1, 1)
    Z = np.asarray(X @ W)
    G = Quadratic().raw_gradient(Z, y, a, np)
    primal, gap, _ = optimality(Quadratic(), L1(alpha), W, Z, y, a, np.asarray(X.T @ G), G,
                                np)
    assert gap <= result.extras["threshold"]
    best = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y)
    r = y - X @ best.coef_
    assert primal - (0.5 * r @ r / n + alpha * np.abs(best.coef_).sum()) <= gap + 1e-15
