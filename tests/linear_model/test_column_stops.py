"""The least-squares column route of the working-set engine: where its working sets stop,
and that the sparse growth schedule reaches the same solution as a tight reference."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model import L1, L1PlusL2, Quadratic, bcd
from numsolve.linear_model._objective import optimality
from numsolve.linear_model._working_set import _CHECK_EVERY, _FAST_RATE, _predicted_check


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("penalty", ["l1", "enet"])
def test_sparse_column_route_meets_the_requested_gap(rng, fit_intercept, penalty):
    n, p = 300, 3000
    X = sp.random(n, p, density=0.01, format="csc", random_state=1,
                  data_rvs=rng.standard_normal)
    w = np.zeros(p)
    w[rng.choice(p, 20, replace=False)] = 3 * rng.standard_normal(20)
    y = X @ w + 0.1 * rng.standard_normal(n) + (2.0 if fit_intercept else 0.0)
    sw = rng.uniform(0.5, 1.5, n)
    alpha = np.abs(X.T @ (y - y.mean())).max() / n / 50
    pen = L1(alpha) if penalty == "l1" else L1PlusL2(alpha, 0.8)
    datafit = Quadratic(sample_weight=sw)
    fit = bcd(X, y, datafit, pen, tol=1e-8, fit_intercept=fit_intercept, gram=False)
    ref = bcd(X, y, datafit, pen, tol=1e-14, fit_intercept=fit_intercept, gram=False)
    assert fit.converged and fit.route == "columns"
    # the gap recomputed from the returned coefficients is the one reported, and it bounds
    # the suboptimality against the tight solve
    a = sw / sw.sum()
    Z = (X @ fit.x + fit.intercept)[:, None]
    G = datafit.raw_gradient(Z, y, a, np)
    means = np.asarray(X.T @ a) if fit_intercept else None
    primal, gap, _ = optimality(datafit, pen, fit.x[:, None], Z, y, a,
                                np.asarray(X.T @ G), G, np, means)
    assert gap == pytest.approx(fit.gap, rel=1e-6, abs=1e-3 * fit.threshold)
    assert gap <= fit.threshold
    slack = 1e-12 * abs(primal)  # round-off of the two objective evaluations
    assert -slack <= primal - ref.objective <= gap + slack


def test_extra_checks_only_where_the_rate_is_fast():
    regular = _CHECK_EVERY
    # a tenfold decrease per epoch from 1 to 1e-4: the check comes after 4 epochs
    assert _predicted_check(regular, 0, 1.0, 1e-4, np.log(0.1)) == 4
    assert _predicted_check(regular, 3, 1.0, 1e-4, np.log(0.1)) == 7
    # beyond the regular check, or with no rate, slow rates and met targets: the regular one
    assert _predicted_check(regular, 0, 1.0, 1e-30, np.log(0.1)) == regular
    assert _predicted_check(regular, 0, 1.0, 1e-4, None) == regular
    assert _predicted_check(regular, 0, 1.0, 1e-4, 0.5 * _FAST_RATE) == regular
    assert _predicted_check(regular, 0, 1e-5, 1e-4, np.log(0.1)) == regular
    assert _predicted_check(regular, 0, np.inf, 1e-4, np.log(0.1)) == regular
    # the next epoch at the earliest
    assert _predicted_check(regular, 5, 1.0, 0.9, np.log(0.1)) == 6
