# cython: language_level=3
"""Least-squares TOPO kernels on the Gram matrix ``G = X^T X / n`` of an order.

For an order ``pi`` the residual variance of the node at position ``k`` given its predecessors
is the ``k``-th pivot of the symmetric elimination (``LDL^T``) of ``Gp = G[pi][:, pi]``. The
kernels work in float64 (the Gram matrix is always formed in float64) and release the GIL;
shapes are checked by the callers.
"""

import numpy as np

cdef double _TINY = 1e-300


cdef inline double _at_least(double x, double floor) noexcept nogil:
    return x if x > floor else floor


cdef void _scan(const double[:, ::1] Gp, const Py_ssize_t[::1] last, double[:, ::1] cur,
                double[:, ::1] M, double[::1] new, double[::1] diag, double[:, ::1] L,
                double[:, ::1] D) noexcept nogil:
    cdef Py_ssize_t d = Gp.shape[0], a, b, e, i, j, k
    cdef double piv, mkk, f, old
    for i in range(d):
        for j in range(d):
            cur[i, j] = Gp[i, j]
    for a in range(d):
        piv = _at_least(cur[a, a], _TINY)
        diag[a] = piv
        # D[a, b] for b <= e reads only the entries of M up to e: the rest is never formed
        e = last[a] if last[a] < d else d - 1
        for i in range(a, e + 1):
            for j in range(i, e + 1):
                M[i, j] = cur[i, j]
        for b in range(a + 1, e + 1):
            new[b] = M[b, b]
        for k in range(a + 1, e + 1):
            mkk = _at_least(M[k, k], _TINY)
            for b in range(k + 1, e + 1):
                new[b] += M[k, k] - M[k, b] * M[k, b] / _at_least(M[b, b], _TINY)
            f = M[a, k] / mkk
            M[a, a] -= f * M[a, k]
            for j in range(k + 1, e + 1):
                M[a, j] -= f * M[k, j]
            for i in range(k + 1, e + 1):
                f = M[k, i] / mkk
                for j in range(i, e + 1):
                    M[i, j] -= f * M[k, j]
            new[k] += M[a, a]
        for b in range(a + 1, e + 1):
            D[a, b] = new[b]
        # eliminate position a from the running Schur complement
        for i in range(a + 1, d):
            L[i, a] = cur[a, i] / piv
            for j in range(i, d):
                cur[i, j] -= L[i, a] * cur[a, j]
    for a in range(d):
        old = diag[a]
        e = last[a] if last[a] < d else d - 1
        for b in range(a + 1, e + 1):
            old += diag[b]
            D[a, b] -= old


def order_scan(const double[:, ::1] Gp, last=None):
    """Residual variances of an order and the change of their sum for single swaps.

    Returns ``diag`` (pivots of ``Gp = L D L^T``), ``L`` (unit lower) and ``D`` with
    ``D[a, b]`` (``a < b <= last[a]``) the change of ``sum(diag)`` when positions ``a`` and
    ``b`` swap; the other entries are NaN. ``last`` (int array of shape (d,)) defaults to
    every pair; ``last[a] <= a`` asks for no swap of position ``a``.

    With ``M_k`` the Schur complement of ``Gp`` on the positions before ``a`` and ``a + 1 ..
    k - 1`` (position ``a`` left out), the swapped order ``.., b, a + 1, .., b - 1, a, ..``
    has variances ``Gp|prefix[b, b]``, then ``M_k[k, k] - M_k[k, b]^2 / M_k[b, b]`` for the
    positions in between, then ``M_{b+1}[a, a]``. One elimination sequence per ``a`` serves
    every ``b``, and stops at ``last[a]``: ``O((last[a] - a)^3 / 3)`` per position besides the
    ``O(d^3 / 3)`` factorisation, ``O(d^4 / 12)`` for all pairs instead of ``O((b - a)^3)`` per
    pair. The entries computed do not depend on ``last``. Only upper triangles are read.
    """
    cdef Py_ssize_t d = Gp.shape[0]
    last_pos = (np.full(d, d - 1, dtype=np.intp) if last is None
                else np.ascontiguousarray(last, dtype=np.intp))
    if last_pos.shape != (d,):
        raise ValueError(f"last must have shape ({d},), got {last_pos.shape}")
    diag, L, D = np.empty(d), np.eye(d), np.full((d, d), np.nan)
    cdef double[:, ::1] cur = np.empty((d, d)), M = np.empty((d, d))
    cdef double[::1] new = np.empty(d), diag_view = diag
    cdef double[:, ::1] L_view = L, D_view = D
    cdef const Py_ssize_t[::1] last_view = last_pos
    with nogil:
        _scan(Gp, last_view, cur, M, new, diag_view, L_view, D_view)
    return diag, L, D
