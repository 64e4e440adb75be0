"""The multinomial block epoch on dense columns (``_softmax_math.h``): each class steps by
its own curvature, exponentials kept and updated per moved class, an epoch whose objective
rises redone with the global bounds; and the intercept step that goes with it. Checked
against the CSC epoch (global bounds, every moved row's softmax recomputed) on the same
data."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from numsolve.linear_model import _cd
from numsolve.linear_model._cd import DatafitKind


def _columns(X):
    if sp.issparse(X):
        X = sp.csc_matrix(X)
        return X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32)
    empty = np.empty(0, dtype=np.int32)
    return np.asfortranarray(X).ravel(order="F"), empty, empty


def _objective(X, y, W, l1, l2, b=0.0):
    n = X.shape[0]
    Z = np.asarray(X @ W) + b
    top = Z.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(Z - top).sum(axis=1))
    loss = np.mean(log_norm - Z[np.arange(n), y.astype(int)])
    return loss + l1 * np.abs(W).sum() + 0.5 * l2 * (W * W).sum()


def _epochs(X, y, W, Z, l1, l2, epochs, lips=None):
    """``epochs`` multinomial epochs from ``(W, Z)`` (copied) over every feature; the
    objective after each."""
    W, Z = W.copy(), Z.copy()
    n, p = X.shape
    a = np.full(n, 1.0 / n)
    if lips is None:
        lips = 0.5 * np.asarray(X.multiply(X).sum(axis=0) if sp.issparse(X)
                                else (X * X).sum(axis=0)).reshape(-1) / n
    ws = np.arange(p, dtype=np.int32)
    values, indices, indptr = _columns(X)
    trace = []
    for _ in range(epochs):
        _cd.cd_epoch(DatafitKind.MULTINOMIAL, values, indices, indptr, y, a, W, Z, ws, lips,
                     l1, l2, False)
        trace.append(_objective(X, y, W, l1, l2))
    return W, Z, np.array(trace)


def _random(seed, n=300, p=12, K=5):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, p)), rng.integers(0, K, n).astype(float), K


def _digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y.astype(float), 10


@pytest.mark.parametrize("l1, l2", [(0.02, 0.0), (0.01, 0.01), (0.0, 0.0)])
def test_dense_epochs_decrease_the_objective_and_track_the_predictor(l1, l2):
    X, y, K = _random(0)
    W, Z, trace = _epochs(X, y, np.zeros((X.shape[1], K)), np.zeros((X.shape[0], K)), l1,
                          l2, 15)
    assert np.all(np.diff(trace) <= 1e-14 * trace[0])
    np.testing.assert_allclose(Z, X @ W, rtol=0, atol=1e-11)


def _global_bound_epochs(X, y, K, l1, epochs):
    """Reference: proximal block steps of the global bound ``(1/2) ||x_j||^2 / n`` per
    feature (the epoch before class curvatures), in NumPy; the objective at the end."""
    n, p = X.shape
    Y = np.eye(K)[y.astype(int)]
    W, Z = np.zeros((p, K)), np.zeros((n, K))
    bounds = 0.5 * (X * X).sum(axis=0) / n
    for _ in range(epochs):
        for j in np.flatnonzero(bounds > 0):
            P = np.exp(Z - Z.max(axis=1, keepdims=True))
            P /= P.sum(axis=1, keepdims=True)
            v = W[j] - X[:, j] @ (P - Y) / n / bounds[j]
            new = np.sign(v) * np.maximum(np.abs(v) - l1 / bounds[j], 0.0)
            Z += np.outer(X[:, j], new - W[j])
            W[j] = new
    return _objective(X, y, W, l1, 0.0)


def test_curvature_steps_converge_faster_than_the_global_bound():
    """Digits (10 classes, L1 at 1/n): ten epochs from zero end nearer the optimum than
    fifty of the global bound's steps; dense and CSC columns take the same steps."""
    X, y, K = _digits()
    l1 = 1.0 / X.shape[0]
    W0, Z0 = np.zeros((X.shape[1], K)), np.zeros((X.shape[0], K))
    _, _, trace = _epochs(X, y, W0, Z0, l1, 0.0, 200)
    best = trace[-1]
    W_dense, _, dense = _epochs(X, y, W0, Z0, l1, 0.0, 10)
    W_csc, _, _ = _epochs(sp.csc_matrix(X), y, W0, Z0, l1, 0.0, 10)
    reference = _global_bound_epochs(X, y, K, l1, 50)
    assert reference >= best - 1e-9
    assert dense[-1] - best < reference - best
    np.testing.assert_allclose(W_csc, W_dense, rtol=0, atol=1e-12)


def test_float32_columns_step_as_their_float64_values():
    X, y, K = _random(1)
    X32 = X.astype(np.float32)
    W0, Z0 = np.zeros((X.shape[1], K)), np.zeros((X.shape[0], K))
    lips = 0.5 * (X32.astype(np.float64) ** 2).sum(axis=0) / X.shape[0]
    W32, _, _ = _epochs(X32, y, W0, Z0, 0.01, 0.0, 5, lips)
    W64, _, _ = _epochs(X32.astype(np.float64), y, W0, Z0, 0.01, 0.0, 5, lips)
    np.testing.assert_array_equal(W32, W64)


def test_an_epoch_that_would_rise_is_redone_and_still_decreases():
    """Class 0 starts far ahead on many rows (scores up to 40 above the others) and a large
    L1 weight zeroes most of its coefficients within the epoch: the rows' sums of
    exponentials cancel by orders of magnitude, and the epoch still lowers the objective
    with ``Z`` equal to ``X W``."""
    X, y, K = _random(3, n=200, p=6, K=3)
    W0 = np.zeros((X.shape[1], K))
    W0[:, 0] = 8 * np.random.default_rng(4).standard_normal(X.shape[1])
    Z0 = X @ W0
    W, Z, trace = _epochs(X, y, W0, Z0, 4.0, 0.0, 3)
    assert np.sum((Z0[:, 0] > 20) & (Z0[:, 0] - Z[:, 0] > 20)) >= 10
    assert trace[0] < _objective(X, y, W0, 4.0, 0.0)
    assert np.all(np.diff(trace) <= 1e-14 * trace[0])
    np.testing.assert_allclose(Z, X @ W, rtol=0, atol=1e-10)


def test_intercept_step_decreases_the_loss_and_stops_at_its_optimum():
    X, y, K = _random(5)
    n = X.shape[0]
    a = np.full(n, 1.0 / n)
    W = np.random.default_rng(6).standard_normal((X.shape[1], K))
    b = np.zeros(K)
    Z = X @ W
    values = [_objective(X, y, W, 0.0, 0.0, b)]
    for _ in range(30):
        _cd.softmax_intercept_step(y, a, b, Z, 0.5)
        values.append(_objective(X, y, W, 0.0, 0.0, b))
    assert np.all(np.diff(values) <= 1e-14 * values[0])
    np.testing.assert_allclose(Z, X @ W + b, rtol=0, atol=1e-12)
    # at the optimum each class's predicted share equals its share of the labels
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    shares = np.bincount(y.astype(int), minlength=K) / n
    np.testing.assert_allclose(P.mean(axis=0), shares, rtol=0, atol=1e-8)
