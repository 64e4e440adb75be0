"""Small dense working sets of the L1-logistic proximal Newton route move their model solves
to the Gram matrix after two passes (:func:`numsolve.linear_model._prox_newton._gram_after`):
where the working set's columns fit in cache, forming the Gram costs less than the
passes the default rule waits for."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from numsolve.linear_model import L1, L1PlusL2, Logistic, bcd
from numsolve.linear_model import _prox_newton
from numsolve.linear_model._design import Design
from numsolve.linear_model._objective import optimality, refine_intercept


def test_gram_after_depends_on_the_working_sets_entries():
    """Two passes where ``n |ws|`` is at most ``_SMALL_GRAM``; the default rule (a few
    passes plus one per eight features) above it; never on sparse data or working sets
    too wide for the Gram."""
    rng = np.random.default_rng(0)
    small, tall = rng.standard_normal((500, 40)), rng.standard_normal((4000, 40))
    assert 500 * 30 <= _prox_newton._SMALL_GRAM < 4000 * 30
    assert _prox_newton._gram_after(Design(small), 30) == _prox_newton._GRAM_PASSES_SMALL == 2
    assert _prox_newton._gram_after(Design(tall), 30) == (_prox_newton._GRAM_PASSES
                                                          + 30 // _prox_newton._GRAM_PASS_SHARE)
    assert _prox_newton._gram_after(Design(sp.csc_array(small)), 30) == 0
    assert _prox_newton._gram_after(Design(small), 200) == 0


def _breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), np.where(y == 1, 1.0, -1.0)


def _gap(X, y, penalty, coef, intercept):
    """The duality gap at a fit, its intercept refined, computed from scratch."""
    datafit = Logistic()
    n = X.shape[0]
    a = np.full(n, 1.0 / n)
    W = coef.reshape(-1, 1)
    Z, _ = refine_intercept(datafit, X @ W + intercept, y, a, np.atleast_1d(intercept), np)
    G = datafit.raw_gradient(Z, y, a, np)
    return optimality(datafit, penalty, W, Z, y, a, X.T @ G, G, np, a @ X)[1]


@pytest.mark.parametrize("penalty", [L1(1 / 569), L1PlusL2(0.1 / 569, 0.5)],
                         ids=["l1", "elasticnet"])
def test_early_gram_solves_reach_the_same_solution(monkeypatch, penalty):
    """breast_cancer at a tight tolerance: with the early move (the Gram was taken: the
    coefficients round otherwise) and without it, both fits certify the requested gap
    and agree to the accuracy that gap allows."""
    X, y = _breast_cancer()
    fits = []
    for small_gram in (_prox_newton._SMALL_GRAM, 0):
        monkeypatch.setattr(_prox_newton, "_SMALL_GRAM", small_gram)
        fits.append(bcd(X, y, Logistic(), penalty, tol=1e-10, fit_intercept=True))
    early, late = fits
    assert not np.array_equal(early.x, late.x)
    for fit in fits:
        assert fit.converged
        assert 0 <= _gap(X, y, penalty, fit.x, fit.intercept) <= fit.extras["threshold"]
    np.testing.assert_allclose(early.x, late.x, atol=1e-4)
    np.testing.assert_allclose(early.intercept, late.intercept, atol=1e-4)
