# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Residual variances of a node given blocks of a Gram matrix (the additive score's regressions).

One call factors the chosen blocks once and, for each candidate block, walks the prefixes of
the chosen ones: the regressions have a few dozen columns, where NumPy's per-call overhead cost
more than the arithmetic.
"""

import numpy as np

from libc.math cimport NAN, sqrt
from libc.stdlib cimport free, malloc


cdef bint _cholesky(double* A, Py_ssize_t m) noexcept nogil:
    """Lower Cholesky factor of the row-major ``m x m`` matrix ``A`` in place (its lower
    triangle read); False at a pivot that is not positive."""
    cdef Py_ssize_t i, j, k
    cdef double s, t
    for j in range(m):
        s = A[j * m + j]
        for k in range(j):
            s -= A[j * m + k] * A[j * m + k]
        if not s > 0:
            return False
        s = sqrt(s)
        A[j * m + j] = s
        for i in range(j + 1, m):
            t = A[i * m + j]
            for k in range(j):
                t -= A[i * m + k] * A[j * m + k]
            A[i * m + j] = t / s
    return True


cdef void _forward(const double* L, Py_ssize_t m, double* B, Py_ssize_t k) noexcept nogil:
    """``B <- L^{-1} B`` for the lower factor ``L`` (``m x m``) and ``B`` (``m x k``),
    row-major."""
    cdef Py_ssize_t i, l, c
    cdef double pivot
    for i in range(m):
        for l in range(i):
            for c in range(k):
                B[i * k + c] -= L[i * m + l] * B[l * k + c]
        pivot = L[i * m + i]
        for c in range(k):
            B[i * k + c] /= pivot


cdef bint _conditional(const double[:, ::1] G, const Py_ssize_t[::1] first,
                       const Py_ssize_t[::1] size, Py_ssize_t v, const Py_ssize_t[::1] path,
                       const Py_ssize_t[::1] prefixes, const Py_ssize_t[::1] candidates,
                       double floor, double[:, ::1] out, double* work) noexcept nogil:
    cdef Py_ssize_t n_cand = candidates.shape[0], n_ends = prefixes.shape[0]
    cdef Py_ssize_t n_path = path.shape[0], q, k, r, t, i, j, lo, m = 0, k_max = 0
    cdef double base, drop
    for q in range(n_cand):
        k_max = max(k_max, size[candidates[q]])
    for t in range(n_path):
        m += size[path[t]]
    cdef Py_ssize_t* I = <Py_ssize_t*> work
    cdef Py_ssize_t* ends = I + m
    cdef double* L = <double*> (ends + n_path + 1)
    cdef double* a = L + m * m
    cdef double* M = a + m
    cdef double* S = M + m * k_max
    cdef double* F = S + k_max * k_max
    cdef double* g = F + k_max * k_max
    cdef double* y = g + k_max
    m = 0
    ends[0] = 0
    for t in range(n_path):
        for j in range(size[path[t]]):
            I[m] = first[path[t]] + j
            m += 1
        ends[t + 1] = m
    for i in range(m):
        a[i] = G[I[i], v]
        for j in range(i + 1):
            L[i * m + j] = G[I[i], I[j]]
    if not _cholesky(L, m):
        return False
    _forward(L, m, a, 1)
    for q in range(n_cand):
        lo, k = first[candidates[q]], size[candidates[q]]
        for i in range(m):
            for j in range(k):
                M[i * k + j] = G[I[i], lo + j]
        _forward(L, m, M, k)
        for i in range(k):
            g[i] = G[lo + i, v]
            for j in range(k):
                S[i * k + j] = G[lo + i, lo + j]
        base, r = 1.0, 0
        for t in range(n_ends):
            # the chosen columns up to the prefix, made orthogonal: one row of the factor each
            while r < ends[prefixes[t]]:
                for i in range(k):
                    g[i] -= M[r * k + i] * a[r]
                    for j in range(k):
                        S[i * k + j] -= M[r * k + i] * M[r * k + j]
                base -= a[r] * a[r]
                r += 1
            for i in range(k * k):
                F[i] = S[i]
            out[q, t] = NAN
            if not _cholesky(F, k):
                continue
            for i in range(k):
                y[i] = g[i]
            # g' S^{-1} g = |F^{-1} g|^2
            _forward(F, k, y, 1)
            drop = 0.0
            for i in range(k):
                drop += y[i] * y[i]
            if drop <= base:
                out[q, t] = max(base - drop, floor)
    return True


def conditional_rss(const double[:, ::1] G, const Py_ssize_t[::1] first,
                    const Py_ssize_t[::1] size, Py_ssize_t v, const Py_ssize_t[::1] path,
                    const Py_ssize_t[::1] prefixes, const Py_ssize_t[::1] candidates, double floor):
    """Residual variance of standardised node ``v`` (``G[v, v] = 1``) given the blocks of
    ``path[:t]`` and one candidate's block, for every ``t`` in ``prefixes`` (increasing) and
    every node of ``candidates``: an array of shape (len(candidates), len(prefixes)), floored at
    ``floor``. Node ``p``'s block is the columns ``first[p] .. first[p] + size[p] - 1`` of ``G``.

    NaN where the candidate's residual Gram matrix is not numerically positive definite or its
    explained variance exceeds the variance left (the caller's pseudo-inverse applies); None
    where the path's own Gram matrix is not positive definite.
    """
    cdef Py_ssize_t q, t, m = 0, k_max = 0, n_path = path.shape[0]
    for q in range(candidates.shape[0]):
        k_max = max(k_max, size[candidates[q]])
    for t in range(n_path):
        m += size[path[t]]
    result = np.empty((candidates.shape[0], prefixes.shape[0]))
    cdef double[:, ::1] out = result
    cdef Py_ssize_t n_bytes = ((m + n_path + 1) * sizeof(Py_ssize_t)
                               + (m * m + m + m * k_max + 2 * k_max * k_max + 2 * k_max) * sizeof(double))
    cdef double* work = <double*> malloc(n_bytes)
    cdef bint factored
    if work == NULL:
        raise MemoryError()
    with nogil:
        factored = _conditional(G, first, size, v, path, prefixes, candidates, floor, out, work)
    free(work)
    return result if factored else None
