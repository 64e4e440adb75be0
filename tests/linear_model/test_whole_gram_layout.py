"""The whole-Gram route reads ``X`` in C or Fortran order in place: the same Gram, ``X' A y``
and means as the products, the same solution as the column route, no copy of a float64
C-ordered ``X``, and the caller's array intact."""

import numpy as np
import pytest

import numsolve.linear_model._gram_engine as gram_engine
from numsolve.linear_model import L1, Quadratic, bcd


def _tall(rng, n=400, p=30):
    X = rng.standard_normal((n, p)) + 0.5 * rng.standard_normal((n, 1)) + 2.0
    w = np.zeros(p)
    w[:6] = 2 * rng.standard_normal(6)
    return X, X @ w + 0.5 * rng.standard_normal(n) + 1.5


def _layouts(X):
    """The same values as C, Fortran, row-strided (neither) and float32 C arrays."""
    padded = np.hstack([X, np.ones((X.shape[0], 1))])[:, :-1]
    return {"C": np.ascontiguousarray(X), "F": np.asfortranarray(X), "strided": padded,
            "float32": X.astype(np.float32)}


@pytest.mark.parametrize("layout", ["C", "F", "strided", "float32"])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("uniform", [True, False])
def test_whole_gram_is_the_weighted_product_in_every_layout(rng, layout, fit_intercept,
                                                            uniform):
    X, y = _tall(rng)
    Xl = _layouts(X)[layout]
    before = Xl.copy()
    a = np.full(X.shape[0], 1.0 / X.shape[0]) if uniform else rng.uniform(0.1, 2.0, X.shape[0])
    problem = gram_engine._WholeGram(Xl, y, a, fit_intercept)
    X64 = Xl.astype(np.float64)
    if fit_intercept:
        means = X64.T @ a / a.sum()
        X64, y = X64 - means, y - (a @ y) / a.sum()
    rtol = 1e-12
    np.testing.assert_allclose(problem.matrix, X64.T @ (a[:, None] * X64), rtol=rtol,
                               atol=rtol * np.abs(problem.matrix).max())
    np.testing.assert_allclose(problem.c, X64.T @ (a * y), rtol=rtol,
                               atol=rtol * np.abs(problem.c).max())
    np.testing.assert_array_equal(problem.matrix, problem.matrix.T)
    np.testing.assert_array_equal(Xl, before)


@pytest.mark.parametrize("layout", ["C", "F", "strided", "float32"])
def test_whole_gram_solution_matches_the_column_route_in_every_layout(rng, layout):
    X, y = _tall(rng)
    Xl = _layouts(X)[layout]
    alpha = np.abs(X.T @ (y - y.mean())).max() / X.shape[0] / 20
    whole = bcd(Xl, y, Quadratic(), L1(alpha), fit_intercept=True, tol=1e-12)
    columns = bcd(Xl, y, Quadratic(), L1(alpha), fit_intercept=True, tol=1e-12, gram=False)
    assert whole.route == "gram" and columns.route == "columns"
    np.testing.assert_allclose(whole.x, columns.x, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(whole.intercept, columns.intercept, rtol=1e-6)


def test_c_ordered_float64_is_read_in_place(rng, monkeypatch):
    """:func:`bcd` does not copy a float64 C-ordered ``X`` on the whole-Gram route (no
    Fortran copy for a :class:`._design.Design`, none in the engine): SYRK receives a view
    of the caller's buffer."""
    X, y = _tall(rng)
    seen = []
    syrk = gram_engine._upper_syrk

    def spy(alpha, data):
        seen.append(np.shares_memory(data, X))
        return syrk(alpha, data)

    monkeypatch.setattr(gram_engine, "_upper_syrk", spy)
    for fit_intercept in (False, True):
        bcd(X, y, Quadratic(), L1(0.01), fit_intercept=fit_intercept)
    assert seen == [True, True]
