"""The Gram route's whole Gram ``X' A X`` (one syrk), formed once growing the working sets'
Gram column by column has cost as much (``_gram_route.GROWTH_COST_WEIGHT``)."""

import numpy as np
import pytest

import numsolve.linear_model._gram_route as gram_route
from numsolve.linear_model import L1, L1PlusL2, Quadratic, bcd


def _tall(rng, n=600, p=40, dtype=np.float64):
    X = rng.standard_normal((n, p)) + 0.5 * rng.standard_normal((n, 1))
    w = np.zeros(p)
    w[:12] = 2 * rng.standard_normal(12)
    y = X @ w + 0.5 * rng.standard_normal(n) + 1.5
    return X.astype(dtype), y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("uniform", [True, False])
def test_whole_gram_is_the_weighted_product(rng, dtype, uniform):
    X = np.asfortranarray(rng.standard_normal((200, 30)).astype(dtype))
    a = np.full(200, 1 / 200) if uniform else rng.uniform(0.0, 2.0, 200) / 200
    X_before = X.copy()
    full = gram_route._whole_gram(X, a)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(full, X64.T @ (a[:, None] * X64), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(full, full.T)
    np.testing.assert_array_equal(X, X_before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("penalty", ["l1", "enet"])
def test_whole_gram_route_finds_the_column_route_solution(rng, monkeypatch, dtype, penalty):
    X, y = _tall(rng, dtype=dtype)
    sw = rng.uniform(0.2, 2.0, X.shape[0])
    alpha = np.abs(X.T @ (y - y.mean())).max() / X.shape[0] / 100
    pen = L1(alpha) if penalty == "l1" else L1PlusL2(alpha, 0.7)
    formed = []
    whole = gram_route._whole_gram

    def recording(X_, a):
        formed.append(X_.shape)
        return whole(X_, a)

    # growth priced so high that the first Gram is already the whole one
    monkeypatch.setattr(gram_route, "GROWTH_COST_WEIGHT", 1e9)
    monkeypatch.setattr(gram_route, "_whole_gram", recording)
    on_whole = bcd(X, y, Quadratic(sample_weight=sw), pen, fit_intercept=True, tol=1e-12,
                   gram=True)
    assert formed == [X.shape] and on_whole.route == "gram"
    columns = bcd(X, y, Quadratic(sample_weight=sw), pen, fit_intercept=True, tol=1e-12,
                  gram=False)
    for fit in (on_whole, columns):
        assert fit.converged and fit.gap <= fit.threshold
    assert on_whole.objective == pytest.approx(columns.objective, rel=1e-10)
    np.testing.assert_allclose(on_whole.x, columns.x, atol=1e-4)
    assert on_whole.intercept == pytest.approx(columns.intercept, abs=1e-4)


def test_growth_priced_at_zero_never_forms_the_whole_gram(rng, monkeypatch):
    X, y = _tall(rng)
    monkeypatch.setattr(gram_route, "GROWTH_COST_WEIGHT", 0)
    monkeypatch.setattr(gram_route, "_whole_gram", None)  # would raise if called
    fit = bcd(X, y, Quadratic(), L1(np.abs(X.T @ y).max() / X.shape[0] / 100), gram=True)
    assert fit.converged and fit.route == "gram"
