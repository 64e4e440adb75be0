"""A requested gap below round-off (issue #22): the working-set solves stop once their
criterion stalls at its floor instead of spending every epoch budget, and the fit ends at
``max_iter`` with a ConvergenceWarning, its gap at round-off."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from numsolve.linear_model import L1, Logistic, Quadratic, bcd
from numsolve.linear_model._stall import StallWatch

MAX_ITER = 20
# far below MAX_ITER budgets of 50,000 epochs, which every outer iteration ran before
EPOCH_BOUND = 2000 * MAX_ITER


def _problem(seed=0, n=60, p=30):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:5] = 1.0
    y = X @ w + 0.1 * rng.standard_normal(n)
    labels = np.sign(X @ w + 0.5 * rng.standard_normal(n))
    return X, y, labels


def _fit(X, y, datafit, l1, fit_intercept, gram):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = bcd(X, y, datafit, L1(l1), tol=1e-17, max_iter=MAX_ITER,
                     fit_intercept=fit_intercept, gram=gram)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return result, warned


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("gram", [True, False])
def test_lasso_below_round_off_stops_within_bounded_epochs(fit_intercept, gram):
    X, y, _ = _problem()
    l1 = 0.1 * np.abs(X.T @ y).max() / X.shape[0]
    result, warned = _fit(X, y, Quadratic(), l1, fit_intercept, gram)
    assert result.epochs <= EPOCH_BOUND
    assert warned and not result.converged
    assert result.n_iter == MAX_ITER
    primal = result.history["objective"][-1]
    assert result.gap <= 1e-12 * primal


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_logistic_below_round_off_stops_within_bounded_epochs(fit_intercept):
    X, _, labels = _problem()
    l1 = 0.05 * np.abs(X.T @ labels).max() / X.shape[0]
    result, warned = _fit(X, labels, Logistic(), l1, fit_intercept, "auto")
    assert result.epochs <= EPOCH_BOUND
    assert warned != result.converged
    primal = result.history["objective"][-1]
    assert result.gap <= 1e-12 * primal


def test_watch_needs_both_a_stall_and_round_off():
    watch = StallWatch()
    assert not any(watch.stalled(c, 1.0) for c in [1e-3, 1e-4, 1e-4, 1e-4, 1e-4])
    watch = StallWatch()
    assert not any(watch.stalled(c, 1.0) for c in [1e-15, 1e-16, 1e-16, 1e-16])
    assert watch.stalled(1e-16, 1.0)
    watch = StallWatch()
    assert not any(watch.stalled(c, 1.0) for c in [1e-15, 1e-16, 9e-17, 8e-17, 7e-17])
