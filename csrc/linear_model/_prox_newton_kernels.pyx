# cython: language_level=3
"""Kernels of the binary logistic loss: its value and conjugate (the NumPy path of
:class:`numsolve.linear_model.Logistic`) and the pieces of the proximal Newton route
(:mod:`numsolve.linear_model._prox_newton`).

``X`` enters as its columns ``(values, indices, indptr)`` as in :mod:`._cd` (CSC arrays, or
Fortran-ordered dense values with empty ``indices`` and ``indptr``); every check is made in
Python before a kernel is entered.
"""

from libc.math cimport exp, log, log1p

include "_graph_types.pxi"


def newton_model(const double[::1] z, const double[::1] y, const double[::1] a,
                 double min_curvature, double[::1] h, double[::1] g, double[::1] target):
    """The logistic loss's second-order model at the predictor ``z``, in one pass.

    Fills the raw gradient ``g_i = -a_i y_i / (1 + exp(y_i z_i))``, the curvature
    ``h_i = a_i s_i (1 - s_i)`` (``s_i`` the sigmoid of ``z_i``), raised to
    ``min_curvature * a_i``, and the working response ``target_i = z_i - g_i / h_i``;
    returns the loss ``sum_i a_i log(1 + exp(-y_i z_i))``. One exponential per sample,
    of ``-|z_i|``: no overflow either way.
    """
    cdef Py_ssize_t i, n = z.shape[0]
    cdef double e, curvature, margin, loss = 0.0
    with nogil:
        for i in range(n):
            e = exp(-z[i] if z[i] >= 0.0 else z[i])
            curvature = a[i] * e / ((1.0 + e) * (1.0 + e))
            if curvature < min_curvature * a[i]:
                curvature = min_curvature * a[i]
            margin = y[i] * z[i]
            if margin >= 0.0:  # exp(-margin) = e
                g[i] = -a[i] * y[i] * e / (1.0 + e)
                loss += a[i] * log1p(e)
            else:
                g[i] = -a[i] * y[i] / (1.0 + e)
                loss += a[i] * (log1p(e) - margin)
            h[i] = curvature
            target[i] = z[i] - g[i] / curvature
    return loss


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


def logistic_loss(const double[::1] z, const double[::1] dz, double step, const double[::1] y,
                  const double[::1] a):
    """``sum_i a_i log(1 + exp(-y_i (z_i + step dz_i)))``, stable for any margin (a trial
    point of a line search costs no array)."""
    cdef Py_ssize_t i, n = z.shape[0]
    cdef double total = 0.0, t
    with nogil:
        for i in range(n):
            t = -y[i] * (z[i] + step * dz[i])
            # log(1 + exp(t)) = max(t, 0) + log1p(exp(-|t|))
            if t > 0.0:
                total += a[i] * (t + log1p(exp(-t)))
            else:
                total += a[i] * log1p(exp(t))
    return total


def logistic_conjugate(const double[::1] g, const double[::1] y, const double[::1] a):
    """``sum_i a_i (s_i log s_i + (1 - s_i) log(1 - s_i))`` with ``s_i = -g_i y_i / a_i``
    clipped to [0, 1] (rows with ``a_i = 0`` count zero): the loss's conjugate at the raw
    gradient ``g``."""
    cdef Py_ssize_t i, n = g.shape[0]
    cdef double total = 0.0, s
    with nogil:
        for i in range(n):
            if a[i] <= 0.0:
                continue
            s = -g[i] * y[i] / a[i]
            if s <= 0.0 or s >= 1.0:
                continue
            total += a[i] * (s * log(s) + (1.0 - s) * log1p(-s))
    return total
