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

from libc.math cimport sqrt

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
                    Py_ssize_t e, double* W, double* work, double* out) noexcept nogil:
    cdef Py_ssize_t m = e - a + 1, i, j, col
    cdef double* norm2 = work
    cdef double* acc = work + m
    cdef double* mid = work + 2 * m
    cdef double x, y, r, c, s, rkk, rho, own, lead
    # W (row-major, m x m) holds the transposed window rows of the order with position a moved
    # last: W[col, i] is the entry at column a + col of position a + 1 + i (i < m - 1; zero for
    # col > i + 1, and never read for col > i + 2), and W[col, m - 1] that of position a (a
    # single entry, C[a, a]). The rotations then sweep contiguous rows of W.
    for i in range(m - 1):
        norm2[i] = 0.0
        acc[i] = 0.0
        mid[i] = 0.0
        for col in range(i + 2):
            x = C[(a + 1 + i) * d + a + col]
            W[col * m + i] = x
            norm2[i] = norm2[i] + x * x
        if i + 2 < m:
            W[(i + 2) * m + i] = 0.0
    for col in range(m):
        W[col * m + m - 1] = 0.0
    W[m - 1] = C[a * d + a]
    own = C[a * d + a] * C[a * d + a]
    lead = 0.0
    for j in range(m - 1):
        # a rotation of columns j, j + 1 zeroes position a + 1 + j's entry at column j + 1 (the
        # window triangular again); column j is then final: the factor of the moved order
        x = W[j * m + j]
        y = W[(j + 1) * m + j]
        r = sqrt(x * x + y * y)
        if r > 0.0:
            c = x / r
            s = y / r
            for i in range(j, m):
                x = W[j * m + i]
                y = W[(j + 1) * m + i]
                W[j * m + i] = c * x + s * y
                W[(j + 1) * m + i] = c * y - s * x
        # position a + 1 + j's variance given the prefix and a + 1 .. a + j is rkk; with the
        # later position a + 1 + i put in front of it, rkk (1 - R[i, j]^2 / rho), rho being the
        # variance of a + 1 + i given the same positions
        rkk = W[j * m + j] * W[j * m + j]
        for i in range(j + 1, m - 1):
            x = W[j * m + i]
            rho = _at_least(norm2[i] - acc[i], _TINY)
            mid[i] = mid[i] + rkk - rkk * x * x / rho
            acc[i] = acc[i] + x * x
        lead = lead + W[j * m + m - 1] * W[j * m + m - 1]
        # the swap of a and b = a + 1 + j: b first (its variance given the prefix), the
        # positions between, a last (given all of them)
        out[j] = norm2[j] + mid[j] + (own - lead) - (cumulative[a + j + 2] - cumulative[a])


def swap_changes(const double[:, ::1] C, const double[::1] diag, last, int n_threads=1):
    """``D[a, b]`` (``a < b <= last[a]``): the change of ``sum(diag)`` when positions ``a`` and ``b`` swap.

    ``C`` is the lower factor of the order's Gram matrix (``C C^T = Gp``) and ``diag`` its
    residual variances (``diag(C)^2``); ``last[a] <= a`` asks for no swap of position ``a``;
    other entries are NaN.

    Swapping ``a < b`` changes the variances of positions ``a .. b`` only: in the swapped
    order ``b, a + 1, .., b - 1, a`` (after the prefix) ``b`` has its variance given the
    prefix, each position ``k`` between has its variance given the prefix and ``a + 1 .. k -
    1`` less the part ``b`` explains, and ``a`` its variance given all of them. Each of these
    is read from the factor of the order with ``a`` moved after ``last[a]``, which Givens
    rotations of the window ``C[a:e+1, a:e+1]`` give in ``O(m^2)`` (``m = last[a] - a + 1``):
    one sweep per first position values every ``b`` up to ``last[a]``, ``O(m^2)`` in all,
    ``O(d^3)`` for every pair. The positions run on ``n_threads`` OpenMP threads; each is
    computed the same way whatever ``last`` asks of the others and however many threads run.
    """
    last_pos = np.ascontiguousarray(last, dtype=np.intp)
    d = C.shape[0]
    if last_pos.shape != (d,):
        raise ValueError(f"last must have one entry per position, got shape {last_pos.shape}")
    D = np.full((d, d), np.nan)
    offsets, values = _scan(C, diag, last_pos, n_threads)
    for a in range(d):
        D[a, a + 1:a + 1 + offsets[a + 1] - offsets[a]] = values[offsets[a]:offsets[a + 1]]
    return D


def _scan(const double[:, ::1] C, const double[::1] diag, last_pos, int n_threads):
    """The values of :func:`swap_changes`, position ``a``'s (``b = a + 1 .. last[a]``) at
    ``values[offsets[a]:offsets[a + 1]]``."""
    cdef Py_ssize_t d = C.shape[0], r, a, tid
    if C.shape[1] != d or diag.shape[0] != d or last_pos.shape != (d,):
        raise ValueError(f"C must be square and diag and last of its size, got a {d} x {C.shape[1]} C, "
                         f"{diag.shape[0]} variances and last of shape {last_pos.shape}")
    if n_threads < 1:
        raise ValueError(f"n_threads must be positive, got {n_threads}")
    span = np.clip(last_pos, np.arange(d), d - 1) - np.arange(d)
    offsets = np.concatenate([[0], np.cumsum(span)]).astype(np.intp)
    values = np.empty(offsets[-1])
    rows = np.flatnonzero(span)
    # the longest rows first, so that no thread is left with one long row at the end
    rows = np.ascontiguousarray(rows[np.argsort(-span[rows], kind="stable")], dtype=np.intp)
    cumulative = np.concatenate([[0.0], np.cumsum(diag)])
    # one window buffer per thread, as large as the longest scan asks
    window = int(span.max(initial=0)) + 1
    W = np.empty((n_threads, window * window))
    work = np.empty((n_threads, 3 * window))
    cdef const Py_ssize_t[::1] rows_view = rows, span_view = span.astype(np.intp), off_view = offsets
    cdef const double[::1] cum_view = cumulative
    cdef double[::1] out_view = values
    cdef double[:, ::1] W_view = W, work_view = work
    cdef Py_ssize_t n_rows = rows.shape[0]
    for r in prange(n_rows, nogil=True, num_threads=n_threads, schedule="dynamic"):
        tid = openmp.omp_get_thread_num()
        a = rows_view[r]
        _swap_row(&C[0, 0], d, &cum_view[0], a, a + span_view[a], &W_view[tid, 0],
                  &work_view[tid, 0], &out_view[off_view[a]])
    return offsets, values


def scanned_changes(C, diag, pa, pb, double below, int n_threads=1):
    """Every swap scanned to reach the pairs ``pa[c] < pb[c]`` whose change of ``sum(diag)`` is
    below ``below``: arrays of first positions, second positions and changes, by position.

    Each first position is scanned once, as far as its farthest pair (see
    :func:`swap_changes`), which values every swap of that position up to there at no extra
    cost. A position's values do not depend on the other first positions, so pairs split by
    first position give the same values.
    """
    pa = np.asarray(pa, dtype=np.intp)
    pb = np.asarray(pb, dtype=np.intp)
    d = C.shape[0]
    last = np.arange(d)
    np.maximum.at(last, pa, pb)
    offsets, values = _scan(C, diag, last, n_threads)
    kept = np.flatnonzero(values < below)
    first = np.searchsorted(offsets, kept, side="right") - 1
    return first, first + 1 + kept - offsets[first], values[kept]
