"""Several coordinate epochs in one compiled call (``cd_epochs``): the same iterates as one
call per epoch for every datafit and layout, the working set's coefficients after each epoch
for the Anderson extrapolation, and a check's gradient read from the last epoch."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model import _cd
from numsolve.linear_model._cd import DatafitKind
from numsolve.linear_model._design import Design


def _targets(rng, kind, n):
    if kind == DatafitKind.LOGISTIC:
        return np.where(rng.random(n) < 0.5, -1.0, 1.0), 1
    if kind == DatafitKind.MULTINOMIAL:
        return rng.integers(0, 3, n).astype(float), 3
    return rng.standard_normal(n), 1


@pytest.mark.parametrize("kind", [DatafitKind.LEAST_SQUARES, DatafitKind.LOGISTIC,
                                  DatafitKind.MULTINOMIAL])
@pytest.mark.parametrize("layout", ["csc", "dense"])
@pytest.mark.parametrize("weights", ["equal", "unequal"])
def test_epochs_in_one_call_follow_the_single_epochs(rng, kind, layout, weights):
    """Four epochs in one call take the same floats as four calls of one epoch (the
    residual-only least-squares epochs pass their residual through ``Z``'s round trip
    without writing ``Z``), and each snapshot row is ``W[ws]`` after its epoch."""
    n, p = 80, 30
    X = sp.random(n, p, density=0.4, format="csc", random_state=2,
                  data_rvs=rng.standard_normal)
    X = X if layout == "csc" else np.asfortranarray(X.toarray())
    y, K = _targets(rng, kind, n)
    a = np.full(n, 1.0 / n) if weights == "equal" else rng.uniform(0.5, 1.5, n) / n
    design = Design(X)
    lips = design.col_sq_norms(a) * (0.25 if kind == DatafitKind.LOGISTIC else 1.0)
    ws = np.arange(2, p, dtype=np.int32)
    l1 = 0.02
    W_one, Z_one = np.zeros((p, K)), np.zeros((n, K))
    expected = []
    for _ in range(4):
        design.epoch(kind, y, a, W_one, Z_one, ws, lips, l1, 0.0, False)
        expected.append(W_one[ws].ravel())
    W, Z = np.zeros((p, K)), np.zeros((n, K))
    snapshots = np.full((4, ws.size * K + 2), -7.0)
    design.epochs(kind, y, a, W, Z, ws, lips, l1, 0.0, False, snapshots)
    np.testing.assert_array_equal(W, W_one)
    np.testing.assert_array_equal(Z, Z_one)
    np.testing.assert_array_equal(snapshots[:, :ws.size * K], expected)
    np.testing.assert_array_equal(snapshots[:, ws.size * K:], -7.0)  # the rest untouched
    assert np.count_nonzero(W) > 0 and not np.array_equal(expected[0], expected[-1])


def test_short_snapshot_rows_only_count_the_epochs(rng):
    """Rows shorter than the working set's coefficients receive nothing: the call runs as
    many epochs as there are rows."""
    n, p = 60, 20
    X = sp.random(n, p, density=0.5, format="csc", random_state=4,
                  data_rvs=rng.standard_normal)
    y = rng.standard_normal(n)
    a = np.full(n, 1.0 / n)
    design = Design(X)
    lips = design.col_sq_norms(a)
    ws = np.arange(p, dtype=np.int32)
    W_one, Z_one = np.zeros((p, 1)), np.zeros((n, 1))
    for _ in range(3):
        design.epoch(DatafitKind.LEAST_SQUARES, y, a, W_one, Z_one, ws, lips, 0.01, 0.0, False)
    W, Z = np.zeros((p, 1)), np.zeros((n, 1))
    _cd.cd_epochs(DatafitKind.LEAST_SQUARES, *design._columns, y, a, W, Z, ws, lips, 0.01,
                  0.0, False, np.empty((3, 0)), np.empty((0, 1)), np.empty((0, 1)))
    np.testing.assert_array_equal(W, W_one)
    np.testing.assert_array_equal(Z, Z_one)


def _soft(v, t):
    return np.sign(v) * max(abs(v) - t, 0.0)


def _cyclic(X, y, a, w, order, lips, l1):
    """Exact coordinate minimisation of ``1/2 sum_i a_i (x_i w - y_i)^2 + l1 ||w||_1`` over
    the features in ``order``, one at a time (dense NumPy)."""
    w = w.copy()
    for j in order:
        w[j] = _soft(w[j] - X[:, j] @ (a * (X @ w - y)) / lips[j], l1 / lips[j])
    return w


@pytest.mark.parametrize("weights", ["equal", "unequal"])
def test_check_gradient_from_the_last_epoch(rng, weights):
    """A call asked for a check's gradient returns ``X[:, ws]' G`` and the raw gradient
    ``G`` at its final iterate; with equal weights (residual-only epochs) its last epoch
    steps the features in the model first, then the others, in working-set order."""
    n, p = 120, 40
    X = sp.random(n, p, density=0.3, format="csc", random_state=5,
                  data_rvs=rng.standard_normal)
    dense = X.toarray()
    y = dense[:, :6] @ rng.standard_normal(6) + 0.1 * rng.standard_normal(n)
    a = np.full(n, 1.0 / n) if weights == "equal" else rng.uniform(0.5, 1.5, n) / n
    design = Design(X)
    lips = design.col_sq_norms(a)
    ws = np.arange(1, p, dtype=np.int32)
    l1 = 0.1 * np.abs(X.T @ (a * y)).max()
    W, Z, G = np.zeros((p, 1)), np.zeros((n, 1)), np.full((n, 1), np.nan)
    expected = np.zeros(p)
    for _ in range(2):
        expected = _cyclic(dense, y, a, expected, ws, lips, l1)
    if weights == "equal":  # the last epoch: the model's features first
        order = np.concatenate([ws[expected[ws] != 0], ws[expected[ws] == 0]])
        assert 0 < np.count_nonzero(expected[ws]) < ws.size
    else:
        order = ws
    expected = _cyclic(dense, y, a, expected, order, lips, l1)
    grad = design.epochs(DatafitKind.LEAST_SQUARES, y, a, W, Z, ws, lips, l1, 0.0, False,
                         np.empty((3, 0)), G)
    np.testing.assert_allclose(W[:, 0], expected, rtol=1e-10, atol=1e-13)
    raw = np.empty((n, 1))
    _cd.raw_gradient(DatafitKind.LEAST_SQUARES, Z, y, a, raw)
    np.testing.assert_array_equal(G, raw)
    np.testing.assert_allclose(grad, design.gradient(raw, ws), rtol=1e-12, atol=1e-16)
    assert np.count_nonzero(W) > 0


def test_check_gradient_needs_a_single_task_datafit(rng):
    n, p = 30, 6
    X = sp.random(n, p, density=0.5, format="csc", random_state=6)
    design = Design(X)
    a = np.full(n, 1.0 / n)
    ws = np.arange(p, dtype=np.int32)
    with pytest.raises(ValueError, match="single-task"):
        design.epochs(DatafitKind.MULTINOMIAL, rng.integers(0, 3, n).astype(float), a,
                      np.zeros((p, 3)), np.zeros((n, 3)), ws, np.ones(p), 0.1, 0.0, False,
                      np.empty((1, 0)), np.empty((n, 3)))
