# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Label spreading's fixed-point iteration ``X <- X + (B - A X)`` on a CSR operator.

``A X = own * X + P X``, ``P`` the CSR matrix ``-alpha S`` and ``own`` a diagonal (see
:class:`numsolve.semi_supervised._spreading.SpreadingOperator`). One pass over the graph per
iteration, every class of a node before the next node (a node's classes are contiguous),
computes the residual of the current
iterate, the next iterate and the residual's norms; the caller
(:func:`numsolve.semi_supervised._krylov.fixed_point`) allocates every array and checks the
shapes.
"""

from libc.math cimport sqrt
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc

include "../linear_model/_graph_types.pxi"


def spreading_fixed_point_run(const index_t[::1] indptr, const index_t[::1] indices,
                              const double[::1] data, const double[::1] own,
                              const double[:, ::1] b, const double[::1] b_norms, double tol,
                              double pause, double[:, ::1] x, double[:, ::1] x_next,
                              double[:, ::1] r, double[::1] residuals, int64_t max_iter):
    """Iterate from ``x`` (shape (n, k): a node per row, as ``b``, ``r`` and ``x_next``)
    until the largest relative residual ``||r_c|| / b_norms_c`` is at most ``tol``, the
    residual's Frobenius norm at most ``pause`` (the caller's stopping rule wants a look) or
    ``max_iter`` iterations (``residuals`` holds at least ``max_iter`` entries).

    On return ``x`` holds the last iterate and ``r`` its residual; ``residuals`` gets each
    iteration's largest relative residual. Returns the iterations made (``x_next`` is
    scratch).
    """
    cdef int64_t n = x.shape[0]
    cdef int64_t k = x.shape[1]
    cdef int64_t i, c, entry, made = 0
    cdef int64_t start, end
    cdef double value, largest, total
    cdef const double* b_rows
    cdef double* r_rows
    cdef double* current
    cdef double* following
    cdef double* swap
    cdef double* squares
    if n == 0 or k == 0:
        return 0
    squares = <double*>malloc(k * sizeof(double))
    if squares == NULL:
        raise MemoryError()
    b_rows = &b[0, 0]
    r_rows = &r[0, 0]
    current = &x[0, 0]
    following = &x_next[0, 0]
    with nogil:
        while True:
            # following = current + r, where r is the residual of current, in the same pass
            for c in range(k):
                squares[c] = 0.0
            for i in range(n):
                start = indptr[i]
                end = indptr[i + 1]
                # a class at a time, the sum in a register (the row's few weights stay in
                # the first-level cache across its classes)
                for c in range(k):
                    value = b_rows[i * k + c] - own[i] * current[i * k + c]
                    for entry in range(start, end):
                        value -= data[entry] * current[indices[entry] * k + c]
                    r_rows[i * k + c] = value
                    following[i * k + c] = current[i * k + c] + value
                    squares[c] += value * value
            largest = 0.0
            total = 0.0
            for c in range(k):
                total += squares[c]
                value = sqrt(squares[c]) / b_norms[c]
                if value > largest:
                    largest = value
            if made > 0:
                residuals[made - 1] = largest
            # a pause only after a step: the caller has looked at the incoming iterate
            if largest <= tol or made >= max_iter or (made > 0 and sqrt(total) <= pause):
                break
            swap = current
            current = following
            following = swap
            made += 1
        # the last iterate (whose residual r is) back in x
        if current != &x[0, 0]:
            for i in range(n * k):
                following[i] = current[i]
    free(squares)
    return made
