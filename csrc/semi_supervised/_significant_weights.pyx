# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The significant weights of a dense symmetric affinity matrix, as CSR, in two passes: the
entries ``W[i, j] > 0`` at least ``floors[i]`` or ``floors[j]``.

The caller (:meth:`numsolve.semi_supervised._spreading.SpreadingOperator.significant_part`)
passes a square C-contiguous ``W`` and the floors, and decides between the passes whether the
count is worth filling.
"""

import numpy as np

include "../linear_model/_graph_types.pxi"


cdef inline bint _kept(double w, double row_floor, double column_floor) noexcept nogil:
    return w > 0.0 and (w >= row_floor or w >= column_floor)


def significant_counts(const double[:, ::1] W, const double[::1] floors):
    """The CSR row pointer (int64) of the significant entries."""
    cdef Py_ssize_t n = W.shape[0], i, j, count = 0
    cdef double row_floor
    indptr_array = np.empty(n + 1, dtype=np.int64)
    cdef long long[::1] indptr = indptr_array
    with nogil:
        indptr[0] = 0
        for i in range(n):
            row_floor = floors[i]
            for j in range(n):
                if _kept(W[i, j], row_floor, floors[j]):
                    count += 1
            indptr[i + 1] = count
    return indptr_array


def significant_fill(const double[:, ::1] W, const double[::1] floors, index_t[::1] indices,
                     double[::1] data):
    """Write the significant entries' columns (ascending in each row) and weights, row
    after row, into ``indices`` and ``data`` (sized by :func:`significant_counts`)."""
    cdef Py_ssize_t n = W.shape[0], i, j, at = 0
    cdef double row_floor, w
    with nogil:
        for i in range(n):
            row_floor = floors[i]
            for j in range(n):
                w = W[i, j]
                if _kept(w, row_floor, floors[j]):
                    indices[at] = <index_t>j
                    data[at] = w
                    at += 1
