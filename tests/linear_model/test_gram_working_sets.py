"""Working sets of the Gram engine: beyond the support and the features that violate their
optimality condition, the set is filled with the features nearest to violating it, so that
few Gram columns are computed for features that never enter the model."""

import numpy as np
import pytest

import numsolve.linear_model._gram_engine as gram_engine
import numsolve.linear_model._gram_route as gram_route
from numsolve.linear_model import L1, NonNegL1, Quadratic, bcd


@pytest.mark.parametrize("penalty", [L1(1.0), NonNegL1(1.0)])
def test_fill_takes_the_features_nearest_to_violating(penalty):
    """Support {0, 1}, one violator (feature 5), and among the rest the two largest pulls
    towards the model (|g_j| or -g_j for the non-negative penalty) below the threshold."""
    p = 12
    w = np.zeros(p)
    w[[0, 1]] = [0.5, 0.2]
    g = np.zeros(p)
    g[[0, 1]] = [-1.0, -1.0]  # optimal on the support
    g[5] = -1.5  # violates |g| <= 1
    g[[2, 3, 4, 6, 7]] = [-0.1, 0.2, -0.3, -0.2, 0.1]
    g[[10, 11]] = [-0.95, -0.9]  # nearest to violating (also for the non-negative penalty)
    ws = gram_engine._working_set(penalty, w, g, np.ones(p), p0=5)
    np.testing.assert_array_equal(ws, [0, 1, 5, 10, 11])


def _correlated(seed, n=1200, p=200, rho=0.5):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, p))
    X = np.empty_like(Z)
    X[:, 0] = Z[:, 0]
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho ** 2) * Z[:, j]
    w = np.zeros(p)
    w[rng.choice(p, 20, replace=False)] = rng.standard_normal(20)
    signal = X @ w
    y = signal + rng.standard_normal(n) * np.linalg.norm(signal) / np.sqrt(n) / 3
    return X, y


@pytest.mark.parametrize("seed, divisor", [(0, 100), (2, 30)])
def test_few_gram_columns_beyond_the_support(seed, divisor, monkeypatch):
    """On correlated tall data (the Gram grown lazily, ``n |F|^2`` work for the features
    ``F`` that ever entered) at most 1.5x the final support get Gram columns (a fill with
    arbitrary non-violating features: 1.9x and 2.25x), and the fit meets its gap."""
    X, y = _correlated(seed)
    entered = []
    grow = gram_route.WorkingSetGram._grow

    def recording(self, new):
        grow(self, new)
        entered.append(self.size)

    monkeypatch.setattr(gram_route.WorkingSetGram, "_grow", recording)
    alpha = np.abs(X.T @ y).max() / X.shape[0] / divisor
    fit = bcd(X, y, Quadratic(), L1(alpha), tol=1e-8)
    assert fit.route == "gram" and fit.converged and fit.gap <= fit.threshold
    support = np.count_nonzero(fit.x)
    assert entered[-1] <= 1.5 * support
