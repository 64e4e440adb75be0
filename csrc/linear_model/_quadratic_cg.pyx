# cython: language_level=3
"""Vector steps of conjugate gradients on ``(n, k)`` blocks of right-hand sides, column-wise.

Every column is its own CG run (its own ``alpha``, ``beta``), all advanced in one pass over
memory. Step sizes and dot products are float64 whatever the dtype of the vectors; arrays are
C-contiguous and checked by :mod:`numsolve.linear_model._quadratic_bcd`.
"""

import numpy as np

include "_graph_types.pxi"


def dot_columns(const floating[:, ::1] a, const floating[:, ::1] b):
    """Column-wise dot products of two ``(n, k)`` arrays."""
    cdef Py_ssize_t n = a.shape[0]
    cdef Py_ssize_t k = a.shape[1]
    out_array = np.zeros(k)
    cdef double[::1] out = out_array
    cdef Py_ssize_t i, c
    with nogil:
        for i in range(n):
            for c in range(k):
                out[c] += a[i, c] * b[i, c]
    return out_array


def cg_step(floating[:, ::1] x, floating[:, ::1] r, const floating[:, ::1] p,
            const floating[:, ::1] q, const double[::1] alpha):
    """``x += alpha p``, ``r -= alpha q`` (per column); return the squared norms of ``r``."""
    cdef Py_ssize_t n = x.shape[0]
    cdef Py_ssize_t k = x.shape[1]
    out_array = np.zeros(k)
    cdef double[::1] out = out_array
    cdef Py_ssize_t i, c
    with nogil:
        for i in range(n):
            for c in range(k):
                x[i, c] += alpha[c] * p[i, c]
                r[i, c] -= alpha[c] * q[i, c]
                out[c] += r[i, c] * r[i, c]
    return out_array


def cg_direction(floating[:, ::1] p, floating[:, ::1] q, const floating[:, ::1] z,
                 const floating[:, ::1] gz, const floating[:, ::1] r, const double[::1] beta):
    """``p = z + beta p`` and ``q = Q p`` from ``Q z = gz + r`` (no product with ``Q``)."""
    cdef Py_ssize_t n = p.shape[0]
    cdef Py_ssize_t k = p.shape[1]
    cdef Py_ssize_t i, c
    with nogil:
        for i in range(n):
            for c in range(k):
                p[i, c] = z[i, c] + beta[c] * p[i, c]
                q[i, c] = gz[i, c] + r[i, c] + beta[c] * q[i, c]
