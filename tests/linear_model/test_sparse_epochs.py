"""The compiled least-squares epoch and column norms on sparse columns against plain NumPy:
equal weights (the residual-only epoch), unequal weights and small working sets (the general
epoch), float32 and float64, columns on both sides of the vectorised sum's length (the norms
alone and fused with the gradient's pass); the Gram engine's one-pass optimality figures
against the penalty objects."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model import L1, L1PlusL2, NonNegL1, _cd
from numsolve.linear_model._cd_gram import gap_penalty_kkt, restricted_gap
from numsolve.linear_model._design import Design


def _soft(v, t):
    return np.sign(v) * max(abs(v) - t, 0.0)


def _reference_epoch(X, y, a, w, ws, lips, l1):
    """Cyclic exact coordinate minimisation of ``1/2 sum_i a_i (x_i w - y_i)^2 + l1 ||w||_1``
    over ``ws``, one coordinate at a time."""
    w = w.copy()
    X = X.toarray().astype(float)
    for j in ws:
        r = a * (X @ w - y)
        w[j] = _soft(w[j] - X[:, j] @ r / lips[j], l1 / lips[j])
    return w, X @ w


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weights", ["equal", "unequal"])
@pytest.mark.parametrize("subset", [False, True])
def test_epoch_is_exact_cyclic_coordinate_minimisation(rng, dtype, weights, subset):
    n, p = 60, 25
    X = sp.random(n, p, density=0.3, format="csc", random_state=1,
                  data_rvs=rng.standard_normal).astype(dtype)
    y = rng.standard_normal(n)
    a = np.full(n, 1.0 / n) if weights == "equal" else rng.uniform(0.5, 1.5, n) / n
    design = Design(X)
    lips = design.col_sq_norms(a)
    # a working set storing fewer than n entries runs the general epoch even at equal weights
    ws = np.array([2, 7, 11], dtype=np.int32) if subset else np.arange(p, dtype=np.int32)
    assert (design.stored(ws) < n) == subset
    l1 = 0.05 * np.abs(X.T @ (a * y)).max()
    W = np.zeros((p, 1))
    W[ws[::2], 0] = 0.1  # a warm start: Z must be read, not assumed zero
    Z = np.asarray(X @ W, dtype=float)
    expected_w, expected_z = W[:, 0], Z[:, 0]
    for _ in range(3):
        expected_w, expected_z = _reference_epoch(X, y, a, expected_w, ws, lips, l1)
        design.epoch(_cd.DatafitKind.LEAST_SQUARES, y, a, W, Z, ws, lips, l1, 0.0, False)
    np.testing.assert_allclose(W[:, 0], expected_w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(Z[:, 0], expected_z, rtol=1e-10, atol=1e-12)
    assert np.count_nonzero(W) > 0  # the test moves coefficients


def test_one_design_follows_its_weights(rng):
    """The equal-weights test that a design remembers for its last weights array follows a
    new array (equal, then unequal, then equal again); the kernel told ``equal_weights``
    takes the general epoch or the residual-only one and lands on the same iterate."""
    n, p = 60, 25
    X = sp.random(n, p, density=0.3, format="csc", random_state=1,
                  data_rvs=rng.standard_normal)
    y = rng.standard_normal(n)
    design = Design(X)
    ws = np.arange(p, dtype=np.int32)
    for a in (np.full(n, 1.0 / n), rng.uniform(0.5, 1.5, n) / n, np.full(n, 2.0 / n)):
        lips = design.col_sq_norms(a)
        l1 = 0.05 * np.abs(X.T @ (a * y)).max()
        W, Z = np.zeros((p, 1)), np.zeros((n, 1))
        design.epoch(_cd.DatafitKind.LEAST_SQUARES, y, a, W, Z, ws, lips, l1, 0.0, False)
        expected_w, expected_z = _reference_epoch(X, y, a, np.zeros(p), ws, lips, l1)
        np.testing.assert_allclose(W[:, 0], expected_w, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(Z[:, 0], expected_z, rtol=1e-10, atol=1e-12)
        if a[0] == a[-1]:
            general_w, general_z = np.zeros((p, 1)), np.zeros((n, 1))
            _cd.cd_epoch(_cd.DatafitKind.LEAST_SQUARES, *design._columns, y, a, general_w,
                         general_z, ws, lips, l1, 0.0, False, equal_weights=False)
            np.testing.assert_allclose(general_w, W, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(general_z, Z, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weights", ["equal", "unequal"])
def test_col_sq_norms_on_short_and_long_columns(rng, dtype, weights):
    """Columns of 0 to 100 entries (both sides of the vectorised sum's threshold), sparse
    and dense."""
    n = 100
    dense = np.zeros((n, 101), dtype=dtype)
    for j in range(101):
        dense[rng.permutation(n)[:j], j] = rng.standard_normal(j)
    a = np.full(n, 1.0 / n) if weights == "equal" else rng.uniform(0.0, 2.0, n) / n
    expected = (dense.astype(float) ** 2).T @ a
    for X in (sp.csc_matrix(dense), np.asfortranarray(dense)):
        np.testing.assert_allclose(Design(X).col_sq_norms(a), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weights", ["equal", "unequal"])
@pytest.mark.parametrize("K", [1, 2])
def test_norms_and_gradient_in_one_pass(rng, dtype, weights, K):
    """The fused pass returns what the column norms and the full gradient return apart, bit
    for bit, and both agree with NumPy (columns of 0 to 100 entries, sparse and dense; two
    columns of ``G`` take the separate calls)."""
    n = 100
    dense = np.zeros((n, 101), dtype=dtype)
    for j in range(101):
        dense[rng.permutation(n)[:j], j] = rng.standard_normal(j)
    a = np.full(n, 1.0 / n) if weights == "equal" else rng.uniform(0.0, 2.0, n) / n
    G = rng.standard_normal((n, K))
    for X in (sp.csc_matrix(dense), np.asfortranarray(dense)):
        design = Design(X)
        norms, grad = design.col_sq_norms_gradient(a, G)
        np.testing.assert_array_equal(norms, design.col_sq_norms(a))
        np.testing.assert_array_equal(grad, design.gradient(G))
        np.testing.assert_allclose(norms, (dense.astype(float) ** 2).T @ a, rtol=1e-12)
        np.testing.assert_allclose(grad, dense.astype(float).T @ G, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("penalty", [L1(0.3), NonNegL1(0.3), L1PlusL2(0.4, 0.5)])
def test_gram_figures_match_the_penalty_methods(rng, penalty):
    """The Gram engine's one-pass figures are the gap, the penalty's value and its largest
    KKT violation as the penalty objects compute them (zero and non-zero coordinates)."""
    w = np.where(rng.random(12) < 0.5, 0.0, rng.standard_normal(12))
    if penalty.positive:
        w = np.abs(w)
    g = rng.standard_normal(12)
    gap, value, kkt = gap_penalty_kkt(w, g, 10, penalty.l1, penalty.l2, penalty.positive, 2.0)
    assert gap == restricted_gap(w, g, 10, penalty.l1, penalty.l2, penalty.positive, 2.0)
    assert value == pytest.approx(float(penalty.value(w[:10], np)), rel=1e-14)
    assert kkt == pytest.approx(float(np.max(penalty.subdiff_distance(w[:10], g[:10], np))),
                                rel=1e-14)
