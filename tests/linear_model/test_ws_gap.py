"""The compiled least-squares optimality (primal, duality gap, KKT violation) equals the array
form of :func:`numsolve.linear_model._objective.optimality`."""

import numpy as np
import pytest
from numsolve.linear_model._ws_gap import least_squares_optimality

from numsolve.linear_model import L1, L2, L1PlusL2, NonNegL1, Quadratic
from numsolve.linear_model._objective import optimality


@pytest.mark.parametrize("penalty", [L1(0.3), NonNegL1(0.3), L1PlusL2(0.4, 0.5), L2(0.2),
                                     L1(50.0)])
@pytest.mark.parametrize("zero_weights", [False, True])
def test_equals_the_array_form(penalty, zero_weights):
    rng = np.random.default_rng(0)
    n, p = 60, 25
    X = rng.standard_normal((n, p))
    y = rng.standard_normal(n)
    weights = rng.uniform(0.5, 2.0, n)
    if zero_weights:
        weights[:5] = 0.0
    a = weights / weights.sum()
    W = np.where(rng.random((p, 1)) < 0.5, 0.0, rng.standard_normal((p, 1)))
    if penalty.positive:
        W = np.abs(W)
    Z = X @ W
    G = Quadratic().raw_gradient(Z, y, a, np)
    grad = X.T @ G
    expected = optimality(Quadratic(), penalty, W, Z, y, a, grad, G, np)
    got = least_squares_optimality(Z[:, 0], y, a, G[:, 0], W[:, 0], grad[:, 0], penalty.l1,
                                   penalty.l2, penalty.positive)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    assert got[1] > 0  # a random point is not optimal: the gap is compared, not two zeros


def test_zero_gap_at_the_solution():
    # one feature: the Lasso solution is the soft-thresholded least-squares coefficient
    x = np.array([1.0, 2.0, -1.0])
    y = np.array([0.5, 1.0, 0.2])
    a = np.full(3, 1 / 3)
    l1 = 0.1
    c, q = np.sum(a * x * y), np.sum(a * x * x)
    w = np.array([np.sign(c) * max(abs(c) - l1, 0.0) / q])
    assert w[0] != 0.0
    z = x * w[0]
    g = a * (z - y)
    primal, gap, kkt = least_squares_optimality(z, y, a, g, w, np.array([x @ g]), l1, 0.0,
                                                False)
    assert gap == pytest.approx(0.0, abs=1e-15) and kkt == pytest.approx(0.0, abs=1e-15)
    assert primal == pytest.approx(0.5 * np.sum(a * (z - y) ** 2) + l1 * abs(w[0]))


@pytest.mark.parametrize("penalty", [L1(0.05), NonNegL1(0.05), L1PlusL2(0.05, 0.5),
                                     L2(0.1), L1(5.0)])
@pytest.mark.parametrize("intercept", [False, True])
def test_multinomial_optimality_equals_the_array_form(penalty, intercept):
    """The compiled multinomial ``(primal, gap, kkt)`` with and without an intercept's
    centring, samples of zero weight included."""
    from numsolve.linear_model import Multinomial
    from numsolve.linear_model._ws_gap import multinomial_optimality

    rng = np.random.default_rng(1)
    n, p, K = 50, 7, 4
    X = rng.standard_normal((n, p))
    y = rng.integers(0, K, n).astype(float)
    weights = rng.uniform(0.5, 2.0, n)
    weights[:3] = 0.0
    a = weights / weights.sum()
    W = np.where(rng.random((p, K)) < 0.5, 0.0, rng.standard_normal((p, K)))
    if penalty.positive:
        W = np.abs(W)
    Z = X @ W + rng.standard_normal(K)
    datafit = Multinomial(n_classes=K)
    G = datafit.raw_gradient(Z, y, a, np)
    grad = X.T @ G
    means = a @ X if intercept else None
    expected = optimality(datafit, penalty, W, Z, y, a, grad, G, np, means)
    got = multinomial_optimality(Z, G, y, a, W, np.ascontiguousarray(grad),
                                 np.empty(0) if means is None else means, penalty.l1,
                                 penalty.l2, penalty.positive)
    assert expected[1] > 0
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_multinomial_loss_equals_the_array_form():
    """The compiled loss (behind ``Multinomial.value`` on float64 NumPy input, which the
    Newton finish and the extrapolation test call), with far-apart scores (shifted by each
    row's maximum) and samples of zero weight."""
    from scipy.special import logsumexp

    from numsolve.linear_model import Multinomial
    from numsolve.linear_model._ws_gap import multinomial_loss

    rng = np.random.default_rng(2)
    n, K = 40, 5
    Z = 30 * rng.standard_normal((n, K))
    y = rng.integers(0, K, n).astype(float)
    weights = rng.uniform(0.5, 2.0, n)
    weights[:4] = 0.0
    a = weights / weights.sum()
    expected = float(a @ (logsumexp(Z, axis=1) - Z[np.arange(n), y.astype(int)]))
    assert multinomial_loss(Z, y, a) == pytest.approx(expected, rel=1e-13)
    assert Multinomial(n_classes=K).value(Z, y, a, np) == pytest.approx(expected, rel=1e-13)
    # the array form (float32 scores take it) agrees to float32 rounding
    assert float(Multinomial(n_classes=K).value(Z.astype(np.float32), y, a, np)) == \
        pytest.approx(expected, rel=1e-6)
