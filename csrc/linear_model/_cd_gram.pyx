# cython: language_level=3
"""Least-squares coordinate descent on the Gram matrix of a working set.

With ``Q = X_S' A X_S`` (``A`` the sample weights, ``S`` the working set, optionally an
intercept column of ones appended) and ``g = X_S' A (X_S w - y)`` the gradient, a coordinate
step on ``j`` moves ``g`` by ``delta Q[j, :]``: an epoch costs ``O(|S|^2)`` whatever the
number of samples. The datafit value ``f`` moves by ``delta g_j + delta^2 Q_jj / 2`` (exact
for a quadratic), and the duality gap of the restricted problem follows from ``f``, ``g`` and
``w`` in ``O(|S|)``, so epochs and stopping tests never touch ``X``.
"""

from libc.math cimport fabs

include "_cd_prox.pxi"

cdef extern from "_cd_simd.h" nogil:
    void ns_axpy_f64(const double* x, double alpha, double* z, Py_ssize_t n)


cdef double _epoch(const double[:, ::1] Q, double[::1] w, double[::1] g,
                   Py_ssize_t n_penalised, Penalty pen, double value) noexcept nogil:
    """One cyclic pass; returns the datafit value after it."""
    cdef Py_ssize_t m = Q.shape[0], j
    cdef double L, old, new, delta
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


cdef double _gap(const double[::1] w, const double[::1] g, Py_ssize_t n_penalised,
                 Penalty pen, double value) noexcept nogil:
    """Duality gap at the dual point ``s A r`` (``r`` the residuals, ``s`` the largest
    dual-feasible scale): the datafit's conjugate there is ``s^2 f + s (g'w - 2 f)``."""
    cdef Py_ssize_t j
    cdef double top = 0.0, s = 1.0, gw = 0.0, penalty = 0.0, excess = 0.0, v, e
    for j in range(w.shape[0]):
        gw += g[j] * w[j]
    for j in range(n_penalised):
        penalty += pen.l1 * fabs(w[j]) + 0.5 * pen.l2 * w[j] * w[j]
        v = -g[j] if pen.positive else fabs(g[j])
        if v > top:
            top = v
    if pen.l2 == 0.0 and top > pen.l1:
        s = pen.l1 / top
    if pen.l2 > 0.0:
        for j in range(n_penalised):
            v = -s * g[j] if pen.positive else fabs(s * g[j])
            e = v - pen.l1
            if e > 0.0:
                excess += e * e
        excess /= 2.0 * pen.l2
    return max(value + penalty + s * s * value + s * (gw - 2.0 * value) + excess, 0.0)


def gram_epochs(const double[:, ::1] Q, double[::1] w, double[::1] g, Py_ssize_t n_penalised,
                double l1, double l2, bint positive, double value, double tol,
                double[:, ::1] iterates):
    """Up to ``iterates.shape[0]`` epochs, in place on ``w`` and ``g``, stopping after the
    first whose restricted duality gap is at most ``tol``.

    The first ``n_penalised`` coordinates carry the penalty ``(l1, l2, positive)``; the rest
    (an intercept) are free and take the exact step. Row ``k`` of ``iterates`` receives
    ``w`` after epoch ``k`` (for extrapolation). Returns ``(epochs run, datafit value,
    gap)`` given the datafit's ``value`` before.
    """
    cdef Py_ssize_t epoch, run = 0, j, m = w.shape[0]
    cdef double gap = -1.0
    cdef Penalty pen
    pen.l1, pen.l2, pen.positive = l1, l2, positive
    with nogil:
        for epoch in range(iterates.shape[0]):
            value = _epoch(Q, w, g, n_penalised, pen, value)
            for j in range(m):
                iterates[epoch, j] = w[j]
            gap = _gap(w, g, n_penalised, pen, value)
            run = epoch + 1
            if gap <= tol:
                break
    return run, value, gap


def gap_penalty_kkt(const double[::1] w, const double[::1] g, Py_ssize_t n_penalised,
                    double l1, double l2, bint positive, double value):
    """``(gap, penalty value, largest KKT violation)`` at ``w`` with gradient ``g`` and
    datafit value ``value``: :func:`restricted_gap`, the penalty of the first
    ``n_penalised`` coordinates and the largest distance of ``-g`` to the penalty's
    subdifferential there (the Gram engine's per-iteration figures in one pass)."""
    cdef Penalty pen
    pen.l1, pen.l2, pen.positive = l1, l2, positive
    cdef Py_ssize_t j
    cdef double total = 0.0, kkt = 0.0, h, v
    for j in range(n_penalised):
        total += l1 * fabs(w[j]) + 0.5 * l2 * w[j] * w[j]
        h = g[j] + l2 * w[j]
        if w[j] == 0.0:
            v = -h - l1 if positive else fabs(h) - l1
        else:
            v = fabs(h + (l1 if w[j] > 0.0 else -l1))
        if v > kkt:
            kkt = v
    return _gap(w, g, n_penalised, pen, value), total, kkt


def restricted_gap(const double[::1] w, const double[::1] g, Py_ssize_t n_penalised,
                   double l1, double l2, bint positive, double value):
    """The duality gap :func:`gram_epochs` stops on, at ``w`` with gradient ``g`` and
    datafit value ``value``."""
    cdef Penalty pen
    pen.l1, pen.l2, pen.positive = l1, l2, positive
    return _gap(w, g, n_penalised, pen, value)
