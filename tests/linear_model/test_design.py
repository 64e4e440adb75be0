"""The compiled coordinate-descent kernels behind ``Design``: exact coordinate minimisation,
convergence to independent solutions, dense = sparse, float32 and int64 indices read in
float64 without copies, and the same fit in a fresh process."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model import Lasso, Logistic, LogisticRegression, Multinomial, Quadratic
from numsolve.linear_model._design import Design
from numsolve.linear_model._cd import raw_gradient


def _problem(rng, kind, n=40, p=12, density=0.6):
    X = rng.standard_normal((n, p))
    X[rng.random((n, p)) > density] = 0.0
    a = rng.random(n) + 0.5
    a /= a.sum()
    if kind == "quadratic":
        datafit, y, K = Quadratic(), rng.standard_normal(n), 1
    elif kind == "logistic":
        datafit, y, K = Logistic(), np.where(rng.random(n) < 0.5, -1.0, 1.0), 1
    else:
        datafit, y, K = Multinomial(), rng.integers(0, 3, n).astype(float), 3
    return X, y, a, datafit, K


def _epochs(design, datafit, y, a, K, n_epochs, l1=0.0, l2=0.0, positive=False):
    n, p = design.shape
    W, Z = np.zeros((p, K)), np.zeros((n, K))
    lips = datafit.bound * design.col_sq_norms(a)
    ws = np.arange(p, dtype=np.int32)
    for _ in range(n_epochs):
        design.epoch(datafit.kind, y, a, W, Z, ws, lips, l1, l2, positive)
    return W, Z


def _gradient(design, datafit, y, a, Z):
    G = np.empty_like(Z)
    raw_gradient(datafit.kind, Z, y, a, G)
    return design.gradient(G)


def test_least_squares_step_minimises_along_its_coordinate(rng):
    X, y, a, datafit, K = _problem(rng, "quadratic")
    design = Design(X)
    W, Z = np.zeros((X.shape[1], 1)), np.zeros((X.shape[0], 1))
    lips = design.col_sq_norms(a)
    design.epoch(datafit.kind, y, a, W, Z, np.array([3], dtype=np.int32), lips, 0.0, 0.0, False)
    np.testing.assert_allclose(Z[:, 0], X @ W[:, 0], atol=1e-14)
    assert W[3, 0] != 0.0 and np.count_nonzero(W) == 1
    assert abs(X[:, 3] @ (a * (Z[:, 0] - y))) < 1e-14  # exact minimiser: zero partial slope


def test_least_squares_epochs_reach_weighted_least_squares(rng):
    X, y, a, datafit, K = _problem(rng, "quadratic", density=1.0)
    W, _ = _epochs(Design(X), datafit, y, a, K, 400)
    root = np.sqrt(a)
    reference = np.linalg.lstsq(root[:, None] * X, root * y, rcond=None)[0]
    np.testing.assert_allclose(W[:, 0], reference, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("kind", ["logistic", "multinomial"])
def test_ridge_epochs_reach_a_stationary_point(rng, kind):
    X, y, a, datafit, K = _problem(rng, kind)
    design = Design(X)
    l2 = 0.05
    W, Z = _epochs(design, datafit, y, a, K, 1500, l2=l2)
    np.testing.assert_allclose(Z, X @ W, atol=1e-12)
    stationarity = _gradient(design, datafit, y, a, Z) + l2 * W
    assert np.abs(stationarity).max() < 1e-9
    assert np.abs(W).max() > 1e-2


@pytest.mark.parametrize("kind", ["quadratic", "logistic", "multinomial"])
def test_l1_epochs_satisfy_the_subgradient_conditions(rng, kind):
    X, y, a, datafit, K = _problem(rng, kind)
    design = Design(X)
    l1 = 0.3 * np.abs(_gradient(design, datafit, y, a, np.zeros((X.shape[0], K)))).max()
    W, Z = _epochs(design, datafit, y, a, K, 2000, l1=l1)
    grad = _gradient(design, datafit, y, a, Z)
    zero = W == 0
    assert zero.any() and (~zero).any()
    assert np.abs(grad[zero]).max() <= l1 + 1e-9
    np.testing.assert_allclose(grad[~zero], -l1 * np.sign(W[~zero]), atol=1e-9)


@pytest.mark.parametrize("kind", ["quadratic", "logistic", "multinomial"])
def test_dense_and_sparse_kernels_agree(rng, kind):
    X, y, a, datafit, K = _problem(rng, kind)
    dense, sparse = Design(X), Design(sp.csr_matrix(X))
    W_dense, Z_dense = _epochs(dense, datafit, y, a, K, 7, l1=0.01, l2=0.1)
    W_sparse, Z_sparse = _epochs(sparse, datafit, y, a, K, 7, l1=0.01, l2=0.1)
    np.testing.assert_allclose(W_sparse, W_dense, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(Z_sparse, Z_dense, rtol=1e-12, atol=1e-15)
    ws = np.array([5, 0, 7], dtype=np.int32)
    G = rng.standard_normal(Z_dense.shape)
    np.testing.assert_allclose(sparse.gradient(G, ws), X[:, ws].T @ G, rtol=1e-12)
    np.testing.assert_allclose(dense.gradient(G, ws), X[:, ws].T @ G, rtol=1e-12)
    for design in (dense, sparse):
        Z = np.empty_like(Z_dense)
        design.predict(W_dense, ws, np.ones(K), Z)
        np.testing.assert_allclose(Z, X[:, ws] @ W_dense[ws] + 1.0, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", ["quadratic", "logistic", "multinomial"])
@pytest.mark.parametrize("sparse", [False, True])
def test_float32_values_and_int64_indices_are_read_in_float64_without_a_copy(rng, kind,
                                                                              sparse):
    X, y, a, datafit, K = _problem(rng, kind)
    X32 = X.astype(np.float32)
    if sparse:
        X32 = sp.csc_matrix(X32)
        X32.indices, X32.indptr = X32.indices.astype(np.int64), X32.indptr.astype(np.int64)
        wide = Design(X32)
        assert np.shares_memory(wide.X.data, X32.data) and wide.X.indices.dtype == np.int64
    else:
        X32 = np.asfortranarray(X32)
        wide = Design(X32)
        assert np.shares_memory(wide.X, X32)
    # the same values in float64: every product and sum is the same double operation
    narrow = Design(X32.astype(np.float64))
    W32, Z32 = _epochs(wide, datafit, y, a, K, 5, l1=0.01)
    W64, Z64 = _epochs(narrow, datafit, y, a, K, 5, l1=0.01)
    assert W32.dtype == np.float64
    np.testing.assert_array_equal(W32, W64)
    np.testing.assert_array_equal(Z32, Z64)
    np.testing.assert_array_equal(wide.col_sq_norms(a), narrow.col_sq_norms(a))


def test_inputs_unchanged_by_the_kernels(rng):
    X, y, a, datafit, K = _problem(rng, "logistic")
    copies = X.copy(), y.copy(), a.copy()
    _epochs(Design(X), datafit, y, a, K, 3, l1=0.01)
    for before, after in zip(copies, (X, y, a)):
        np.testing.assert_array_equal(before, after)


_FIT = """
import numpy as np, scipy.sparse as sp
from numsolve.linear_model import Lasso, LogisticRegression
rng = np.random.default_rng(7)
X = rng.standard_normal((80, 30)); X[rng.random((80, 30)) < 0.5] = 0
y = X[:, :4] @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.standard_normal(80)
classes = np.digitize(y, [-1.0, 1.0])
out = [Lasso(alpha=0.01).fit(sp.csc_matrix(X), y).coef_,
       LogisticRegression(penalty="l1", C=5.0).fit(X.astype(np.float32), classes).coef_]
"""


def test_same_fit_in_a_fresh_process(tmp_path):
    namespace = {}
    exec(_FIT, namespace)
    code = _FIT + "print(';'.join(o.astype(np.float64).tobytes().hex() for o in out))"
    # outside the repository root, so the process imports the numsolve under test, never an
    # unbuilt source tree
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=tmp_path).stdout.strip()
    assert printed == ";".join(o.astype(np.float64).tobytes().hex() for o in namespace["out"])
    assert namespace["out"][1].dtype == np.float32
