"""Per-row ridge regressions: agreement with NumPy least squares, approximate solvers, blocks."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from numsolve.completion import solve_rows
from numsolve.completion._observed import sparse_to_index_arrays
from numsolve.completion._rows import row_ridge


def _block(rng, m=40, n=30, k=4, density=0.4, dtype=np.float64):
    X = sp.random(m, n, density=density, random_state=rng, format="csr", dtype=dtype)
    X.data = rng.standard_normal(X.nnz).astype(dtype)
    F = rng.standard_normal((n, k)).astype(dtype)
    return X, F


def _lstsq_rows(X, F, lam):
    out = np.zeros((X.shape[0], F.shape[1]))
    for i in range(X.shape[0]):
        idx = X.indices[X.indptr[i]:X.indptr[i + 1]]
        if idx.size == 0:
            continue
        b = X.data[X.indptr[i]:X.indptr[i + 1]]
        A = np.vstack([F[idx], np.sqrt(lam[i]) * np.eye(F.shape[1])])
        rhs = np.concatenate([b, np.zeros(F.shape[1])])
        out[i] = np.linalg.lstsq(A, rhs, rcond=None)[0]
    return out


@pytest.mark.parametrize("reg", [0.0, 0.5])
def test_exact_matches_numpy_lstsq(rng, reg):
    X, F = _block(rng)
    lam = row_ridge(np.diff(X.indptr), reg, "count")
    rows, steps = solve_rows(*sparse_to_index_arrays(X), F, np.zeros((X.shape[0], 4)), lam,
                             solver="exact")
    assert steps == 0
    np.testing.assert_allclose(rows, _lstsq_rows(X, F, lam), rtol=1e-8, atol=1e-10)


def test_fractional_scaling_gives_the_typical_row_the_plain_ridge():
    """``reg * (n / n_mean) ** a`` with ``n_mean`` the mean count of rows that have any; ``a``
    interpolates between the flat ridge (``0``) and a ridge proportional to the count (``1``)."""
    counts = np.array([0, 2, 4, 6])
    np.testing.assert_allclose(row_ridge(counts, 3.0, 0.5),
                               [0.0, 3.0 * 0.5 ** 0.5, 3.0, 3.0 * 1.5 ** 0.5], rtol=1e-15)
    np.testing.assert_allclose(row_ridge(counts, 3.0, 1.0), row_ridge(counts, 0.75, "count"))
    np.testing.assert_allclose(row_ridge(counts[1:], 3.0, 0.0),
                               row_ridge(counts[1:], 3.0, "none"))
    np.testing.assert_allclose(row_ridge(counts, 3.0, 0.5, reference=2.0)[1:3],
                               [3.0, 3.0 * 2 ** 0.5], rtol=1e-15)


@pytest.mark.parametrize("solver", ["cg", "sketched"])
def test_approximate_solvers_reach_exact_solution(rng, solver):
    X, F = _block(rng, m=30, n=200, k=5, density=0.5)
    lam = row_ridge(np.diff(X.indptr), 0.01, "none")
    exact = _lstsq_rows(X, F, lam)
    rows, steps = solve_rows(*sparse_to_index_arrays(X), F, np.zeros((30, 5)), lam,
                             solver=solver, inner_iter=50, inner_tol=1e-13, sketch_size=12,
                             random_state=np.random.default_rng(0))
    assert steps > 0
    np.testing.assert_allclose(rows, exact, rtol=1e-7, atol=1e-9)


def test_cg_steps_are_capped_and_improve_on_warm_start(rng):
    X, F = _block(rng, m=30, n=200, k=5, density=0.5)
    lam = row_ridge(np.diff(X.indptr), 0.0, "none")
    exact = _lstsq_rows(X, F, lam)
    start = exact + 0.1 * rng.standard_normal(exact.shape)
    rows, steps = solve_rows(*sparse_to_index_arrays(X), F, start, lam, solver="cg",
                             inner_iter=2)
    assert steps <= 2 * 30
    assert np.linalg.norm(rows - exact) < 0.5 * np.linalg.norm(start - exact)


def test_blocks_of_rows_solve_independently(rng):
    """The seam for distributed solves: any split of the rows gives the same factors."""
    X, F = _block(rng, m=50)
    lam = row_ridge(np.diff(X.indptr), 0.1, "count")
    start = np.zeros((50, 4))
    counts = np.bincount(X.indices, minlength=F.shape[0])
    whole, _ = solve_rows(*sparse_to_index_arrays(X), F, start, lam, solver="cg")
    parts = [solve_rows(*sparse_to_index_arrays(X[a:b]), F, start[a:b], lam[a:b],
                        solver="cg", fixed_counts=counts)[0] for a, b in [(0, 17), (17, 50)]]
    np.testing.assert_allclose(np.vstack(parts), whole, rtol=1e-12)


@pytest.mark.parametrize("solver", ["exact", "cg", "sketched"])
def test_rows_without_observations_get_zero(rng, solver):
    X, F = _block(rng)
    X = sp.vstack([X, sp.csr_matrix((1, X.shape[1]))]).tocsr()
    rows, _ = solve_rows(*sparse_to_index_arrays(X), F, np.ones((X.shape[0], 4)),
                         np.zeros(X.shape[0]), solver=solver,
                         random_state=np.random.default_rng(0))
    assert np.all(np.isfinite(rows))
    np.testing.assert_array_equal(rows[-1], 0.0)


def test_unknown_solver_raises(rng):
    X, F = _block(rng)
    with pytest.raises(ValueError, match="solver"):
        solve_rows(*sparse_to_index_arrays(X), F, np.zeros((40, 4)), np.zeros(40),
                   solver="qr")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 6), reg=st.floats(1e-3, 10.0),
       density=st.floats(0.05, 1.0))
def test_exact_rows_satisfy_their_normal_equations(seed, k, reg, density):
    """Property: every exact row solves A^T (b - A x) = lam x, for any pattern and ridge."""
    rng = np.random.default_rng(seed)
    X, F = _block(rng, m=12, n=15, k=k, density=density)
    lam = row_ridge(np.diff(X.indptr), reg, "count")
    rows, _ = solve_rows(*sparse_to_index_arrays(X), F, np.zeros((12, k)), lam,
                         solver="exact")
    for i in range(12):
        idx = X.indices[X.indptr[i]:X.indptr[i + 1]]
        b = X.data[X.indptr[i]:X.indptr[i + 1]]
        A = F[idx]
        residual = A.T @ (b - A @ rows[i]) - lam[i] * rows[i]
        scale = 1.0 + np.abs(A.T @ b).max(initial=0.0)
        assert np.abs(residual).max() <= 1e-9 * scale


@pytest.mark.parametrize("solver", ["exact", "cg", "sketched"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threads_and_index_width_leave_the_result_unchanged(rng, solver, dtype):
    """Rows are shared among OpenMP threads and indices may be int32: same bits either way."""
    X, F = _block(rng, m=300, n=60, k=5, density=0.3, dtype=dtype)
    lam = row_ridge(np.diff(X.indptr), 0.1, "count")
    start = rng.standard_normal((300, 5)).astype(dtype)
    results = []
    for threads, index in [(1, np.int64), (2, np.int64), (2, np.int32)]:
        indptr, indices, data = X.indptr.astype(index), X.indices.astype(index), X.data
        rows, steps = solve_rows(indptr, indices, data, F, start, lam, solver=solver,
                                 random_state=np.random.default_rng(1), num_threads=threads)
        assert rows.dtype == dtype
        results.append((rows, steps))
    for rows, steps in results[1:]:
        np.testing.assert_array_equal(rows, results[0][0])
        assert steps == results[0][1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_singular_rows_without_ridge_get_the_minimum_norm_solution(rng, dtype):
    """Fewer observations than k and no ridge: the tiny automatic ridge picks the min-norm
    least-squares solution, also when round-off makes the first Cholesky attempt fail."""
    X, F = _block(rng, m=200, n=40, k=6, density=0.08, dtype=dtype)
    counts = np.diff(X.indptr)
    assert np.any((counts > 0) & (counts < 6))
    rows, _ = solve_rows(*sparse_to_index_arrays(X), F, np.zeros((200, 6), dtype),
                         np.zeros(200), solver="exact")
    for i in np.flatnonzero(counts > 0):
        span = slice(X.indptr[i], X.indptr[i + 1])
        A, b = F[X.indices[span]].astype(np.float64), X.data[span].astype(np.float64)
        expected = np.linalg.lstsq(A, b, rcond=None)[0]
        np.testing.assert_allclose(rows[i], expected, rtol=0,
                                   atol=1e-3 * max(1.0, np.abs(expected).max()))


@pytest.mark.parametrize("solver", ["exact", "cg"])
def test_rows_too_long_to_copy_are_solved_in_place(rng, solver):
    """A row with more observations than the kernels copy out (8192) streams from F."""
    n, k = 9000, 3
    F = rng.standard_normal((n, k))
    b = F @ np.array([1.0, -2.0, 0.5]) + 0.01 * rng.standard_normal(n)
    indptr, indices = np.array([0, n]), np.arange(n)
    rows, _ = solve_rows(indptr, indices, b, F, np.zeros((1, k)), np.full(1, 2.0),
                         solver=solver, inner_iter=k, inner_tol=0.0)
    expected = np.linalg.solve(F.T @ F + 2.0 * np.eye(k), F.T @ b)
    np.testing.assert_allclose(rows[0], expected, rtol=1e-9)
