# cython: language_level=3
"""Kernels of the binary logistic proximal Newton route (:mod:`numsolve.linear_model._prox_newton`).

``X`` enters as its columns ``(values, indices, indptr)`` as in :mod:`._cd` (CSC arrays, or
Fortran-ordered dense values with empty ``indices`` and ``indptr``); every check is made in
Python before a kernel is entered.
"""

from libc.math cimport exp

include "_graph_types.pxi"


def newton_model(const double[::1] z, const double[::1] y, const double[::1] a,
                 double min_curvature, double[::1] h, double[::1] g, double[::1] target):
    """The logistic loss's second-order model at the predictor ``z``, in one pass.

    Fills the raw gradient ``g_i = -a_i y_i / (1 + exp(y_i z_i))``, the curvature
    ``h_i = a_i s_i (1 - s_i)`` (``s_i`` the sigmoid of ``z_i``), raised to
    ``min_curvature * a_i``, and the working response ``target_i = z_i - g_i / h_i``.
    """
    cdef Py_ssize_t i, n = z.shape[0]
    cdef double e, s, curvature
    with nogil:
        for i in range(n):
            # s(1 - s) from one exponential of -|z|: no overflow either way
            e = exp(-z[i] if z[i] >= 0.0 else z[i])
            curvature = a[i] * e / ((1.0 + e) * (1.0 + e))
            if curvature < min_curvature * a[i]:
                curvature = min_curvature * a[i]
            g[i] = -a[i] * y[i] / (1.0 + exp(y[i] * z[i]))
            h[i] = curvature
            target[i] = z[i] - g[i] / curvature


def ws_sq_norms(const floating[::1] values, const index_t[::1] indices,
                const index_t[::1] indptr, const double[::1] h, const int[::1] ws,
                double[::1] lips):
    """``lips[ws[k]] = sum_i h_i X_{i, ws[k]}^2`` for the working set only (the model's
    coordinate Lipschitz constants; other entries untouched)."""
    cdef Py_ssize_t n = h.shape[0], jj, j, k, start, end
    cdef bint dense = indptr.shape[0] == 0
    cdef double acc, x
    with nogil:
        for jj in range(ws.shape[0]):
            j = ws[jj]
            acc = 0.0
            if dense:
                start = j * n
                for k in range(n):
                    x = values[start + k]
                    acc += h[k] * x * x
            else:
                start, end = indptr[j], indptr[j + 1]
                for k in range(start, end):
                    x = values[k]
                    acc += h[indices[k]] * x * x
            lips[j] = acc
