"""The compiled logistic duality gap (the proximal Newton route's restricted criterion)
equals the gap of :func:`numsolve.linear_model._objective.optimality`'s array code at
non-optimal points, as does ``optimality`` itself on contiguous float64 input (where it calls
the kernel)."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model import L1, L1PlusL2, Logistic, NonNegL1
from numsolve.linear_model._objective import optimality
from numsolve.linear_model._ws_gap import logistic_gap


@pytest.mark.parametrize("penalty", [L1(0.02), NonNegL1(0.02), L1PlusL2(0.03, 0.5),
                                     L1(5.0)])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("intercept", [False, True])
def test_equals_optimality(penalty, sparse, weighted, intercept):
    rng = np.random.default_rng(1)
    n, p = 80, 30
    X = rng.standard_normal((n, p))
    if sparse:
        X = sp.random(n, p, density=0.2, format="csc", random_state=1,
                      data_rvs=rng.standard_normal)
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    # weighted: some samples weigh nothing, as sample_weight=0 allows
    weights = rng.uniform(0.5, 2.0, n) * (np.arange(n) >= 4) if weighted else np.ones(n)
    a = weights / weights.sum()
    W = rng.standard_normal((p, 1)) * (rng.random((p, 1)) < 0.5)
    W = np.abs(W) if penalty.positive else W
    b = 0.3 if intercept else 0.0
    Z = np.asarray(X @ W) + b
    datafit = Logistic()
    G = datafit.raw_gradient(Z, y, a, np)
    grad = np.asarray(X.T @ G)
    means = np.asarray(X.T @ a).reshape(-1) if intercept else None
    # strided labels and weights keep optimality on its array code, the reference
    _, expected, kkt = optimality(datafit, penalty, W, Z, _strided(y), _strided(a), grad, G,
                                  np, means)
    _, routed, routed_kkt = optimality(datafit, penalty, W, Z, y, a, grad, G, np, means)
    got = logistic_gap(float(datafit.value(Z, y, a, np)), G[:, 0].copy(), y, a, W[:, 0].copy(),
                       grad[:, 0].copy(), np.empty(0) if means is None else means,
                       penalty.l1, penalty.l2, penalty.positive)
    assert expected > 1e-3  # a random point: two gaps compared, not two zeros
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert routed == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert routed_kkt == pytest.approx(kkt, rel=1e-12, abs=1e-15)


def _strided(v):
    """``v`` as a non-contiguous view."""
    return np.repeat(v, 2)[::2]


def test_zero_at_the_solution_of_a_separable_one_feature_problem():
    # one feature, two samples with x = +-1 and labels +-1: the loss is log(1 + exp(-w))
    # and the L1 solution solves sigmoid(-w) = l1, where the dual point is feasible and exact
    l1 = 0.2
    w = np.log((1 - l1) / l1)
    x, y, a = np.array([1.0, -1.0]), np.array([1.0, -1.0]), np.full(2, 0.5)
    z = x * w
    datafit = Logistic()
    G = datafit.raw_gradient(z[:, None], y, a, np)[:, 0].copy()
    gap = logistic_gap(float(datafit.value(z[:, None], y, a, np)), G, y, a, np.array([w]),
                       np.array([x @ G]), np.empty(0), l1, 0.0, False)
    assert gap == pytest.approx(0.0, abs=1e-14)
