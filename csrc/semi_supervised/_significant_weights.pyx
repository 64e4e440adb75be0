# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The significant weights of a dense symmetric affinity matrix, as CSR, in two passes.

The caller (:meth:`numsolve.semi_supervised._spreading.SpreadingOperator.significant_part`)
passes a square C-contiguous ``W`` and its row maxima.
"""

import numpy as np

include "../linear_model/_graph_types.pxi"


def significant_weights(const double[:, ::1] W, const double[::1] largest, double threshold):
    """CSR arrays ``(indptr, indices, data)`` of the positive entries ``W[i, j]`` at least
    ``threshold`` times ``largest[i]`` or ``largest[j]``, indices ascending in each row."""
    cdef Py_ssize_t n = W.shape[0], i, j, count = 0
    cdef double row_floor, w
    indptr_array = np.empty(n + 1, dtype=np.int64)
    cdef long long[::1] indptr = indptr_array
    floors_array = np.empty(n)
    cdef double[::1] floors = floors_array
    with nogil:
        for i in range(n):
            floors[i] = threshold * largest[i]
        indptr[0] = 0
        for i in range(n):
            row_floor = floors[i]
            for j in range(n):
                w = W[i, j]
                if w > 0.0 and (w >= row_floor or w >= floors[j]):
                    count += 1
            indptr[i + 1] = count
    indices_array = np.empty(count, dtype=np.int32 if n < 2 ** 31 else np.int64)
    data_array = np.empty(count)
    cdef double[::1] data = data_array
    _fill(W, floors, indices_array, data)
    return indptr_array, indices_array, data_array


cdef void _fill_rows(const double[:, ::1] W, const double[::1] floors, index_t[::1] indices,
                     double[::1] data) noexcept nogil:
    cdef Py_ssize_t n = W.shape[0], i, j, at = 0
    cdef double row_floor, w
    for i in range(n):
        row_floor = floors[i]
        for j in range(n):
            w = W[i, j]
            if w > 0.0 and (w >= row_floor or w >= floors[j]):
                indices[at] = <index_t>j
                data[at] = w
                at += 1


def _fill(const double[:, ::1] W, const double[::1] floors, index_t[::1] indices,
          double[::1] data):
    with nogil:
        _fill_rows(W, floors, indices, data)
