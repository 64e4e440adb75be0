"""The least-squares Gram route of the working-set engine: same solutions as the column
route, its restricted duality gap, the automatic choice, and where it stops."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model import (L1, L2, L1PlusL2, Logistic, NonNegL1, Quadratic, bcd,
                                   lasso_path)
from numsolve.linear_model._cd_gram import gram_epochs, gram_extrapolate, restricted_gap
from numsolve.linear_model._objective import optimality


def _tall(rng, n=400, p=30, sparse=False):
    X = rng.standard_normal((n, p))
    if sparse:
        X = sp.random(n, p, density=0.3, format="csc", random_state=0,
                      data_rvs=rng.standard_normal)
    w = np.zeros(p)
    w[:6] = rng.standard_normal(6) * 2
    y = X @ w + 0.5 * rng.standard_normal(n) + 1.5
    return X, y


def _alpha_max(X, y):
    return np.abs(X.T @ (y - y.mean())).max() / X.shape[0]


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("penalty", ["l1", "enet", "nonneg"])
def test_gram_route_finds_the_column_route_solution(rng, sparse, penalty):
    X, y = _tall(rng, sparse=sparse)
    sw = rng.uniform(0.2, 2.0, X.shape[0])
    alpha = _alpha_max(X, y) / 30
    pen = {"l1": L1(alpha), "enet": L1PlusL2(alpha, 0.7), "nonneg": NonNegL1(alpha)}[penalty]
    fits = {gram: bcd(X, y, Quadratic(sample_weight=sw), pen, fit_intercept=True, tol=1e-12,
                      gram=gram) for gram in (True, False)}
    assert fits[True].route == "gram" and fits[False].route == "columns"
    for fit in fits.values():
        assert fit.converged and fit.gap <= fit.threshold
    # a gap of 1e-12 P(0) pins the objective to that accuracy, the coefficients to its
    # square root over the curvature
    assert fits[True].objective == pytest.approx(fits[False].objective, rel=1e-11)
    np.testing.assert_allclose(fits[True].x, fits[False].x, atol=1e-5)
    assert fits[True].intercept == pytest.approx(fits[False].intercept, abs=1e-5)


def test_gram_gap_is_the_duality_gap(rng):
    X = rng.standard_normal((50, 8))
    y = rng.standard_normal(50)
    a = rng.uniform(0.5, 1.5, 50)
    a /= a.sum()
    w = rng.standard_normal(8) * (rng.random(8) < 0.6)
    Q = X.T @ (a[:, None] * X)
    for penalty in (L1(0.05), L1PlusL2(0.05, 0.5), NonNegL1(0.05)):
        w = np.abs(w) if penalty.positive else w
        Z = (X @ w)[:, None]
        G = a[:, None] * (Z - y[:, None])
        grad = X.T @ G
        _, expected, _ = optimality(Quadratic(), penalty, w[:, None], Z, y, a, grad, G, np)
        value = 0.5 * float(a @ (Z[:, 0] - y) ** 2)
        gap = restricted_gap(w, grad[:, 0], 8, penalty.l1, penalty.l2, penalty.positive,
                             value)
        assert gap == pytest.approx(expected, rel=1e-10)
        np.testing.assert_allclose(Q @ w - X.T @ (a * y), grad[:, 0], atol=1e-12)


def test_auto_takes_the_gram_on_tall_data_only(rng):
    X, y = _tall(rng, n=2000, p=40)
    tall = bcd(X, y, Quadratic(), L1(_alpha_max(X, y) / 50), fit_intercept=True)
    Xw = rng.standard_normal((30, 400))
    yw = Xw[:, :5] @ np.ones(5)
    wide = bcd(Xw, yw, Quadratic(), L1(_alpha_max(Xw, yw) / 50))
    assert tall.route == "gram" and wide.route == "columns"
    logistic = bcd(X, np.sign(y - np.median(y)), Logistic(), L1(0.01))
    assert logistic.route == "columns"


def _correlated(rng, n, p, rho=0.5):
    """Benchmark-like data (as skglm's make_correlated_data): Toeplitz feature correlation
    ``rho^|i-j|``, 10% of the features in the model, signal-to-noise ratio 3."""
    cov = rho ** np.abs(np.subtract.outer(np.arange(p), np.arange(p)))
    X = rng.standard_normal((n, p)) @ np.linalg.cholesky(cov).T
    w = np.zeros(p)
    w[rng.choice(p, p // 10, replace=False)] = rng.standard_normal(p // 10)
    signal = X @ w
    return X, signal + rng.standard_normal(n) * signal.std() / 3


def test_tall_lasso_stops_near_the_requested_gap(rng):
    """The Gram route stops at the requested tolerance: its gap is below the threshold but
    not driven to round-off (within 100x of the request)."""
    X, y = _correlated(rng, n=5000, p=200)
    for divisor in (10, 100, 1000):
        fit = bcd(X, y, Quadratic(), L1(_alpha_max(X, y) / divisor), tol=1e-6)
        assert fit.route == "gram"
        assert fit.threshold / 100 <= fit.gap <= fit.threshold


def test_gram_option_is_checked(rng):
    X, y = _tall(rng, n=40, p=10)
    with pytest.raises(ValueError, match="gram must be"):
        bcd(X, y, Quadratic(), L1(0.1), gram="yes")
    with pytest.raises(ValueError, match="gram=True needs"):
        bcd(X, np.sign(y), Logistic(), L1(0.1), gram=True)


def test_lasso_path_on_tall_data_keeps_its_gram(rng):
    """Along a path the Gram carries over between alphas; every alpha's solution is the
    column route's."""
    X, y = _correlated(rng, n=1500, p=40)
    alphas, coefs, gaps = lasso_path(X, y, n_alphas=8, tol=1e-12)
    for k, alpha in enumerate(alphas):
        ref = bcd(X, y, Quadratic(), L1(alpha), tol=1e-14, gram=False)
        np.testing.assert_allclose(coefs[:, k], ref.x, atol=1e-6)
    assert np.all(gaps <= 1e-12 * 0.5 * np.mean(y ** 2))


def test_gram_newton_step_solves_an_ill_conditioned_ridge(rng, monkeypatch):
    """Features correlated at 0.99 and a tiny ridge: coordinate epochs stall, the Newton
    step on the Gram takes over and lands on the closed-form solution."""
    from unittest.mock import Mock

    from numsolve.linear_model import _gram_route

    X, y = _correlated(rng, n=4000, p=100, rho=0.99)
    newton = Mock(wraps=_gram_route._newton)
    monkeypatch.setattr(_gram_route, "_newton", newton)
    fit = bcd(X, y, Quadratic(), L2(1e-6), tol=1e-10, gram=True)
    assert fit.route == "gram" and fit.converged and newton.call_count > 0
    n = X.shape[0]
    exact = np.linalg.solve(X.T @ X / n + 1e-6 * np.eye(100), X.T @ y / n)
    np.testing.assert_allclose(fit.x, exact, rtol=1e-6, atol=1e-8)


def _numpy_extrapolation(Q, w, g, value, penalty, m, iterates):
    """The Anderson step in array code: the guess from NumPy's solve, kept when the
    quadratic's value plus the penalty decreases; returns (w, g, datafit value)."""
    iterates = np.asarray(iterates)
    U = iterates[1:] - iterates[:-1]
    try:
        z = np.linalg.solve(U @ U.T, np.ones(U.shape[0]))
    except np.linalg.LinAlgError:
        return w, g, value
    if not np.isfinite(z.sum()) or z.sum() == 0:
        return w, g, value
    guess = (z / z.sum()) @ iterates[1:]
    if penalty.positive:
        guess[:m] = np.maximum(guess[:m], 0.0)
    d = guess - w
    Qd = Q @ d
    new_value = value + float(d @ g) + 0.5 * float(d @ Qd)
    if new_value + penalty.value(guess[:m], np) < value + penalty.value(w[:m], np):
        return guess, g + Qd, new_value
    return w, g, value


def _gram_iterates(rng, p, intercept, penalty, epochs=6):
    """A Gram problem and the iterates of ``epochs`` of its coordinate descent."""
    X = rng.standard_normal((50, p)) @ np.diag(np.linspace(1.0, 8.0, p))
    if intercept:
        X = np.column_stack([X, np.ones(50)])
    y = X[:, :3].sum(axis=1) + rng.standard_normal(50)
    Q = np.ascontiguousarray(X.T @ X / 50)
    w = np.zeros(X.shape[1])
    g = -X.T @ y / 50
    value = 0.5 * y @ y / 50
    iterates = np.empty((epochs, w.size))
    _, value, _ = gram_epochs(Q, w, g, p, penalty.l1, penalty.l2, penalty.positive, value,
                              0.0, iterates)
    return Q, w, g, value, iterates


@pytest.mark.parametrize("p", [4, 13, 140])
@pytest.mark.parametrize("intercept", [False, True])
@pytest.mark.parametrize("penalty", [L1(0.05), L1PlusL2(0.1, 0.4), NonNegL1(0.05),
                                     L1PlusL2(0.1, 0.5, positive=True)])
def test_compiled_extrapolation_takes_the_numpy_step(rng, p, intercept, penalty):
    """Same guess, same decision, same figures as the step in array code (bit for bit: its
    products are the BLAS calls NumPy makes and its sums are added in NumPy's order)."""
    Q, w, g, value, iterates = _gram_iterates(rng, p, intercept, penalty)
    expected = _numpy_extrapolation(Q, w.copy(), g.copy(), value, penalty, p, iterates)
    value_after = gram_extrapolate(Q, w, g, p, penalty.l1, penalty.l2, penalty.positive,
                                   value, iterates)
    assert value_after == expected[2]
    np.testing.assert_array_equal(w, expected[0])
    np.testing.assert_array_equal(g, expected[1])


def test_compiled_extrapolation_keeps_the_point_when_it_cannot_help(rng):
    """Identical iterates (a singular system) or a guess that raises the objective leave
    ``w``, ``g`` and the value as they were."""
    penalty = L1(0.05)
    Q, w, g, value, iterates = _gram_iterates(rng, 8, False, penalty)
    still = np.tile(w, (6, 1))
    w0, g0 = w.copy(), g.copy()
    assert gram_extrapolate(Q, w, g, 8, penalty.l1, 0.0, False, value, still) == value
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(g, g0)
    far = iterates + 100.0 * rng.standard_normal(iterates.shape)  # a guess far off
    far[-1] = w
    assert gram_extrapolate(Q, w, g, 8, penalty.l1, 0.0, False, value, far) == value
    np.testing.assert_array_equal(w, w0)


def test_compiled_extrapolation_checks_its_shapes():
    Q, w, g = np.eye(3), np.zeros(3), np.zeros(3)
    for iterates, n_penalised in ((np.zeros((6, 2)), 3), (np.zeros((1, 3)), 3),
                                  (np.zeros((6, 3)), 4)):
        with pytest.raises(ValueError, match="must match w"):
            gram_extrapolate(Q, w, g, n_penalised, 0.1, 0.0, False, 0.0, iterates)
