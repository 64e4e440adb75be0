"""The stopping test's scale P(0): zero coefficients, the intercept at its optimum if fitted."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from numsolve.linear_model import (
    L1, ElasticNet, Lasso, Logistic, Multinomial, Quadratic, bcd)
from numsolve.linear_model._objective import refine_intercept, stopping_scale


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
