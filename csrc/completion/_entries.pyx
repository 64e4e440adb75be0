# cython: language_level=3
"""Entries of a factored matrix ``U V^T``: requested ones, and the error on the observed ones.

Factors are float32 or float64 and C-contiguous, index arrays int32 or int64; products are
accumulated in double. Work is shared among ``num_threads`` OpenMP threads without changing the
result: the squared error is summed over a fixed partition of the rows, in order. All shape and
index checks are done in Python before a kernel is entered. ``max_threads`` is the size of the
OpenMP pool (``OMP_NUM_THREADS``, or what threadpoolctl set), 1 in a build without OpenMP.
"""

import numpy as np

from cython.parallel cimport prange

include "_fused.pxi"

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int numsolve_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int numsolve_max_threads(void) { return 1; }
    #endif
    """
    int numsolve_max_threads() noexcept nogil

cdef enum:
    # the rows are summed in this many contiguous parts, whatever the thread count
    ERROR_PARTS = 256


def max_threads():
    """Threads of the OpenMP pool a parallel kernel may use."""
    return numsolve_max_threads()


cdef inline double _product(const floating* u, const floating* v, int k) noexcept nogil:
    cdef int a
    cdef double s = 0.0
    for a in range(k):
        s += u[a] * v[a]
    return s


def observed_squared_error(const index_t[::1] indptr, const index_t[::1] indices,
                           const floating[::1] data, const floating[:, ::1] U,
                           const floating[:, ::1] V, int num_threads):
    """Sum of ``(U[i] . V[j] - M[i, j])^2`` over the observed entries (CSR of ``M``)."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, n_parts, part, i
    cdef int k = U.shape[1]
    cdef index_t t
    cdef double e, total = 0.0
    if n_rows <= 0 or indices.shape[0] == 0:
        return 0.0
    n_parts = min(n_rows, ERROR_PARTS)
    partial = np.zeros(n_parts)
    cdef double[::1] sums = partial
    with nogil:
        for part in prange(n_parts, num_threads=num_threads, schedule="dynamic"):
            for i in range(part * n_rows // n_parts, (part + 1) * n_rows // n_parts):
                for t in range(indptr[i], indptr[i + 1]):
                    e = _product(&U[i, 0], &V[indices[t], 0], k) - data[t]
                    sums[part] += e * e
        for part in range(n_parts):
            total += sums[part]
    return total


def predict_entries(const index_t[::1] rows, const index_t[::1] cols, const floating[:, ::1] U,
                    const floating[:, ::1] V, floating[::1] out, int num_threads):
    """``out[t] = U[rows[t]] . V[cols[t]]`` for every requested entry."""
    cdef Py_ssize_t t
    cdef int k = U.shape[1]
    if rows.shape[0] == 0:
        return
    with nogil:
        for t in prange(rows.shape[0], num_threads=num_threads, schedule="static"):
            out[t] = <floating>_product(&U[rows[t], 0], &V[cols[t], 0], k)
