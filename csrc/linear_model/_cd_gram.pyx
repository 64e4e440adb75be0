# cython: language_level=3
"""Least-squares coordinate descent on the Gram matrix of a working set.

With ``Q = X_S' A X_S`` (``A`` the sample weights, ``S`` the working set, optionally an
intercept column of ones appended) and ``g = X_S' A (X_S w - y)`` the gradient, a coordinate
step on ``j`` moves ``g`` by ``delta Q[j, :]``: an epoch costs ``O(|S|^2)`` whatever the
number of samples. The datafit value moves by ``delta g_j + delta^2 Q_jj / 2`` (exact for a
quadratic), so the caller can follow the objective without touching ``X``.
"""

include "_cd_prox.pxi"

cdef extern from "_cd_simd.h" nogil:
    void ns_axpy_f64(const double* x, double alpha, double* z, Py_ssize_t n)


def gram_epoch(const double[:, ::1] Q, double[::1] w, double[::1] g, Py_ssize_t n_penalised,
               double l1, double l2, bint positive, double value):
    """One cyclic pass over the coordinates of ``w``, in place on ``w`` and ``g``.

    The first ``n_penalised`` coordinates carry the penalty ``(l1, l2, positive)``; the rest
    (an intercept) are free and take the exact step. Returns the datafit's value after the
    pass, given its ``value`` before.
    """
    cdef Py_ssize_t m = Q.shape[0], j
    cdef double L, old, new, delta
    cdef Penalty pen
    pen.l1, pen.l2, pen.positive = l1, l2, positive
    with nogil:
        for j in range(m):
            L = Q[j, j]
            if L <= 0.0:
                continue
            old = w[j]
            if j < n_penalised:
                new = prox(old - g[j] / L, 1.0 / L, pen)
            else:
                new = old - g[j] / L
            if new == old:
                continue
            delta = new - old
            value += delta * (g[j] + 0.5 * delta * L)
            w[j] = new
            ns_axpy_f64(&Q[j, 0], delta, &g[0], m)
    return value
