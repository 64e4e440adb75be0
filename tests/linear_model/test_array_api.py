"""The array-namespace path (array_api_strict, incl. its second device) agrees with NumPy."""

import numpy as np
import pytest

from numsolve._array_api import to_numpy
from numsolve.linear_model import L1, L2, Logistic, Multinomial, Quadratic, bcd


def _data(rng):
    X = rng.standard_normal((40, 15))
    w = np.zeros(15)
    w[:4] = [1.0, -2.0, 1.5, 0.5]
    return X, X @ w + 0.1 * rng.standard_normal(40)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_lasso_auto_agrees_with_numpy(xp_device, rng, fit_intercept):
    xp, device = xp_device
    X, y = _data(rng)
    ref = bcd(X, y, Quadratic(), L1(0.05), tol=1e-12, fit_intercept=fit_intercept)
    res = bcd(xp.asarray(X, device=device), xp.asarray(y, device=device), Quadratic(),
              L1(0.05), tol=1e-12, fit_intercept=fit_intercept)
    assert res.converged
    assert res.x.device == xp.asarray(X, device=device).device
    np.testing.assert_allclose(to_numpy(res.x), ref.x, atol=1e-7)


@pytest.mark.parametrize("rule,update", [("gsl", "matrix"), ("gsq", "matrix"),
                                         ("gs-q", "matrix"), ("cyclic", "matrix"),
                                         ("gs-q", "two-metric")])
def test_block_rules_agree_with_numpy(xp_device, rng, rule, update):
    xp, device = xp_device
    X, y = _data(rng)
    kwargs = dict(rule=rule, block_size=3, partition="sort", update=update, max_iter=40,
                  tol=0.0)
    with pytest.warns(Warning):
        ref = bcd(X, y, Quadratic(), L1(0.05), **kwargs)
    with pytest.warns(Warning):
        res = bcd(xp.asarray(X, device=device), xp.asarray(y, device=device), Quadratic(),
                  L1(0.05), **kwargs)
    np.testing.assert_allclose(to_numpy(res.x), ref.x, atol=1e-10)


def test_logistic_and_multinomial_agree_with_numpy(xp_device, rng):
    xp, device = xp_device
    X, _ = _data(rng)
    yb = np.where(X[:, 0] + 0.3 * rng.standard_normal(40) > 0, 1.0, -1.0)
    yk = np.argmax(X[:, :3], axis=1).astype(float)
    for datafit, y, penalty, tol in ((Logistic(), yb, L1(0.02), 1e-9),
                                     (Multinomial(), yk, L2(0.05), 1e-13)):
        ref = bcd(X, y, datafit, penalty, tol=1e-12)
        res = bcd(xp.asarray(X, device=device), xp.asarray(y, device=device), datafit,
                  penalty, tol=tol)
        np.testing.assert_allclose(to_numpy(res.x), ref.x, atol=1e-6)


@pytest.mark.gpu
def test_cupy_lasso(rng):
    cupy = pytest.importorskip("cupy")
    X, y = _data(rng)
    res = bcd(cupy.asarray(X), cupy.asarray(y), Quadratic(), L1(0.05), tol=1e-12)
    ref = bcd(X, y, Quadratic(), L1(0.05), tol=1e-12)
    assert isinstance(res.x, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(res.x), ref.x, atol=1e-7)
