"""The multinomial duality gap near the optimum: summed per sample, its round-off stays
below the tightest tolerances a fit accepts."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model import L1PlusL2, Multinomial, bcd
from numsolve.linear_model._objective import stopping_scale


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("sparse", [True, False])
def test_fit_reaches_a_gap_of_1e_minus_15(sparse, fit_intercept):
    """300 x 30 at 5 % nonzeros, three classes, elastic net: the gap certified at the
    solution is at most ``1e-15 P(0)`` within ten outer iterations of 200 epochs (the loss
    and the conjugate summed apart left 2e-15 there, and the fit ran its whole epoch budget
    in every outer iteration)."""
    rng = np.random.default_rng(0)
    X = sp.random(300, 30, density=0.05, format="csc", random_state=0,
                  data_rvs=rng.standard_normal)
    y = rng.integers(0, 3, 300).astype(float)
    X = X if sparse else X.toarray()
    result = bcd(X, y, Multinomial(), L1PlusL2(0.01, 0.8), tol=1e-15, max_iter=10,
                 max_epochs=200, fit_intercept=fit_intercept)
    a = np.full(300, 1 / 300)
    scale = stopping_scale(Multinomial(), y, a, 3, fit_intercept, np)
    assert result.converged
    assert 0.0 <= result.extras["gap"] <= 1e-15 * scale
