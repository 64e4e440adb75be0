"""Sparse least squares: a settled support small against n is finished by coordinate epochs
where their rate reaches the requested gap soon, not by the exact Newton finish."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model import L1, Quadratic, bcd
from numsolve.linear_model import _working_set
from numsolve.linear_model._objective import optimality
from numsolve.linear_model._working_set import _EPOCH_FINISH, _epochs_to


def test_epochs_to_the_target_at_the_measured_rate():
    assert _epochs_to(1e-5, 1e-3, -1.0) == pytest.approx(np.log(100.0))
    assert _epochs_to(1e-5, 1e-3, None) == np.inf
    assert _epochs_to(1e-5, 1e-3, 0.5) == np.inf  # no decrease measured
    assert _epochs_to(1e-3, 1e-5, -1.0) == 0.0  # already there


def _fit(monkeypatch, epoch_finish):
    rng = np.random.default_rng(0)
    n, p = 1000, 10_000
    X = sp.random(n, p, density=2e-3, format="csc", random_state=0,
                  data_rvs=rng.standard_normal)
    w = np.zeros(p)
    w[rng.choice(p, 20, replace=False)] = 3 * rng.standard_normal(20)
    y = X @ w + 0.1 * rng.standard_normal(n)
    alpha = np.abs(X.T @ y).max() / n / 10
    finishes = []
    newton = _working_set.newton_finish

    def counted(*args, **kwargs):
        finishes.append(1)
        return newton(*args, **kwargs)

    monkeypatch.setattr(_working_set, "newton_finish", counted)
    monkeypatch.setattr(_working_set, "_EPOCH_FINISH", epoch_finish)
    result = bcd(X, y, Quadratic(), L1(alpha), tol=1e-8)
    a = np.full(n, 1.0 / n)
    W = result.x.reshape(-1, 1)
    Z = np.asarray(X @ W)
    G = Quadratic().raw_gradient(Z, y, a, np)
    gap = optimality(Quadratic(), L1(alpha), W, Z, y, a, np.asarray(X.T @ G), G, np)[1]
    return result, len(finishes), gap


def test_epochs_replace_the_last_exact_finish(monkeypatch):
    exact, exact_finishes, exact_gap = _fit(monkeypatch, epoch_finish=0)
    result, finishes, gap = _fit(monkeypatch, epoch_finish=_EPOCH_FINISH)
    assert exact.converged and result.converged
    assert finishes < exact_finishes
    threshold = result.extras["threshold"]
    # the exact finish lands at round-off; the epochs stop nearer the request
    assert exact_gap < 1e-6 * threshold < gap <= threshold
    np.testing.assert_allclose(result.x, exact.x, atol=1e-4)
