# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Jacobi-preconditioned conjugate gradients on a CSR matrix, every column in lock-step.

The caller (:mod:`numsolve.semi_supervised._krylov`) allocates every array and checks the
shapes; the whole loop runs here without the GIL and allocates nothing per iteration.
"""

from libc.math cimport sqrt
from libc.stdint cimport int64_t

import numpy as np

include "../linear_model/_graph_types.pxi"


def jacobi_pcg_run(const index_t[::1] indptr, const index_t[::1] indices,
                   const floating[::1] data, const floating[::1] inverse,
                   const double[::1] b_norms, double tol, floating[:, ::1] x,
                   floating[:, ::1] r, floating[:, ::1] p, floating[:, ::1] q,
                   double[::1] residuals, int64_t max_iter):
    """Run CG from ``x`` (shape (k, n): a column of the system per row, each contiguous) with
    residual ``r = b - A x`` (``p`` any buffer: the first direction
    is the preconditioned residual) until ``max_i ||r_i|| / b_norms_i <= tol`` or
    ``max_iter`` iterations; writes each iteration's largest relative residual (the
    recursive one) to ``residuals`` and returns the iterations made.

    Three passes per iteration: the direction, the product ``q = A p`` with the curvature
    ``p'q``, then the step on ``x`` and ``r`` with the next ``r'z`` and ``||r||``.
    """
    cdef int64_t k = x.shape[0]
    cdef int64_t n = x.shape[1]
    if n == 0 or max_iter <= 0:
        return 0
    scratch_array = np.zeros((5, k))
    cdef double[:, ::1] scratch = scratch_array
    cdef double* rz = &scratch[0, 0]     # r'z of the current residual
    cdef double* rho = &scratch[1, 0]    # r'z the current direction was built from
    cdef double* curvature = &scratch[2, 0]
    cdef double* squares = &scratch[3, 0]
    cdef double* step = &scratch[4, 0]   # beta, then alpha
    cdef floating* xp = &x[0, 0]
    cdef floating* rp = &r[0, 0]
    cdef floating* pp = &p[0, 0]
    cdef floating* qp = &q[0, 0]
    cdef int64_t i, c, e, t, n_iter = 0
    cdef double total, sum_a, sum_b
    cdef floating alpha, beta, residue
    cdef double residual
    with nogil:
        for i in range(n):
            for c in range(k):
                e = c * n + i
                rz[c] += rp[e] * rp[e] * inverse[i]
        while n_iter < max_iter:
            # direction: p = z + beta p (rho = 0 on the first iteration: p = z)
            for c in range(k):
                step[c] = rz[c] / rho[c] if rho[c] > 0 else 0.0
                rho[c] = rz[c]
            # column-outer loops keep each column's scalars and sums in registers
            for c in range(k):
                beta = <floating> step[c]
                for i in range(n):
                    e = c * n + i
                    pp[e] = inverse[i] * rp[e] + beta * pp[e]
            for c in range(k):
                sum_a = 0.0
                for i in range(n):
                    total = 0.0
                    for t in range(indptr[i], indptr[i + 1]):
                        total = total + data[t] * pp[c * n + indices[t]]
                    e = c * n + i
                    qp[e] = <floating> total
                    sum_a = sum_a + pp[e] * total
                curvature[c] = sum_a
            # a column already solved exactly has a zero direction: it takes no step
            for c in range(k):
                step[c] = rho[c] / curvature[c] if curvature[c] > 0 else 0.0
            for c in range(k):
                alpha = <floating> step[c]
                sum_a = 0.0
                sum_b = 0.0
                for i in range(n):
                    e = c * n + i
                    xp[e] += alpha * pp[e]
                    residue = rp[e] - alpha * qp[e]
                    rp[e] = residue
                    sum_a = sum_a + residue * residue * inverse[i]
                    sum_b = sum_b + residue * residue
                rz[c] = sum_a
                squares[c] = sum_b
            residual = 0.0
            for c in range(k):
                residual = max(residual, sqrt(squares[c]) / b_norms[c])
            residuals[n_iter] = residual
            n_iter += 1
            if residual <= tol:
                break
    return n_iter
