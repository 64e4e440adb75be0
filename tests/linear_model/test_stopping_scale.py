"""The stopping test's scale P(0): zero coefficients, the intercept at its optimum if fitted."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from numsolve.linear_model import (
    L1, ElasticNet, Lasso, Logistic, Multinomial, Quadratic, bcd)
from numsolve.linear_model._objective import (newton_on_intercept, refine_intercept,
                                              stopping_scale)


@pytest.mark.parametrize("datafit, y, K", [
    (Quadratic(), np.array([3.0, -1.0, 4.0, 1.5, 9.0, 2.0]), 1),
    (Logistic(), np.array([1.0, 1.0, 1.0, 1.0, -1.0, 1.0]), 1),
    (Multinomial(n_classes=3), np.array([0.0, 2.0, 2.0, 1.0, 0.0, 2.0]), 3),
])
def test_scale_is_the_best_constant_fit(datafit, y, K):
    a = np.array([0.1, 0.3, 0.2, 0.1, 0.2, 0.1])
    Z, _ = refine_intercept(datafit, np.zeros((y.size, K)), y, a, np.zeros(K), np, 50)
    best = float(datafit.value(Z, y, a, np))
    assert stopping_scale(datafit, y, a, K, True, np) == pytest.approx(best, rel=1e-12)
    at_zero = float(datafit.value(np.zeros((y.size, K)), y, a, np))
    assert stopping_scale(datafit, y, a, K, False, np) == at_zero
    assert best < at_zero


@pytest.mark.parametrize("estimator", [Lasso(), ElasticNet()])
def test_shifting_the_targets_moves_only_the_intercept(estimator):
    # the intercept absorbs a shift of y; the stopping point must not depend on it (with a
    # scale taken at zero intercept, y + 1e4 would stop 1e6 times earlier)
    X, y = load_diabetes(return_X_y=True)
    plain = estimator.fit(X, y)
    coef, intercept, n_iter = plain.coef_.copy(), plain.intercept_, plain.n_iter_
    shifted = estimator.fit(X, y + 1e4)
    np.testing.assert_allclose(shifted.coef_, coef, rtol=1e-6, atol=1e-6 * np.abs(coef).max())
    assert shifted.intercept_ == pytest.approx(intercept + 1e4, rel=1e-9)
    assert shifted.n_iter_ == n_iter


def test_logistic_threshold_is_tol_times_the_label_entropy():
    # unbalanced labels: with an intercept the threshold is tol times the label entropy (below
    # log 2, the value at zero intercept), and the returned gap meets it
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 5))
    y = np.where(X[:, 0] + 2.0 > rng.standard_normal(400), 1.0, -1.0)
    share = np.mean(y > 0)
    entropy = -(share * np.log(share) + (1 - share) * np.log(1 - share))
    result = bcd(X, y, Logistic(), L1(0.01), fit_intercept=True, tol=1e-6)
    assert entropy < 0.6 * np.log(2)
    assert result.threshold == pytest.approx(1e-6 * entropy, rel=1e-12)
    assert result.gap <= result.threshold


def _quadratic_intercept(centre, curvature):
    """``evaluate`` and ``newton_step`` of ``(curvature / 2) (b - centre)^2`` in the
    intercept (the predictor ``Z`` is the intercept itself), counting evaluations."""
    calls = []

    def evaluate(Z):
        calls.append(Z.copy())
        return 0.5 * curvature * float((Z - centre) @ (Z - centre)), None

    def newton_step(Z, _):
        g = curvature * (Z - centre)
        if not np.any(g):
            return None
        step = g / curvature
        return step, float(g @ step)

    return evaluate, newton_step, calls


def test_newton_on_intercept_options():
    """The one intercept loop: exact in one tested step on a quadratic; a step predicted
    below the rounding taken untested; a step that raises the loss dropped (tries=1, as the
    smooth route) or halved until it lowers it (refine_intercept); the steps bounded."""
    shift = lambda Z, step: Z - step  # noqa: E731
    evaluate, newton_step, calls = _quadratic_intercept(np.array([2.0, -1.0]), 4.0)
    Z0 = np.zeros(2)
    Z, b, value, _ = newton_on_intercept(evaluate, newton_step, shift, Z0, np.zeros(2),
                                         evaluate(Z0), max_steps=5, tries=1,
                                         settled=float("inf"))
    np.testing.assert_allclose(Z, [2.0, -1.0])
    np.testing.assert_allclose(b, Z)
    assert value == 0.0 and len(calls) == 2
    calls.clear()
    Z, b, _, _ = newton_on_intercept(evaluate, newton_step, shift, Z0, np.zeros(2),
                                     (30.0, None), max_steps=5, tries=30, round_off=1.0)
    np.testing.assert_allclose(Z, [2.0, -1.0])
    assert not calls  # predicted decrease 20 <= round_off * |value|: untested

    def too_long(Z, state):  # three Newton steps: the loss rises at t = 1, falls at t = 1/2
        step, decrease = newton_step(Z, state)
        return 3.0 * step, 3.0 * decrease

    start = evaluate(Z0)
    Z, b, value, _ = newton_on_intercept(evaluate, too_long, shift, Z0, np.zeros(2), start,
                                         max_steps=5, tries=1)
    np.testing.assert_array_equal(Z, Z0)
    np.testing.assert_array_equal(b, 0.0)
    assert value == start[0]
    Z, b, value, _ = newton_on_intercept(evaluate, too_long, shift, Z0, np.zeros(2), start,
                                         max_steps=1, tries=2)
    np.testing.assert_allclose(Z, [3.0, -1.5])
    assert value == pytest.approx(start[0] / 4)
    calls.clear()
    newton_on_intercept(evaluate, lambda Z, s: (0.5 * newton_step(Z, s)[0], 1.0), shift, Z0,
                        np.zeros(2), start, max_steps=3, tries=1)
    assert len(calls) == 3


def test_smooth_route_refinement_reaches_refine_intercepts_optimum():
    """The smooth route's refinement (its layout and cached probabilities) and the engines'
    refine_intercept run the same loop to the same optimal intercept."""
    from numsolve.linear_model import L2
    from numsolve.linear_model._smooth_route import _Problem

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = rng.integers(0, 3, 60).astype(float)
    a = np.full(60, 1 / 60)
    W = 0.3 * rng.standard_normal((4, 3))
    problem = _Problem(X, y, a, Multinomial(n_classes=3), L2(0.1), 3, True, tol=1e-14)
    b_route = np.zeros(3)
    Zt = problem.predict(W, b_route)
    value, Gt = problem.loss_and_raw_gradient(Zt)
    problem._refine_intercept(Zt, Gt, value, b_route)
    _, b_shared = refine_intercept(Multinomial(n_classes=3), X @ W, y, a, np.zeros(3), np)
    # the softmax ignores a common shift of the intercepts
    np.testing.assert_allclose(b_route - b_route.mean(), b_shared - b_shared.mean(),
                               atol=1e-9)
    assert np.abs(b_shared).max() > 0.01
