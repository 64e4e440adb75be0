"""Proximal Newton on the working set (binary L1-logistic): supports near n (at most n
nonzeros generically), where an active-set Newton finish factors a rank-deficient Hessian."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model import L1, Logistic, bcd
from numsolve.linear_model._design import Design
from numsolve.linear_model._prox_newton import prox_newton_inner


def _wide(sparse, n=80, p=800):
    rng = np.random.default_rng(3)
    if sparse:
        X = sp.random(n, p, density=0.05, format="csc", random_state=3,
                      data_rvs=rng.standard_normal)
    else:
        X = np.asfortranarray(rng.standard_normal((n, p)))
    y = np.where(rng.standard_normal(n) + X[:, :5] @ np.ones(5) > 0, 1.0, -1.0)
    alpha_max = np.abs(X.T @ y).max() / (2 * n)
    return X, y, alpha_max


def _gap_and_kkt(X, y, w, b, alpha):
    """Duality gap and subdifferential distance of ``w`` computed from scratch."""
    n = X.shape[0]
    a = np.full(n, 1.0 / n)
    datafit, penalty = Logistic(), L1(alpha)
    Z = np.asarray(X @ w).reshape(-1, 1) + b
    G = datafit.raw_gradient(Z, y, a, np)
    grad = np.asarray(X.T @ G).reshape(-1, 1)
    kkt = penalty.subdiff_distance(w.reshape(-1, 1), grad, np).max()
    theta = G * min(1.0, alpha / max(np.abs(grad).max(), 1e-300))
    primal = float(datafit.value(Z, y, a, np) + penalty.value(w.reshape(-1, 1), np))
    return primal + float(datafit.conjugate(theta, y, a, np)), kkt


@pytest.mark.parametrize("sparse", [False, True])
def test_support_near_n_reaches_requested_gap(sparse):
    X, y, alpha_max = _wide(sparse)
    alpha = alpha_max / 1000
    tol = 1e-10
    res = bcd(X, y, Logistic(), L1(alpha), tol=tol)
    w = res.x.ravel()
    assert res.converged
    gap, kkt = _gap_and_kkt(X, y, w, 0.0, alpha)
    assert 0 <= gap <= tol * np.log(2) * 1.0001
    assert kkt < 1e-6
    # the regime where the finish factors a near-singular m x m Hessian
    assert np.count_nonzero(w) > X.shape[0] / 2


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_steps_decrease_objective_to_restricted_gap(fit_intercept):
    X, y, alpha_max = _wide(False, n=120, p=60)
    n, p = X.shape
    a = np.full(n, 1.0 / n)
    datafit, penalty = Logistic(), L1(alpha_max / 20)
    design = Design(X)
    W, b, Z, G = np.zeros((p, 1)), np.zeros(1), np.zeros((n, 1)), np.empty((n, 1))
    ws = np.arange(p, dtype=np.int32)
    col_means = np.asarray(X.T @ a) if fit_intercept else None
    values = []

    def criterion(grad):
        values.append(float(datafit.value(Z, y, a, np) + penalty.value(W, np)))
        return _gap_and_kkt(X, y, W.ravel(), b, penalty.l1)[1]

    _, stalled = prox_newton_inner(design, y, a, datafit, penalty, W, b, Z, G, ws, col_means,
                                   1e-9, 50, criterion)
    assert not stalled
    assert np.all(np.diff(values) <= 0)
    assert _gap_and_kkt(X, y, W.ravel(), b, penalty.l1)[1] <= 1e-9
    np.testing.assert_allclose(Z.ravel(), X @ W.ravel() + b, atol=1e-12)
    if fit_intercept:  # the intercept's optimality: the raw gradient sums to zero
        assert abs(datafit.raw_gradient(Z, y, a, np).sum()) < 1e-8


def test_newton_model_matches_datafit_derivatives():
    from numsolve.linear_model._prox_newton_kernels import newton_model

    rng = np.random.default_rng(0)
    n = 200
    z = np.concatenate([rng.standard_normal(n - 4) * 5, [40.0, -40.0, 800.0, -800.0]])
    y = np.where(rng.standard_normal(n) > 0, 1.0, -1.0)
    a = rng.uniform(0.5, 1.5, n)
    a /= a.sum()
    h, g, target = np.empty(n), np.empty(n), np.empty(n)
    loss = newton_model(z, y, a, 1e-12, h, g, target)
    datafit = Logistic()
    np.testing.assert_allclose(loss, np.sum(a * np.logaddexp(0.0, -y * z)), rtol=1e-13)
    # the datafit's tanh form loses digits in saturation (and rounds exp(-40) to zero)
    np.testing.assert_allclose(g, datafit.raw_gradient(z[:, None], y, a, np)[:, 0],
                               rtol=1e-10, atol=1e-16 * a.max())
    # s(1 - s) without cancellation: exact down to exp(-40), floored beyond
    s = 1.0 / (1.0 + np.exp(-z))
    expected = a * np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))) ** 2
    np.testing.assert_allclose(h, np.maximum(expected, 1e-12 * a), rtol=1e-12)
    np.testing.assert_allclose(h[: n - 4], a[: n - 4] * s[: n - 4] * (1 - s[: n - 4]),
                               rtol=1e-9)
    np.testing.assert_allclose(target, z - g / h, rtol=1e-15)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ws_sq_norms_only_touch_the_working_set(sparse, dtype):
    rng = np.random.default_rng(1)
    X = sp.random(30, 12, density=0.3, format="csc", random_state=1) if sparse else \
        rng.standard_normal((30, 12))
    X = X.astype(dtype)
    h = rng.uniform(0.0, 1.0, 30)
    ws = np.array([1, 4, 5, 11], dtype=np.int32)
    out = np.full(12, -1.0)
    Design(X).ws_sq_norms(h, ws, out)
    dense = X.toarray() if sparse else X
    expected = (dense.astype(np.float64) ** 2).T @ h
    np.testing.assert_allclose(out[ws], expected[ws], rtol=1e-6 if dtype == np.float32 else 1e-13)
    assert np.all(np.delete(out, ws) == -1.0)


def test_compiled_logistic_value_and_conjugate_match_array_code():
    from numsolve.linear_model._prox_newton_kernels import logistic_loss

    rng = np.random.default_rng(2)
    n = 300
    z = np.concatenate([rng.standard_normal(n - 2) * 10, [750.0, -750.0]])
    y = np.where(rng.standard_normal(n) > 0, 1.0, -1.0)
    a = rng.uniform(0.0, 1.0, n)
    a[:5] = 0.0  # zero-weight rows count nothing in the conjugate
    a /= a.sum()
    datafit = Logistic()
    expected = np.sum(a * np.logaddexp(0.0, -y * z))
    assert datafit.value(z[:, None], y, a, np) == pytest.approx(expected, rel=1e-13)
    dz = rng.standard_normal(n)
    assert logistic_loss(z, dz, 0.25, y, a) == pytest.approx(
        np.sum(a * np.logaddexp(0.0, -y * (z + 0.25 * dz))), rel=1e-13)
    G = datafit.raw_gradient(z[:, None], y, a, np)
    s = np.clip(-G[:, 0] * y / np.where(a > 0, a, 1.0), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.nan_to_num(s * np.log(s)) + np.nan_to_num((1 - s) * np.log(1 - s))
    assert datafit.conjugate(G, y, a, np) == pytest.approx(np.sum(a * terms), rel=1e-10)
