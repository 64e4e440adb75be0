"""A dense Gram grown by working sets takes every feature's Gram at once (one SYRK of ``X``)
when a growth's work is a large share of the whole Gram's: the same Gram as the products,
for every feature afterwards, and the same solutions as the column route."""

import numpy as np
import pytest

import numsolve.linear_model._gram_engine as gram_engine
from numsolve.linear_model import L1, Quadratic, bcd
from numsolve.linear_model._design import Design
from numsolve.linear_model._gram_route import WorkingSetGram


def _expected(dense, a, ws, col_means):
    """The working set's Gram by the direct product (intercept row and column last)."""
    Q = dense[:, ws].T @ (a[:, None] * dense[:, ws])
    if col_means is None:
        return Q
    return np.block([[Q, col_means[ws, None]], [col_means[None, ws], a.sum() * np.ones((1, 1))]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("intercept", [False, True])
def test_a_large_growth_takes_the_whole_gram(rng, dtype, uniform, intercept):
    n, p = 400, 40
    X = np.asfortranarray(rng.standard_normal((n, p)) + 1.0, dtype=dtype)
    before = X.copy()
    dense = X.astype(np.float64)
    a = np.full(n, 1.0 / n) if uniform else rng.uniform(0.5, 1.5, n) / n
    col_means = dense.T @ a if intercept else None
    gram = WorkingSetGram(Design(X), a, col_means)
    small = np.array([2, 9, 17])
    np.testing.assert_allclose(gram.matrix(small), _expected(dense, a, small, col_means),
                               rtol=1e-12, atol=1e-14)
    assert gram.size == small.size  # a small growth computes its own columns only
    large = np.arange(0, p, 2)  # half the features: a quarter of the whole Gram's work
    Q = gram.matrix(large)
    assert gram.size == p and Q.flags.c_contiguous
    np.testing.assert_allclose(Q, _expected(dense, a, large, col_means), rtol=1e-12, atol=1e-14)
    # rows from the whole Gram: gathered, or every feature in order (copied as it stands)
    for ws in (np.array([1, 2, 39, 17]), np.arange(p), np.arange(p)[::-1]):
        np.testing.assert_allclose(gram.matrix(ws), _expected(dense, a, ws, col_means),
                                   rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(gram.known_block()[np.ix_(gram.features, gram.features)],
                                  gram.known_block())
    np.testing.assert_array_equal(X, before)


def test_squarer_data_keeps_growing_by_working_sets(rng):
    """Below ``n = 8p`` a large growth computes the entering columns only."""
    n, p = 300, 40
    X = np.asfortranarray(rng.standard_normal((n, p)))
    a = np.full(n, 1.0 / n)
    gram = WorkingSetGram(Design(X), a, None)
    ws = np.arange(0, p, 2)
    np.testing.assert_allclose(gram.matrix(ws), _expected(X, a, ws, None), rtol=1e-12,
                               atol=1e-14)
    assert gram.size == ws.size


def test_grown_gram_solution_matches_the_column_route(rng, monkeypatch):
    """A small penalty on a tall problem whose Gram is grown (not taken whole from the
    start): the working sets reach most features, the Gram is taken whole on the way,
    and the fit agrees with the column route's."""
    n, p = 2000, 60
    X = rng.standard_normal((n, p))
    y = X @ rng.standard_normal(p) + 0.5 * rng.standard_normal(n)
    monkeypatch.setattr(gram_engine, "WHOLE_GRAM_WORK", 0)
    taken = []
    take_whole = WorkingSetGram._take_whole

    def recording(self):
        taken.append(self.size)
        return take_whole(self)

    monkeypatch.setattr(WorkingSetGram, "_take_whole", recording)
    alpha = np.abs(X.T @ y).max() / n / 1000
    fits = {gram: bcd(X, y, Quadratic(), L1(alpha), fit_intercept=True, tol=1e-12, gram=gram)
            for gram in ("auto", False)}
    assert fits["auto"].route == "gram" and fits[False].route == "columns"
    assert len(taken) == 1 and 0 < taken[0] < p
    for fit in fits.values():
        assert fit.converged and fit.gap <= fit.threshold
    assert fits["auto"].objective == pytest.approx(fits[False].objective, rel=1e-11)
    np.testing.assert_allclose(fits["auto"].x, fits[False].x, atol=1e-6)
