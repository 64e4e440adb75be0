"""The Newton finish on sparse X: a support whose features are dense enough is copied to a
dense array (the sparse-sparse products of the softmax Hessian grow with the square of the
density), a thin or large one stays sparse (a large one's Hessian formed over dense blocks of
samples), and either lands where the dense finish does."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model import L1PlusL2, Multinomial, bcd
from numsolve.linear_model import _newton
from numsolve.linear_model._design import Design
from numsolve.linear_model._newton import (_blockwise_softmax_hessian, _support_columns,
                                           _support_hessian, newton_finish)


def _sparse(density, n=300, p=30, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return sp.random(n, p, density=density, format="csr", random_state=seed, dtype=dtype,
                     data_rvs=rng.standard_normal)


@pytest.mark.parametrize("compiled", [32, 2])
@pytest.mark.parametrize("ones", [0, 3])
def test_dense_enough_sparse_support_is_copied_dense(monkeypatch, compiled, ones):
    """Half-full float32 CSR columns, a feature repeated across classes, in C order (a
    support the compiled derivatives read) or Fortran order (a larger one): a float64 array
    equal to the support's columns, then ``ones`` columns of ones."""
    monkeypatch.setattr(_newton, "_COMPILED_SUPPORT", compiled)
    X = _sparse(0.5, dtype=np.float32)
    rows = np.array([3, 0, 3, 7, 3])
    XS = _support_columns(Design(X), rows, ones)
    assert isinstance(XS, np.ndarray) and XS.dtype == np.float64
    assert XS.flags.c_contiguous == (rows.size <= compiled)
    np.testing.assert_array_equal(XS, np.hstack([X[:, rows].toarray(), np.ones((300, ones))]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_support_columns_end_with_the_intercepts_ones(dtype):
    """A dense X (float32 or float64): the support's columns in float64, then the ones."""
    X = _sparse(0.5, dtype=dtype).toarray(order="F")
    rows = np.array([3, 0, 3, 7, 3])
    XS = _support_columns(Design(X), rows, 2)
    assert XS.dtype == np.float64
    np.testing.assert_array_equal(XS, np.hstack([X[:, rows], np.ones((300, 2))]))


@pytest.mark.parametrize("density, entries", [(0.01, None), (0.5, 5 * 300 - 1)])
def test_thin_or_large_sparse_support_stays_sparse(monkeypatch, density, entries):
    """Columns 1 % full, or a dense copy one entry over the limit: the sparse columns, in
    float64."""
    if entries is not None:
        monkeypatch.setattr(_newton, "_DENSE_SUPPORT_ENTRIES", entries)
    X = _sparse(density, dtype=np.float32)
    rows = np.array([3, 0, 3, 7, 3])
    for ones in (0, 2):
        XS = _support_columns(Design(X), rows, ones)
        assert sp.issparse(XS) and XS.dtype == np.float64
        np.testing.assert_array_equal(
            XS.toarray(), np.hstack([X[:, rows].toarray(), np.ones((300, ones))]))


@pytest.mark.parametrize("density, entries", [(0.5, 7 * 40), (0.5, 1), (0.02, 1 << 22)])
def test_sparse_softmax_hessian_is_the_sum_of_the_per_sample_blocks(monkeypatch, density,
                                                                    entries):
    """Half-full columns over blocks of 40 samples, of one sample, and thin columns by sparse
    products: the sum of the datafit's per-sample Hessian blocks, with weights and a feature
    repeated across classes."""
    monkeypatch.setattr(_newton, "_DENSE_SUPPORT_ENTRIES", entries)
    rng = np.random.default_rng(3)
    n, K = 300, 4
    X = _sparse(density, n, 10, seed=4).tocsc()
    Z = rng.standard_normal((n, K))
    y = rng.integers(0, K, n).astype(float)
    a = rng.uniform(0.2, 3.0, n) / n
    features = np.array([0, 3, 3, 5, 7, 0, 2])
    classes = np.array([0, 0, 1, 1, 3, 3, 2])
    XS = X[:, features]
    datafit = Multinomial()
    H = _support_hessian(datafit, XS, classes, Z, y, a)
    blocks = datafit.raw_hessian(Z, y, a, np)
    dense = XS.toarray()
    expected = np.einsum("ir,is,irs->rs", dense, dense, blocks[:, classes][:, :, classes])
    np.testing.assert_allclose(H, expected, rtol=1e-12, atol=1e-15)
    if density > 0.05:  # the blockwise sum is what _support_hessian took
        P = datafit.probabilities(Z, np)
        np.testing.assert_array_equal(H, _blockwise_softmax_hessian(XS, P, a, classes))


def _support_stationarity(X, y, W, b, penalty):
    """Largest violation of the optimality conditions on the nonzero entries of ``W`` and
    the intercepts (the finish optimises on its support, which may shrink)."""
    a = np.full(X.shape[0], 1.0 / X.shape[0])
    G = Multinomial().raw_gradient(np.asarray(X @ W) + b, y, a, np)
    on = W != 0
    grad = np.asarray(X.T @ G)[on] + penalty.l1 * np.sign(W[on]) + penalty.l2 * W[on]
    return max(np.abs(grad).max(), np.abs(G.sum(axis=0)).max())


def _objective(X, y, W, b, penalty):
    a = np.full(X.shape[0], 1.0 / X.shape[0])
    return float(Multinomial().value(np.asarray(X @ W) + b, y, a, np) + penalty.value(W, np))


@pytest.mark.parametrize("density", [0.03, 0.6])
def test_sparse_softmax_finish_lands_where_the_dense_one_does(density):
    """From a point with the solution's signs, away from it, the finish on CSC X (dense
    copy at 60 % nonzeros, sparse products at 3 %) lowers the objective to a stationary
    point on its support (within 1e-9), the point the finish on the same X as an array
    reaches: coefficients and intercepts within 1e-10."""
    rng = np.random.default_rng(1)
    n, p, K = 300, 30, 4
    X = _sparse(density, n, p, seed=2).tocsc()
    W_true = np.zeros((p, K))
    W_true[rng.choice(p, 8, replace=False), rng.integers(0, K, 8)] = 4.0
    y = np.argmax(X @ W_true + rng.gumbel(size=(n, K)), axis=1).astype(float)
    penalty = L1PlusL2(0.01, l1_ratio=0.8)
    exact = bcd(X, y, Multinomial(), penalty, tol=1e-12, fit_intercept=True)
    start = exact.x * (1 + 0.3 * rng.random(exact.x.shape))
    start_b = np.asarray(exact.intercept) + 0.3 * rng.standard_normal(K)
    assert (sp.issparse(_support_columns(Design(X), np.nonzero(start)[0], 0))
            == (density < 0.05))
    a = np.full(n, 1.0 / n)
    finished = []
    for Xs in (X, X.toarray()):
        W, b = start.copy(), start_b.copy()
        Z = np.asarray(Xs @ W) + b
        assert _support_stationarity(X, y, W, b, penalty) > 1e-4
        newton_finish(Design(Xs), Multinomial(), penalty, W, b, Z, y, a, True)
        np.testing.assert_allclose(Z, X @ W + b, atol=1e-12)
        assert _support_stationarity(X, y, W, b, penalty) <= 1e-9
        assert _objective(X, y, W, b, penalty) < _objective(X, y, start, start_b, penalty)
        finished.append((W, b))
    (W_sparse, b_sparse), (W_dense, b_dense) = finished
    np.testing.assert_allclose(W_sparse, W_dense, atol=1e-10)
    np.testing.assert_allclose(b_sparse, b_dense, atol=1e-10)
