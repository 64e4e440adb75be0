"""Gap-safe screening: safety against high-precision solutions, growth, alpha_max, agreement."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import ElasticNet as SkElasticNet
from sklearn.linear_model import Lasso as SkLasso
from sklearn.linear_model import LogisticRegression as SkLogistic

from numsolve.linear_model import (L1, L1PlusL2, Logistic, Multinomial, NonNegL1, Quadratic,
                                   bcd)
from numsolve.linear_model._objective import dual_correlation, optimality
from numsolve.linear_model._screening import gap_safe_screen, screening_possible


def _problem(seed, kind, n=60, p=150):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * (rng.random(p) < 0.3)[None, :] + 0.3 * rng.standard_normal(
        (n, p))
    w = np.zeros(p)
    w[rng.choice(p, 6, replace=False)] = 2 * rng.standard_normal(6)
    z = X @ w
    if kind == "quadratic":
        y = z + 0.3 * rng.standard_normal(n)
    elif kind == "logistic":
        y = np.where(z + 0.5 * rng.standard_normal(n) > 0, 1.0, -1.0)
    else:
        Wt = np.zeros((p, 3))
        Wt[rng.choice(p, 8, replace=False), rng.integers(0, 3, 8)] = 3.0
        y = np.argmax(X @ Wt + rng.gumbel(size=(n, 3)), axis=1).astype(float)
    return X, y


def _screened(X, y, datafit, penalty, W, b=None):
    """The sphere test's verdict at the primal point ``(W, b)`` of the full problem."""
    n = X.shape[0]
    a = np.full(n, 1.0 / n)
    col_means = None if b is None else np.asarray(X.T @ a).reshape(-1)
    Z = np.asarray(X @ W) + (0.0 if b is None else np.atleast_1d(b))
    G = datafit.raw_gradient(Z, y, a, np)
    grad = np.asarray(X.T @ G)
    primal, gap, _ = optimality(datafit, penalty, W, Z, y, a, grad, G, np, col_means)
    lips = datafit.bound * np.asarray(X.multiply(X).T @ a if sp.issparse(X) else (X * X).T @ a)
    corr = dual_correlation(penalty, grad, G, a, np, col_means)
    return gap_safe_screen(penalty, corr, gap, primal, lips.reshape(-1)), gap


def _reference(X, y, kind, alpha, fit_intercept=False, penalty="l1"):
    """High-precision scikit-learn solution ``(W, b)`` (W of shape (p, K))."""
    n = X.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "quadratic" and penalty == "enet":
            m = SkElasticNet(alpha=alpha, l1_ratio=0.6, tol=1e-14, max_iter=1_000_000,
                             fit_intercept=fit_intercept).fit(X, y)
        elif kind == "quadratic":
            m = SkLasso(alpha=alpha, tol=1e-14, max_iter=1_000_000, fit_intercept=fit_intercept,
                        positive=penalty == "positive").fit(X, y)
        else:
            m = SkLogistic(penalty="l1", C=1 / (n * alpha), solver="liblinear", tol=1e-12,
                           max_iter=100_000, fit_intercept=False).fit(X, y)
    return np.asarray(m.coef_).reshape(X.shape[1], 1), np.atleast_1d(m.intercept_)


def _datafit_and_alpha_max(kind, X, y):
    """The datafit of ``kind`` and the smallest L1 level with the zero solution."""
    n = X.shape[0]
    if kind == "multinomial":
        Y = np.eye(3)[y.astype(int)]
        return Multinomial(), np.abs(X.T @ (Y - Y.mean(axis=0))).max() / n
    if kind == "logistic":
        return Logistic(), np.abs(X.T @ y).max() / (2 * n)
    return Quadratic(), np.abs(X.T @ y).max() / n


def _penalty(name, alpha):
    return {"l1": L1(alpha), "enet": L1PlusL2(alpha, l1_ratio=0.6),
            "positive": NonNegL1(alpha)}[name]


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("kind, pen, fit_intercept", [
    ("quadratic", "l1", False), ("quadratic", "l1", True), ("quadratic", "enet", False),
    ("quadratic", "positive", False), ("logistic", "l1", False)])
def test_never_screens_a_feature_of_the_solution(kind, pen, fit_intercept, sparse):
    total_screened = 0
    for seed in range(3):
        X, y = _problem(seed, kind)
        Xs = sp.csc_matrix(X) if sparse else X
        datafit = Quadratic() if kind == "quadratic" else Logistic()
        scale = 1 if kind == "quadratic" else 2
        yc = y - y.mean() if fit_intercept else y
        alpha_max = np.abs(X.T @ yc).max() / (scale * X.shape[0])
        for divisor in (2, 10, 50):
            alpha = alpha_max / divisor
            W_ref, b_ref = _reference(X, y, kind, alpha, fit_intercept, pen)
            support = np.flatnonzero(W_ref[:, 0])
            assert support.size > 0
            rng = np.random.default_rng(seed)
            noise = rng.standard_normal(W_ref.shape)
            # any primal point gives a safe sphere: the solution itself (gap ~ round-off,
            # the most delicate case) and perturbations of it at every scale
            for eps in (0.0, 1e-10, 1e-6, 1e-3, 1e-1):
                W = W_ref + eps * noise
                if pen == "positive":
                    W = np.maximum(W, 0.0)
                screened, _ = _screened(Xs, y, datafit, _penalty(pen, alpha), W,
                                        b_ref if fit_intercept else None)
                assert not screened[support].any()
                total_screened += int(screened.sum())
    assert total_screened > 0


def test_multinomial_screening_is_safe():
    X, y = _problem(0, "multinomial")
    n = X.shape[0]
    Y = np.eye(3)[y.astype(int)]
    alpha = np.abs(X.T @ (Y - Y.mean(axis=0))).max() / n / 5
    res = bcd(X, y, Multinomial(), L1(alpha), tol=1e-14, screening=False)
    support = np.flatnonzero(np.any(res.x != 0, axis=1))
    assert support.size > 0
    rng = np.random.default_rng(1)
    counts = []
    for eps in (1e-1, 1e-3, 1e-6, 0.0):
        screened, _ = _screened(X, y, Multinomial(), L1(alpha),
                                res.x + eps * rng.standard_normal(res.x.shape))
        assert not screened[support].any()
        counts.append(int(screened.sum()))
    assert counts[-1] >= 0.5 * (X.shape[1] - support.size)


@pytest.mark.parametrize("kind", ["quadratic", "logistic", "multinomial"])
@pytest.mark.parametrize("sparse", [False, True])
def test_screened_count_grows_as_the_gap_shrinks(kind, sparse):
    X, y = _problem(3, kind, n=80, p=400)
    Xs = sp.csc_matrix(X) if sparse else X
    datafit, alpha_max = _datafit_and_alpha_max(kind, X, y)
    res = bcd(Xs, y, datafit, L1(alpha_max / 10), tol=1e-12, update="lipschitz")
    counts, gaps = res.history["n_screened"], res.history["gap"]
    assert np.all(np.diff(counts) >= 0)
    zeros = int(np.sum(~np.any(res.x.reshape(X.shape[1], -1) != 0, axis=1)))
    assert counts[0] == 0 and counts[-1] >= 0.5 * zeros
    # nothing is screened while the gap is large, and the count only moves as it shrinks
    first = np.argmax(counts > 0)
    assert gaps[first] < gaps[0]
    assert counts[-1] <= zeros


@pytest.mark.parametrize("kind", ["quadratic", "logistic", "multinomial"])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_everything_screened_above_alpha_max(kind, fit_intercept):
    X, y = _problem(4, kind)
    n = X.shape[0]
    datafit, _ = _datafit_and_alpha_max(kind, X, y)
    K = datafit.n_tasks(y)
    # zero coefficients with the best intercept: the solution for alpha >= alpha_max
    b = None
    if fit_intercept:
        res = bcd(X, y, datafit, L1(1e3), fit_intercept=True, tol=1e-14)
        b = np.atleast_1d(res.intercept)
    a = np.full(n, 1.0 / n)
    Z = np.zeros((n, K)) + (0 if b is None else b)
    G = datafit.raw_gradient(Z, y, a, np)
    if fit_intercept:
        G = G - a[:, None] * G.sum(axis=0)
    alpha_max = np.abs(X.T @ G).max()
    W = np.zeros((X.shape[1], K))
    screened, gap = _screened(X, y, datafit, L1(alpha_max * 1.001), W, b)
    assert gap <= 1e-12 and screened.all()
    screened, _ = _screened(X, y, datafit, L1(alpha_max), W, b)
    top = np.argmax(np.abs(X.T @ G).max(axis=1))
    assert not screened[top] and screened.sum() == X.shape[1] - 1


@pytest.mark.parametrize("kind, pen, fit_intercept, sparse", [
    ("quadratic", "l1", False, False), ("quadratic", "l1", True, True),
    ("quadratic", "enet", True, False), ("quadratic", "positive", False, True),
    ("logistic", "l1", False, True), ("logistic", "l1", True, False),
    ("multinomial", "l1", False, False), ("multinomial", "l1", True, True)])
def test_with_and_without_screening_agree(kind, pen, fit_intercept, sparse):
    X, y = _problem(5, kind, n=80, p=300)
    Xs = sp.csc_matrix(X) if sparse else X
    datafit, alpha_max = _datafit_and_alpha_max(kind, X, y)
    # small enough that the fit takes several outer iterations, so that screening acts
    alpha = alpha_max / (8 if kind == "multinomial" else 40)
    runs = [bcd(Xs, y, datafit, _penalty(pen, alpha), tol=1e-13, fit_intercept=fit_intercept,
                screening=flag) for flag in (True, False)]
    assert all(r.converged for r in runs)
    assert runs[0].history["n_screened"][-1] > 0
    assert np.all(runs[1].history["n_screened"] == 0)
    np.testing.assert_allclose(runs[0].x, runs[1].x, atol=1e-6)
    assert runs[0].objective == pytest.approx(runs[1].objective, rel=1e-10)
    # the restricted gap certifies the full problem: recompute it on all features
    _, gap = _screened(Xs, y, datafit, _penalty(pen, alpha),
                       runs[0].x.reshape(X.shape[1], -1),
                       np.atleast_1d(runs[0].intercept) if fit_intercept else None)
    assert gap <= 1e-11 * max(runs[0].objective, 1.0) + runs[0].threshold


def test_screening_option_is_checked():
    X, y = _problem(0, "quadratic")
    with pytest.raises(TypeError, match="screening"):
        bcd(X, y, Quadratic(), L1(0.1), screening="yes")


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_screening_removes_spurious_coefficients_of_a_warm_start(sparse, fit_intercept):
    X, y = _problem(6, "quadratic", n=80, p=300)
    Xs = sp.csc_matrix(X) if sparse else X
    alpha = np.abs(X.T @ y).max() / X.shape[0] / 10
    exact = bcd(Xs, y, Quadratic(), L1(alpha), tol=1e-14, fit_intercept=fit_intercept,
                screening=False)
    # every coefficient nonzero, the gap already small: the first screening zeroes most
    start = exact.x + 1e-5 * np.random.default_rng(0).standard_normal(exact.x.shape)
    res = bcd(Xs, y, Quadratic(), L1(alpha), tol=1e-14, fit_intercept=fit_intercept,
              coef_init=start, intercept_init=exact.intercept)
    zeros = int(np.sum(exact.x == 0))
    assert res.history["n_screened"][1] >= 0.5 * zeros
    assert res.converged
    np.testing.assert_allclose(res.x, exact.x, atol=1e-8)
    assert res.intercept == pytest.approx(exact.intercept, abs=1e-8)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_gap_after_screening_is_the_gap_of_the_screened_iterate(fit_intercept):
    X, y = _problem(6, "quadratic", n=80, p=300)
    n, p = X.shape
    alpha = np.abs(X.T @ y).max() / n / 10
    exact = bcd(X, y, Quadratic(), L1(alpha), tol=1e-14, fit_intercept=fit_intercept,
                screening=False)
    start = (exact.x + 1e-5 * np.random.default_rng(0).standard_normal(p)).reshape(p, 1)
    res = bcd(X, y, Quadratic(), L1(alpha), tol=1e-14, fit_intercept=fit_intercept,
              coef_init=start, intercept_init=exact.intercept)
    # the engine's first check (after the intercept's exact refit) screens at the warm start
    # itself, zeroing nonzero coefficients
    b = np.atleast_1d(np.mean(y - X @ start[:, 0])) if fit_intercept else None
    dropped, gap_before = _screened(X, y, Quadratic(), L1(alpha), start, b)
    assert np.any(start[dropped] != 0)
    assert res.history["n_screened"][0] == dropped.sum()
    # the recorded gap is that of the restricted problem at the screened iterate
    keep = ~dropped
    _, gap_after = _screened(X[:, keep], y, Quadratic(), L1(alpha), start[keep], b)
    assert res.history["gap"][0] == pytest.approx(gap_after, rel=1e-6)
    assert abs(gap_after - gap_before) > 1e-3 * gap_before


def _gap_at_radius(level, lips_min, primal):
    """A gap whose screening radius at ``lips_min`` is about ``level``."""
    return level * level / (2.0 * lips_min) - 1e-12 * abs(primal)


@pytest.mark.parametrize("pen", [L1(0.3), L1PlusL2(0.3, 0.1)])
def test_screening_possible_false_means_nothing_is_screened(pen):
    """Where the pre-test says no, the sphere test screens no feature, whatever the
    correlations (including zero ones) and with the radius around the bar, on both sides of
    it to the last bit; where it says yes, a zero correlation at the smallest ``L_j`` is
    screened."""
    rng = np.random.default_rng(3)
    bar = pen.l1 * (1.0 - 1e-9)
    said_no = said_yes = 0
    for trial in range(200):
        lips = rng.uniform(0.5, 2.0, 40)
        primal = rng.uniform(0.1, 10.0)
        gap = _gap_at_radius(bar * rng.uniform(0.9, 1.1), lips.min(), primal)
        for _ in range(trial % 3):
            gap = np.nextafter(gap, np.inf if trial % 2 else -np.inf)
        corr = rng.uniform(-pen.l1, pen.l1, (40, 1)) * rng.uniform(0, 1, (40, 1))
        corr[np.argmin(lips)] = 0.0
        screened = gap_safe_screen(pen, corr, gap, primal, lips)
        if screening_possible(pen, gap, primal, lips):
            said_yes += 1
            assert screened[np.argmin(lips)]
        else:
            said_no += 1
            assert not screened.any()
    assert said_no > 20 and said_yes > 20


def test_screening_possible_keeps_every_test_that_can_screen():
    """No L1 part, an infinite gap or no features: nothing to screen; with the sign
    constraint a negative level can pass at any radius, so the pre-test never says no."""
    lips = np.ones(3)
    assert not screening_possible(L1PlusL2(0.0, 1.0), 1e-9, 1.0, lips)
    assert not screening_possible(L1(1.0), np.inf, 1.0, lips)
    assert not screening_possible(L1(1.0), 1e-9, 1.0, np.ones(0))
    assert not screening_possible(L1(1.0), 10.0, 1.0, lips)
    assert screening_possible(NonNegL1(1.0), 10.0, 1.0, lips)
    assert gap_safe_screen(NonNegL1(1.0), np.array([[5.0], [0.0], [-5.0]]), 10.0, 1.0,
                           lips).tolist() == [True, False, False]
