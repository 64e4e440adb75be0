# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Primal value, duality gap and KKT violation of single-task least squares with the penalty
``l1 |w| + (l2/2) w^2`` (+ the indicator of w >= 0), without an intercept, in two compiled
passes (samples, then features).

The same quantities as :func:`numsolve.linear_model._objective.optimality`: with the raw
gradient ``g_i = a_i (z_i - y_i)`` and ``grad = X' g``, the dual point is ``s g`` with ``s``
the largest factor ``<= 1`` making ``-s grad`` feasible for the penalty's conjugate. On wide
problems the NumPy form (some twenty array passes over samples and features) cost more than
the gradient itself (5000 x 25000 at density 2e-4: a full gradient reads 25,000 entries).
"""

from libc.math cimport fabs


def least_squares_optimality(const double[::1] z, const double[::1] y, const double[::1] a,
                             const double[::1] g, const double[::1] w,
                             const double[::1] grad, double l1, double l2, bint positive):
    """Return ``(primal, gap, kkt)``; ``g`` is the raw gradient at ``z``, ``grad = X' g``
    over the features of ``w``."""
    cdef Py_ssize_t i, j, n = z.shape[0], p = w.shape[0]
    cdef double loss = 0.0, penalty = 0.0, kkt = 0.0, top = 0.0
    cdef double square = 0.0, linear = 0.0, excess_sq = 0.0
    cdef double r, h, v, dist, s, scaled, excess
    with nogil:
        for i in range(n):
            r = z[i] - y[i]
            loss += a[i] * r * r
            if a[i] > 0.0:
                square += g[i] * g[i] / a[i]
            linear += g[i] * y[i]
        for j in range(p):
            v = w[j]
            penalty += l1 * fabs(v) + 0.5 * l2 * v * v
            h = grad[j] + l2 * v
            if v == 0.0:
                dist = (-h - l1) if positive else (fabs(h) - l1)
                dist = dist if dist > 0.0 else 0.0
            else:
                dist = fabs(h + (l1 if v > 0.0 else -l1))
            if dist > kkt:
                kkt = dist
            v = -grad[j] if positive else fabs(grad[j])
            if v > top:
                top = v
        s = 1.0 if l2 > 0.0 or p == 0 or top <= l1 else l1 / top
        if l2 > 0.0:
            for j in range(p):
                scaled = -s * grad[j]
                excess = (scaled - l1) if positive else (fabs(scaled) - l1)
                if excess > 0.0:
                    excess_sq += excess * excess
    cdef double primal = 0.5 * loss + penalty
    cdef double dual = -(0.5 * s * s * square + s * linear)
    if l2 > 0.0:
        dual -= excess_sq / (2.0 * l2)
    return primal, max(primal - dual, 0.0), kkt
