# cython: language_level=3
"""Least-squares TOPO kernels on the Gram matrix ``G = X^T X / n`` of an order.

For an order ``pi`` the residual variance of the node at position ``k`` given its predecessors
is the ``k``-th pivot of the symmetric elimination (``LDL^T``) of ``Gp = G[pi][:, pi]``. The
kernels work in float64 (the Gram matrix is always formed in float64) and release the GIL;
shapes are checked by the callers.
"""

cimport openmp
from cython.parallel cimport prange

import numpy as np
from scipy.linalg import solve_triangular

include "../_blas.pxi"

cdef double _TINY = 1e-300


cdef inline double _at_least(double x, double floor) noexcept nogil:
    return x if x > floor else floor


cdef void _ldl(double[:, ::1] cur, double[::1] diag, double[:, ::1] L) noexcept nogil:
    cdef Py_ssize_t d = cur.shape[0], a, i, j
    cdef double piv
    for a in range(d):
        piv = _at_least(cur[a, a], _TINY)
        diag[a] = piv
        for i in range(a + 1, d):
            L[i, a] = cur[a, i] / piv
            for j in range(i, d):
                cur[i, j] -= L[i, a] * cur[a, j]


def floored_ldl(const double[:, ::1] Gp):
    """``Gp = L diag(p) L^T`` with every pivot ``p`` floored at a tiny positive number.

    For a (numerically) singular ``Gp``, where a Cholesky factorisation fails: a position its
    predecessors determine gets a zero residual variance instead of a negative one. Returns
    ``p`` and the unit lower ``L``; reads the upper triangle.
    """
    cdef Py_ssize_t d = Gp.shape[0]
    diag, L, cur = np.empty(d), np.eye(d), np.array(Gp, dtype=np.float64)
    cdef double[:, ::1] cur_view = cur, L_view = L
    cdef double[::1] diag_view = diag
    with nogil:
        _ldl(cur_view, diag_view, L_view)
    return diag, L


def order_factor(Gp):
    """``(diag, C)``: residual variances of the order of ``Gp`` and its lower factor ``C C^T = Gp``.

    LAPACK's Cholesky factorisation; for a numerically singular ``Gp`` the elimination with
    floored pivots (a determined position gets a variance of almost zero).
    """
    try:
        C = np.linalg.cholesky(Gp)
    except np.linalg.LinAlgError:
        diag, L = floored_ldl(Gp)
        return diag, np.ascontiguousarray(L * np.sqrt(diag))
    scale = np.diag(C)
    return scale * scale, np.ascontiguousarray(C)



def swap_factor(C, diag, Py_ssize_t a, Py_ssize_t b):
    """Update ``C`` and ``diag`` (of :func:`order_factor`) in place for the swap of positions ``a < b``.

    Rows before ``a`` and the block after ``b`` keep their values; the window ``a .. b`` is the
    Cholesky factor of its Gram matrix given the prefix (``T T^T``, ``T = C[a:b+1, a:b+1]``)
    with its first and last positions exchanged, the rows below it solve against the new
    window, and the window's prefix rows trade places: ``O((b - a)^3 + (d - b) (b - a)^2)``.
    Returns False, changing nothing, when the window's factorisation fails (numerically
    singular: the caller factors afresh).
    """
    cdef Py_ssize_t m = b - a + 1
    T = C[a:b + 1, a:b + 1]
    perm = np.arange(m)
    perm[0], perm[m - 1] = m - 1, 0
    window = T @ T.T
    try:
        swapped = np.linalg.cholesky(window[np.ix_(perm, perm)])
    except np.linalg.LinAlgError:
        return False
    below = C[b + 1:, a:b + 1]
    if below.shape[0]:
        # the rows below keep their products with the window: new rows R' with R' T'^T = (R T^T) P
        cross = (below @ T.T)[:, perm]
        C[b + 1:, a:b + 1] = solve_triangular(swapped, cross.T, lower=True, check_finite=False).T
    C[[a, b], :a] = C[[b, a], :a]
    C[a:b + 1, a:b + 1] = swapped
    diag[a:b + 1] = np.diag(swapped) ** 2
    return True

cdef void _swap_row(const double* C, Py_ssize_t d, const double* cumulative, Py_ssize_t a,
                    Py_ssize_t e, double* M, double* new, double* D) noexcept nogil:
    cdef Py_ssize_t m = e - a + 1, b, i, j, k
    cdef double mkk, f, one = 1.0, zero = 0.0
    cdef int n_window = <int>m, lead = <int>d
    # M = T T^T (upper triangle, row-major), T = C[a:e+1, a:e+1]: the Gram matrix of positions
    # a .. e given those before a. BLAS sees the row-major T as the column-major T^T, and the
    # row-major upper triangle of M as the column-major lower one.
    dsyrk(b"L", b"T", &n_window, &n_window, &one, <double*>&C[a * d + a], &lead, &zero, M,
          &n_window)
    for b in range(1, m):
        new[b] = M[b * m + b]
    for k in range(1, m):
        mkk = _at_least(M[k * m + k], _TINY)
        for b in range(k + 1, m):
            new[b] = new[b] + M[k * m + k] - M[k * m + b] * M[k * m + b] / _at_least(M[b * m + b], _TINY)
        f = M[k] / mkk
        M[0] = M[0] - f * M[k]
        for j in range(k + 1, m):
            M[j] = M[j] - f * M[k * m + j]
        for i in range(k + 1, m):
            f = M[k * m + i] / mkk
            for j in range(i, m):
                M[i * m + j] = M[i * m + j] - f * M[k * m + j]
        new[k] = new[k] + M[0]
    for b in range(1, m):
        D[a * d + a + b] = new[b] - (cumulative[a + b + 1] - cumulative[a])


def swap_changes(const double[:, ::1] C, const double[::1] diag, last, int n_threads=1):
    """``D[a, b]`` (``a < b <= last[a]``): the change of ``sum(diag)`` when positions ``a`` and ``b`` swap.

    ``C`` is the lower factor of the order's Gram matrix (``C C^T = Gp``) and ``diag`` its
    residual variances (``diag(C)^2``); ``last[a] <= a`` asks for no swap of position ``a``;
    other entries are NaN.

    Swapping ``a < b`` changes the variances of positions ``a .. b`` only. The Gram matrix
    ``S`` of positions ``a .. e`` given those before them is ``T T^T``, ``T = C[a:e+1, a:e+1]``.
    With ``M_k`` the Schur complement of ``S`` on ``a + 1 .. k - 1`` (``a`` left out) the
    swapped order ``b, a + 1, .., b - 1, a`` has variances ``S[b, b]``, then ``M_k[k, k] -
    M_k[k, b]^2 / M_k[b, b]`` for the positions in between, then ``M_{b+1}[a, a]``: one
    elimination sequence per first position serves every ``b`` up to ``last[a]``, ``O((last[a]
    - a)^3 / 2)``. The positions run on ``n_threads`` OpenMP threads; each is computed the
    same way whatever ``last`` asks of the others and however many threads run.
    """
    cdef Py_ssize_t d = C.shape[0], r, a, tid
    last_pos = np.ascontiguousarray(last, dtype=np.intp)
    if C.shape[1] != d or diag.shape[0] != d or last_pos.shape != (d,):
        raise ValueError(f"C must be square and diag and last of its size, got a {d} x {C.shape[1]} C, "
                         f"{diag.shape[0]} variances and last of shape {last_pos.shape}")
    if n_threads < 1:
        raise ValueError(f"n_threads must be positive, got {n_threads}")
    rows = np.flatnonzero(last_pos > np.arange(d))
    # the longest rows first, so that no thread is left with one long row at the end
    rows = np.ascontiguousarray(rows[np.argsort(rows - last_pos[rows], kind="stable")], dtype=np.intp)
    cumulative = np.concatenate([[0.0], np.cumsum(diag)])
    D = np.full((d, d), np.nan)
    # one window buffer per thread, as large as the longest scan asks
    window = int(np.max(np.minimum(last_pos[rows], d - 1) - rows, initial=0)) + 1
    M = np.empty((n_threads, window * window))
    new = np.empty((n_threads, max(d, 1)))
    cdef const Py_ssize_t[::1] rows_view = rows, last_view = last_pos
    cdef const double[::1] cum_view = cumulative
    cdef double[:, ::1] D_view = D, M_view = M, new_view = new
    cdef Py_ssize_t n_rows = rows.shape[0]
    if d == 0 or n_rows == 0:
        return D
    for r in prange(n_rows, nogil=True, num_threads=n_threads, schedule="dynamic"):
        tid = openmp.omp_get_thread_num()
        a = rows_view[r]
        _swap_row(&C[0, 0], d, &cum_view[0], a, last_view[a] if last_view[a] < d else d - 1,
                  &M_view[tid, 0], &new_view[tid, 0], &D_view[0, 0])
    return D


def pair_changes(C, diag, pa, pb, int n_threads=1):
    """The change of ``sum(diag)`` for each swap of positions ``pa[c] < pb[c]`` (see :func:`swap_changes`).

    Every first position is scanned once, as far as its farthest pair; its values do not depend
    on the other first positions, so pairs split by first position give the same values.
    """
    pa = np.asarray(pa, dtype=np.intp)
    pb = np.asarray(pb, dtype=np.intp)
    last = np.arange(C.shape[0])
    np.maximum.at(last, pa, pb)
    return swap_changes(C, diag, last, n_threads)[pa, pb]
