"""The Gram engine (dense tall least squares): the column route's solutions, the Fenchel gap
of the full problem read from the Gram, the working-set Gram grown column by column, and no
pass over ``X`` once every feature has a Gram row."""

import numpy as np
import pytest
import scipy.sparse as sp

import numsolve.linear_model._gram_engine as gram_engine
from numsolve.linear_model import L1, L2, L1PlusL2, NoPenalty, NonNegL1, Quadratic, bcd
from numsolve.linear_model._design import Design
from numsolve.linear_model._gram_route import WorkingSetGram
from numsolve.linear_model._objective import optimality


def _tall(rng, n=500, p=40, dtype=np.float64):
    X = rng.standard_normal((n, p)) + 0.5 * rng.standard_normal((n, 1))
    w = np.zeros(p)
    w[:8] = 2 * rng.standard_normal(8)
    y = X @ w + 0.5 * rng.standard_normal(n) + 1.5
    return X.astype(dtype), y


def _alpha_max(X, y):
    return np.abs(X.T @ (y - y.mean())).max() / X.shape[0]


def _penalty(name, alpha):
    return {"l1": L1(alpha), "enet": L1PlusL2(alpha, 0.7), "nonneg": NonNegL1(alpha)}[name]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("penalty", ["l1", "enet", "nonneg"])
def test_engine_finds_the_column_route_solution(rng, dtype, penalty):
    X, y = _tall(rng, dtype=dtype)
    X_before, y_before = X.copy(), y.copy()
    sw = rng.uniform(0.2, 2.0, X.shape[0])
    pen = _penalty(penalty, _alpha_max(X, y) / 30)
    fits = {gram: bcd(X, y, Quadratic(sample_weight=sw), pen, fit_intercept=True, tol=1e-12,
                      gram=gram) for gram in ("auto", False)}
    assert fits["auto"].route == "gram" and fits[False].route == "columns"
    for fit in fits.values():
        assert fit.converged and fit.gap <= fit.threshold
    assert fits["auto"].x.dtype == dtype
    assert fits["auto"].objective == pytest.approx(fits[False].objective, rel=1e-10)
    np.testing.assert_allclose(fits["auto"].x, fits[False].x, atol=1e-4)
    assert fits["auto"].intercept == pytest.approx(fits[False].intercept, abs=1e-4)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_engine_gap_is_the_fenchel_gap_of_the_full_problem(rng, fit_intercept):
    """The gap and objective the engine reports (read from the Gram) are those computed
    from ``X`` at its solution, at every history record's scale."""
    X, y = _tall(rng, n=800, p=60)
    sw = rng.uniform(0.5, 1.5, X.shape[0])
    pen = L1PlusL2(_alpha_max(X, y) / 20, 0.8)
    fit = bcd(X, y, Quadratic(sample_weight=sw), pen, fit_intercept=fit_intercept, tol=1e-5)
    assert fit.route == "gram" and fit.converged
    a = sw / sw.sum()
    b = fit.intercept if fit_intercept else 0.0
    Z = (X @ fit.x + b)[:, None]
    G = a[:, None] * (Z - y[:, None])
    col_means = X.T @ a if fit_intercept else None
    primal, gap, _ = optimality(Quadratic(), pen, fit.x[:, None], Z, y, a, X.T @ G, G, np,
                                col_means)
    scale = 0.5 * float(a @ y ** 2)
    assert fit.objective == pytest.approx(primal, rel=1e-12)
    assert fit.gap == pytest.approx(gap, abs=1e-12 * scale)
    assert 0 < fit.gap <= fit.threshold


def test_no_penalty_and_ridge_match_the_normal_equations(rng):
    X, y = _tall(rng, n=400, p=20)
    n = X.shape[0]
    plain = bcd(X, y, Quadratic(), NoPenalty(), fit_intercept=True, tol=1e-10, gram=True)
    Xc = X - X.mean(axis=0)
    exact = np.linalg.lstsq(Xc, y - y.mean(), rcond=None)[0]
    assert plain.route == "gram" and plain.converged
    np.testing.assert_allclose(plain.x, exact, atol=1e-8)
    ridge = bcd(X, y, Quadratic(), L2(0.3), tol=1e-12)
    np.testing.assert_allclose(ridge.x, np.linalg.solve(X.T @ X / n + 0.3 * np.eye(20),
                                                        X.T @ y / n), atol=1e-7)


def test_warm_start_lands_on_the_same_solution(rng):
    X, y = _tall(rng)
    pen = L1(_alpha_max(X, y) / 50)
    cold = bcd(X, y, Quadratic(), pen, fit_intercept=True, tol=1e-12)
    start = cold.x + 0.1 * rng.standard_normal(cold.x.shape)
    warm = bcd(X, y, Quadratic(), pen, fit_intercept=True, tol=1e-12, coef_init=start,
               intercept_init=cold.intercept - 0.3)
    assert warm.route == "gram" and warm.converged
    np.testing.assert_allclose(warm.x, cold.x, atol=1e-5)
    assert warm.objective == pytest.approx(cold.objective, rel=1e-11)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("intercept", [False, True])
def test_working_set_gram_is_the_weighted_product(rng, sparse, intercept):
    """Working sets that overlap, shrink and grow read their Gram from one store that
    computes each feature's column once."""
    X = rng.standard_normal((120, 30))
    if sparse:
        X = sp.random(120, 30, density=0.3, format="csc", random_state=1,
                      data_rvs=rng.standard_normal)
    dense = X.toarray() if sparse else X
    a = rng.uniform(0.5, 1.5, 120)
    a /= a.sum()
    col_means = dense.T @ a if intercept else None
    gram = WorkingSetGram(Design(X), a, col_means)
    seen = set()
    for ws in ([3, 7, 11], [0, 3, 5, 7, 20, 29], [5, 20], np.arange(30)):
        ws = np.asarray(ws)
        Q = gram.matrix(ws)
        seen |= set(ws.tolist())
        expected = dense[:, ws].T @ (a[:, None] * dense[:, ws])
        if intercept:
            expected = np.block([[expected, col_means[ws, None]],
                                 [col_means[None, ws], np.ones((1, 1))]])
        np.testing.assert_allclose(Q, expected, rtol=1e-12, atol=1e-14)
        assert gram.size == len(seen) and Q.flags.c_contiguous


def test_no_pass_over_x_once_every_feature_has_a_gram_row(rng, monkeypatch):
    """Products with ``X`` cover only features without a Gram row, and stop once there are
    none: later outer iterations read everything from the Gram (a Gram grown lazily: this
    problem is small enough to get its whole Gram at once otherwise)."""
    X, y = _tall(rng, n=600, p=30)
    monkeypatch.setattr(gram_engine, "WHOLE_GRAM_WORK", 0)
    covered = []
    cross = gram_engine._GramProblem._cross

    def recording(self, v, features):
        covered.append(features.size)
        return cross(self, v, features)

    monkeypatch.setattr(gram_engine._GramProblem, "_cross", recording)
    fit = bcd(X, y, Quadratic(), L1(_alpha_max(X, y) / 1000), tol=1e-14)
    assert fit.route == "gram" and fit.converged and fit.n_iter >= 3
    # X'Ay came with the start's single pass; later products skip the features with rows
    assert covered and all(0 < size < 30 for size in covered)
    assert len(covered) < fit.n_iter + 1  # some evaluations made no pass at all


def test_engine_is_deterministic(rng):
    X, y = _tall(rng)
    runs = [bcd(X, y, Quadratic(), L1(_alpha_max(X, y) / 100), fit_intercept=True)
            for _ in range(2)]
    np.testing.assert_array_equal(runs[0].x, runs[1].x)
    assert runs[0].intercept == runs[1].intercept


def test_newton_step_is_cut_where_a_coefficient_reaches_zero(rng):
    """A full Newton step that would flip a sign is cut at the first zero crossing: that
    coefficient becomes zero, the objective decreases, and the datafit value and gradient
    returned are those of the new point."""
    from numsolve.linear_model._gram_route import _newton

    X = rng.standard_normal((200, 6))
    X[:, 1] = X[:, 0] + 0.1 * rng.standard_normal(200)  # correlated pair
    y = X @ np.array([1.0, -0.8, -0.5, 0.0, 0.3, 0.0]) + 0.1 * rng.standard_normal(200)
    n = X.shape[0]
    Q = X.T @ X / n
    c = X.T @ y / n
    pen = L1(0.01)
    w = np.array([0.2, 0.6, -0.4, 0.0, 0.2, 0.0])  # coefficient 1 held positive, wrongly
    g = Q @ w - c
    value = 0.5 * np.mean((X @ w - y) ** 2)
    full = w.copy()
    free = w != 0
    full[free] -= np.linalg.solve(Q[np.ix_(free, free)], g[free] + pen.l1 * np.sign(w[free]))
    assert np.any(np.sign(full[free]) * np.sign(w[free]) < 0)  # the uncut step flips a sign
    before = value + pen.value(w, np)
    new_value = _newton(Q, w, g, value, pen, 6)
    assert new_value + pen.value(w, np) < before
    assert np.count_nonzero(w) == np.count_nonzero(free) - 1
    assert new_value == pytest.approx(0.5 * np.mean((X @ w - y) ** 2), rel=1e-12)
    np.testing.assert_allclose(g, Q @ w - c, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("uniform", [True, False])
def test_one_pass_moments_are_the_products(rng, dtype, uniform):
    X = np.asfortranarray(rng.standard_normal((300, 25)).astype(dtype))
    a = np.full(300, 1 / 300) if uniform else rng.uniform(0.0, 2.0, 300) / 300
    v = rng.standard_normal(300)
    cross, norms, means = gram_engine._column_moments(Design(X), a, v, True)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(cross, X64.T @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(norms, (X64 * X64).T @ a, rtol=1e-12)
    np.testing.assert_allclose(means, X64.T @ a, rtol=1e-12, atol=1e-14)
    assert gram_engine._column_moments(Design(X), a, v, False)[2] is None
