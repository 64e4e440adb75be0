"""The compiled intercept refinement of the binary logistic loss
(:func:`numsolve.linear_model._prox_newton_kernels.logistic_intercept_newton`, taken by
:func:`numsolve.linear_model._objective.refine_intercept` on float64 NumPy input) zeroes the
intercept's gradient, never raises the loss and agrees with the array loop; the softmax loss's
refinement zeroes its gradient without moving the intercept along the flat direction of ones."""

import numpy as np
import pytest

from numsolve.linear_model import Logistic, Multinomial
from numsolve.linear_model._objective import refine_intercept
from numsolve.linear_model._prox_newton_kernels import logistic_intercept_newton


def _problem(weighted, scale, seed=0):
    rng = np.random.default_rng(seed)
    n = 200
    y = np.where(rng.random(n) < 0.3, -1.0, 1.0)
    # weighted: some samples weigh nothing, as sample_weight=0 allows
    weights = rng.uniform(0.5, 2.0, n) * (np.arange(n) >= 5) if weighted else np.ones(n)
    Z = scale * rng.standard_normal((n, 1)) + 1.5
    return Z, y, weights / weights.sum(), np.array([0.25])


def _strided(v):
    """``v`` as a non-contiguous view: the array loop's layout."""
    return np.repeat(v, 2)[::2]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("scale", [0.1, 3.0, 400.0])
def test_zeroes_intercept_gradient_and_agrees_with_array_loop(weighted, scale):
    Z, y, a, b = _problem(weighted, scale)
    datafit = Logistic()
    Z_before, b_before = Z.copy(), b.copy()
    Z_new, b_new = refine_intercept(datafit, Z, y, a, b, np)
    Z_ref, b_ref = refine_intercept(datafit, Z, _strided(y), _strided(a), b, np)

    np.testing.assert_array_equal(Z, Z_before)
    np.testing.assert_array_equal(b, b_before)
    assert Z_new.shape == Z.shape and b_new.shape == b.shape
    np.testing.assert_allclose(Z_new - Z, np.broadcast_to(b_new - b, Z.shape), rtol=0,
                               atol=1e-12)
    assert (float(datafit.value(Z_new, y, a, np))
            <= float(datafit.value(Z, y, a, np)) * (1 + 1e-15))
    gradient = float(np.sum(datafit.raw_gradient(Z_new, y, a, np)))
    assert abs(gradient) <= 1e-12
    np.testing.assert_allclose(b_new, b_ref, rtol=0, atol=1e-10)


def test_optimal_intercept_is_kept():
    Z, y, a, b = _problem(False, 0.0)
    datafit = Logistic()
    Z, b = refine_intercept(datafit, Z, y, a, b, np)
    Z_again, b_again = refine_intercept(datafit, Z, y, a, b, np)
    np.testing.assert_allclose(b_again, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(Z_again, Z, rtol=0, atol=1e-12)


def test_kernel_moves_predictor_in_place_by_returned_change():
    Z, y, a, _ = _problem(True, 3.0)
    z = Z[:, 0].copy()
    moved = logistic_intercept_newton(z, y, a, 20, 30, 1e-12)
    np.testing.assert_allclose(z, Z[:, 0] - moved, rtol=0, atol=1e-12)
    assert abs(float(np.sum(Logistic().raw_gradient(z[:, None], y, a, np)))) <= 1e-12


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("scale, K", [(1.0, 3), (30.0, 5)])
def test_multinomial_refinement_zeroes_gradient_without_drift_along_ones(weighted, scale, K):
    rng = np.random.default_rng(3)
    n = 178
    Z = scale * rng.standard_normal((n, K))
    y = rng.integers(0, K, n).astype(float)
    weights = rng.uniform(0.5, 2.0, n) * (np.arange(n) >= 3) if weighted else np.ones(n)
    a = weights / weights.sum()
    b = np.linspace(-0.2, 0.5, K)
    datafit = Multinomial(n_classes=K)
    Z_before = Z.copy()
    Z_new, b_new = refine_intercept(datafit, Z, y, a, b, np)

    np.testing.assert_array_equal(Z, Z_before)

    assert np.max(np.abs(np.sum(datafit.raw_gradient(Z_new, y, a, np), axis=0))) <= 1e-12
    assert float(datafit.value(Z_new, y, a, np)) <= float(datafit.value(Z, y, a, np))
    np.testing.assert_allclose(Z_new - Z, np.broadcast_to(b_new - b, Z.shape), rtol=0,
                               atol=1e-12)
    # the loss is flat along ones: the refinement leaves that direction where it was
    assert abs(float(np.sum(b_new - b))) <= 1e-12
