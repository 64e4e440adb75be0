"""The active-set Newton finish on the softmax loss: fast termination after support
identification, monotone objective, agreement with scikit-learn."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression as SkLogistic

from numsolve.linear_model import L1, L1PlusL2, Multinomial, bcd
from numsolve.linear_model._design import Design
from numsolve.linear_model._newton import newton_finish


def _planted(seed, n=200, p=60, K=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W = np.zeros((p, K))
    W[rng.choice(p, 10, replace=False), rng.integers(0, K, 10)] = 3.0
    y = np.argmax(X @ W + 0.5 + rng.gumbel(size=(n, K)), axis=1).astype(float)
    Y = np.eye(K)[y.astype(int)]
    alpha_max = np.abs(X.T @ (Y - Y.mean(axis=0))).max() / n
    return X, y, alpha_max


def _kkt(X, y, W, b, penalty, fit_intercept):
    n = X.shape[0]
    a = np.full(n, 1.0 / n)
    G = Multinomial().raw_gradient(np.asarray(X @ W) + b, y, a, np)
    kkt = penalty.subdiff_distance(W, np.asarray(X.T @ G), np).max()
    return max(kkt, np.abs(G.sum(axis=0)).max()) if fit_intercept else kkt


def _objective(X, y, W, b, penalty):
    a = np.full(X.shape[0], 1.0 / X.shape[0])
    return float(Multinomial().value(np.asarray(X @ W) + b, y, a, np) + penalty.value(W, np))


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.7])
def test_finish_reaches_kkt_in_few_steps_after_identification(sparse, fit_intercept, l1_ratio):
    X, y, alpha_max = _planted(0)
    penalty = L1PlusL2(alpha_max / 5, l1_ratio=l1_ratio)
    Xs = sp.csc_matrix(X) if sparse else X
    exact = bcd(Xs, y, Multinomial(), penalty, tol=1e-15, fit_intercept=fit_intercept,
                update="lipschitz", max_iter=500)
    # a coordinate-descent iterate that has the solution's sign pattern but is far from it
    for tol in (1e-3, 1e-4, 1e-5, 1e-6, 1e-7):
        start = bcd(Xs, y, Multinomial(), penalty, tol=tol, fit_intercept=fit_intercept,
                    update="lipschitz")
        if np.array_equal(np.sign(start.x), np.sign(exact.x)):
            break
    assert np.array_equal(np.sign(start.x), np.sign(exact.x))
    W, b = start.x.copy(), np.array(start.intercept, dtype=float)
    assert _kkt(X, y, W, b, penalty, fit_intercept) > 1e-6
    n = X.shape[0]
    a = np.full(n, 1.0 / n)
    Z = np.asarray(X @ W) + b
    design = Design(Xs)
    values = [_objective(X, y, W, b, penalty)]
    for steps in range(1, 7):  # one Newton step per call
        newton_finish(design, Multinomial(), penalty, W, b, Z, y, a, fit_intercept, max_steps=1)
        np.testing.assert_allclose(Z, X @ W + b, atol=1e-12)
        values.append(_objective(X, y, W, b, penalty))
        if _kkt(X, y, W, b, penalty, fit_intercept) <= 1e-10:
            break
    assert _kkt(X, y, W, b, penalty, fit_intercept) <= 1e-10
    assert steps <= 4
    assert np.all(np.diff(values) <= 1e-15 * values[0])
    np.testing.assert_allclose(W, exact.x, atol=1e-7)


def test_finish_drops_wrong_signs_and_never_increases_the_objective():
    X, y, alpha_max = _planted(1)
    penalty = L1(alpha_max / 4)
    exact = bcd(X, y, Multinomial(), penalty, tol=1e-15)
    rng = np.random.default_rng(2)
    # a support larger than the solution's, with some entries of the wrong sign
    W = exact.x + 0.3 * rng.standard_normal(exact.x.shape) * (rng.random(exact.x.shape) < 0.2)
    b = np.zeros(W.shape[1])
    a = np.full(X.shape[0], 1.0 / X.shape[0])
    Z = X @ W
    initial = set(zip(*np.nonzero(W)))
    before = _objective(X, y, W, b, penalty)
    values = [before]
    for _ in range(30):
        if not newton_finish(Design(X), Multinomial(), penalty, W, b, Z, y, a, False,
                             max_steps=1):
            break
        values.append(_objective(X, y, W, b, penalty))
    assert np.all(np.diff(values) <= 1e-15 * before)
    assert values[-1] < before
    # entries only leave the support (wrong signs are dropped), none enters
    assert set(zip(*np.nonzero(W))) <= initial


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("K", [2, 4])
def test_multinomial_l1_matches_saga(fit_intercept, K):
    X, y, alpha_max = _planted(3, n=150, p=40, K=K)
    n = X.shape[0]
    alpha = alpha_max / 6
    res = bcd(X, y, Multinomial(), L1(alpha), tol=1e-14, fit_intercept=fit_intercept)
    assert res.converged
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SkLogistic(l1_ratio=1.0, C=1 / (n * alpha), solver="saga", tol=1e-10,
                         max_iter=200_000, fit_intercept=fit_intercept).fit(X, y)
    W_ref = ref.coef_.T
    if K == 2:  # scikit-learn's binary fit is the logistic loss on z_1 - z_0: W = [0, w]
        W_ref = np.hstack([np.zeros_like(W_ref), W_ref])
    b_ref = np.zeros(K)
    if fit_intercept:
        b_ref = ref.intercept_ if K > 2 else np.concatenate([[0.0], ref.intercept_])
    # same objective (K = 2: sklearn's parametrisation pays L1 on w_1 - w_0 only, an upper
    # bound on ours, which is reached by a solution with one class at zero)
    ours = _objective(X, y, res.x, np.atleast_1d(res.intercept), L1(alpha))
    theirs = _objective(X, y, W_ref, b_ref, L1(alpha))
    assert ours <= theirs + 1e-9
    assert ours == pytest.approx(theirs, rel=1e-8)
    assert _kkt(X, y, res.x, np.atleast_1d(res.intercept), L1(alpha), fit_intercept) < 1e-7


def test_newton_finish_speeds_up_the_multinomial_engine():
    X, y, alpha_max = _planted(4, n=300, p=100, K=5)
    runs = {update: bcd(X, y, Multinomial(), L1(alpha_max / 8), tol=1e-13, update=update)
            for update in ("auto", "lipschitz")}
    assert all(r.converged for r in runs.values())
    assert runs["auto"].epochs < runs["lipschitz"].epochs
    np.testing.assert_allclose(runs["auto"].x, runs["lipschitz"].x, atol=1e-7)
