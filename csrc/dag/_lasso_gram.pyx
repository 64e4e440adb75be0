# cython: language_level=3
"""Lasso by cyclic coordinate descent on a Gram matrix (the L1 inner regressions of TOPO)."""

from libc.math cimport fabs


cdef void _descend(const double[:, ::1] G, Py_ssize_t v, const Py_ssize_t[::1] P, double lam,
                   double[::1] w, Py_ssize_t max_iter, double tol) noexcept nogil:
    cdef Py_ssize_t p = P.shape[0], it, k, l, i
    cdef double delta, r, g, new
    for it in range(max_iter):
        delta = 0.0
        for k in range(p):
            i = P[k]
            r = G[i, v]
            for l in range(p):
                if l != k:
                    r -= G[i, P[l]] * w[l]
            g = G[i, i]
            if r > lam:
                new = (r - lam) / g
            elif r < -lam:
                new = (r + lam) / g
            else:
                new = 0.0
            if fabs(new - w[k]) > delta:
                delta = fabs(new - w[k])
            w[k] = new
        if delta < tol:
            break


def lasso_gram(const double[:, ::1] G, Py_ssize_t v, const Py_ssize_t[::1] P, double lam, w,
               Py_ssize_t max_iter, double tol):
    """Coordinate descent for ``min_w 1/2 w'G[P,P]w - G[P,v]'w + lam ||w||_1`` (warm start ``w``,
    changed in place and returned)."""
    cdef double[::1] coef = w
    with nogil:
        _descend(G, v, P, lam, coef, max_iter, tol)
    return w
