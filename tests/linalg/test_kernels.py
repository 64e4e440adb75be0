"""The Cython kernels against dense reference implementations."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linalg import _sor, poisson_2d
from numsolve.linalg._coloring import color_rows, colour_blocks
from numsolve.linalg._operator import split_matrix


def random_diag_dominant(n, rng, density=0.3):
    A = sp.random(n, n, density=density, random_state=rng, format="csr")
    A = A + A.T + sp.diags(np.full(n, 2.0 + n * density * 2))
    return sp.csr_matrix(A)


def dense_forward(A, b, x, omega):
    x = x.copy()
    for i in range(len(b)):
        s = b[i] - A[i] @ x
        x[i] += omega * s / A[i, i]
    return x


def dense_backward(A, b, x, omega):
    x = x.copy()
    for i in reversed(range(len(b))):
        s = b[i] - A[i] @ x
        x[i] += omega * s / A[i, i]
    return x


def as_index(M, dtype):
    return M._replace(oind=M.oind.astype(dtype), optr=M.optr.astype(dtype),
                      ustart=M.ustart.astype(dtype))


@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-13), (np.float32, 1e-5)])
@pytest.mark.parametrize("index", [np.int32, np.int64])
@pytest.mark.parametrize("direction", [0, 1, 2])
def test_one_sweep_matches_dense_reference(rng, dtype, atol, index, direction):
    A = random_diag_dominant(30, rng)
    b, x0 = rng.standard_normal(30), rng.standard_normal(30)
    omega = 1.3
    M = as_index(split_matrix(A, dtype=dtype), index)
    x = x0.astype(dtype)
    _sor.sor_sweep(*M.kernel_args(), b.astype(dtype), x, omega, direction, 1)
    dense = A.toarray()
    if direction == 0:
        expected = dense_forward(dense, b, x0, omega)
    elif direction == 1:
        expected = dense_backward(dense, b, x0, omega)
    else:
        expected = dense_backward(dense, b, dense_forward(dense, b, x0, omega), omega)
    np.testing.assert_allclose(x, expected, atol=atol, rtol=0)


def test_sweep_matches_matrix_splitting_formula(rng):
    A = random_diag_dominant(25, rng).toarray()
    b, x0 = rng.standard_normal(25), rng.standard_normal(25)
    omega = 1.7
    M = split_matrix(A)
    x = x0.copy()
    _sor.sor_sweep(*M.kernel_args(), b, x, omega, 0, 1)
    D, L = np.diag(np.diag(A)), np.tril(A, -1)
    expected = x0 + np.linalg.solve(D / omega + L, b - A @ x0)
    np.testing.assert_allclose(x, expected, atol=1e-12)


def test_split_keeps_lower_then_upper_and_diagonal(rng):
    A = random_diag_dominant(12, rng)
    M = split_matrix(A)
    for i in range(12):
        lower = M.oind[M.optr[i]:M.ustart[i]]
        upper = M.oind[M.ustart[i]:M.optr[i + 1]]
        assert np.all(lower < i) and np.all(upper > i)
    rebuilt = sp.csr_matrix((M.odata, M.oind, M.optr), shape=A.shape) + sp.diags(M.diag)
    np.testing.assert_array_equal(rebuilt.toarray(), A.toarray())


@pytest.mark.parametrize("direction", [0, 1, 2])
def test_solve_loop_residual_history_is_true_residual(rng, direction):
    A = poisson_2d(6)
    b = rng.standard_normal(36)
    M = split_matrix(A)
    iterates, x = [np.zeros(36)], np.zeros(36)
    for _ in range(5):
        _sor.sor_sweep(*M.kernel_args(), b, x, 1.4, direction, 1)
        iterates.append(x.copy())
    x, d, hist = np.zeros(36), np.zeros(36), np.empty(6)
    k = _sor.sor_solve(*M.kernel_args(), b, x, d, 1.4, direction, 0.0, 5, hist)
    assert k == 5
    expected = [np.linalg.norm(b - A @ v) for v in iterates]
    np.testing.assert_allclose(hist, expected, rtol=1e-10)
    np.testing.assert_allclose(x, iterates[-1], atol=1e-13)


def test_solve_loop_undoes_the_extra_sweep(rng):
    A = poisson_2d(5)
    b = rng.standard_normal(25)
    M = split_matrix(A)
    x, d, hist = np.zeros(25), np.zeros(25), np.empty(1001)
    k = _sor.sor_solve(*M.kernel_args(), b, x, d, 1.2, 0, 1e-6 * np.linalg.norm(b), 1000, hist)
    reference = np.zeros(25)
    _sor.sor_sweep(*M.kernel_args(), b, reference, 1.2, 0, k)
    np.testing.assert_allclose(x, reference, atol=1e-12)
    assert hist[k] <= 1e-6 * np.linalg.norm(b) < hist[k - 1]


@pytest.mark.parametrize("symmetric", [0, 1])
def test_multicolor_sweep_is_sor_on_the_permuted_system(rng, symmetric):
    A = poisson_2d(7)
    b, x0 = rng.standard_normal(49), rng.standard_normal(49)
    colour = color_rows(A)
    order, bounds = colour_blocks(colour)
    M = split_matrix(A)
    x, d, hist = x0.copy(), np.zeros(49), np.empty(2)
    _sor.multicolor_solve(M.odata, M.oind, M.optr, M.diag, bounds.astype(np.int32),
                          order.astype(np.int32), b, x, d, 1.3, symmetric, 0.0, 1, hist, 2)
    P = A.toarray()[np.ix_(order, order)]
    expected = dense_forward(P, b[order], x0[order], 1.3)
    if symmetric:
        expected = dense_backward(P, b[order], expected, 1.3)
    np.testing.assert_allclose(x[order], expected, atol=1e-12)
    assert hist[0] == pytest.approx(np.linalg.norm(b - A @ x0))


def test_coloring_is_proper_and_red_black_on_a_grid():
    A = poisson_2d(9)
    colour = color_rows(A)
    coo = A.tocoo()
    off = coo.row != coo.col
    assert np.all(colour[coo.row[off]] != colour[coo.col[off]])
    assert colour.max() + 1 == 2


def test_ssor_pcg_kernel_float32(rng):
    A = poisson_2d(8)
    b = rng.standard_normal(64)
    M = split_matrix(A, dtype=np.float32)
    x = np.zeros(64, np.float32)
    work = [np.empty(64, np.float32) for _ in range(4)]
    hist = np.empty(201)
    k = _sor.ssor_pcg_solve(*M.kernel_args(), b.astype(np.float32), x, *work, 1.5,
                            1e-5 * np.linalg.norm(b), 200, hist)
    assert k < 200
    assert np.linalg.norm(b - A @ x) <= 2e-5 * np.linalg.norm(b)
