# cython: language_level=3
"""Least-squares coordinate descent on the Gram matrix of a working set.

With ``Q = X_S' A X_S`` (``A`` the sample weights, ``S`` the working set, optionally an
intercept column of ones appended) and ``g = X_S' A (X_S w - y)`` the gradient, a coordinate
step on ``j`` moves ``g`` by ``delta Q[j, :]``: an epoch costs ``O(|S|^2)`` whatever the
number of samples. The datafit value ``f`` moves by ``delta g_j + delta^2 Q_jj / 2`` (exact
for a quadratic), and the duality gap of the restricted problem follows from ``f``, ``g`` and
``w`` in ``O(|S|)``, so epochs and stopping tests never touch ``X``. The Anderson step between
runs of epochs is compiled too (:func:`gram_extrapolate`): in NumPy its small products,
solve and two penalty values cost about 30 us, a tenth of ``Lasso()`` on breast cancer.
:func:`sparse_weighted_gram` builds the Gram of a sparse ``X`` for the direct ridge solve.
"""

from libc.math cimport fabs, isfinite
from libc.stdlib cimport free, malloc

include "../_blas.pxi"
include "_cd_prox.pxi"
include "_graph_types.pxi"

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



cdef double _pairwise_sum(const double* w, Py_ssize_t n, bint square) noexcept nogil:
    """``sum |w_j|`` or ``sum w_j^2`` added in NumPy's pairwise order (eight partial sums
    per block of up to 128 entries, blocks halved recursively), so a compiled step takes the
    decisions its NumPy form took."""
    cdef Py_ssize_t i, j, half
    cdef double total = -0.0
    cdef double partial[8]
    if n < 8:
        for i in range(n):
            total += w[i] * w[i] if square else fabs(w[i])
        return total
    if n <= 128:
        for j in range(8):
            partial[j] = w[j] * w[j] if square else fabs(w[j])
        i = 8
        while i < n - n % 8:
            for j in range(8):
                partial[j] += w[i + j] * w[i + j] if square else fabs(w[i + j])
            i += 8
        total = (((partial[0] + partial[1]) + (partial[2] + partial[3]))
                 + ((partial[4] + partial[5]) + (partial[6] + partial[7])))
        while i < n:
            total += w[i] * w[i] if square else fabs(w[i])
            i += 1
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(w, half, square) + _pairwise_sum(w + half, n - half, square)


cdef double _penalty_value(const double* w, Py_ssize_t n_penalised, Penalty pen) noexcept nogil:
    """``l1 ||w||_1 + (l2/2) ||w||^2`` over the first ``n_penalised`` coordinates."""
    return (pen.l1 * _pairwise_sum(w, n_penalised, False)
            + 0.5 * pen.l2 * _pairwise_sum(w, n_penalised, True))


cdef bint _anderson_guess(const double[:, ::1] iterates, double* guess) noexcept nogil:
    """The affine combination of the rows after the first whose weights ``z / sum(z)``, with
    ``C z = 1`` and ``C = U U'`` (``U``: the differences of consecutive rows), minimise the
    norm of the combined differences; False when ``C`` is singular or the weights are not
    finite. The products are the BLAS calls NumPy makes for it (SYRK, GESV, GEMV)."""
    cdef int k = <int>iterates.shape[0] - 1, m = <int>iterates.shape[1], one = 1, i, l, j
    cdef double total = -0.0, unit = 1.0, zero = 0.0
    cdef char lower = b"L", trans = b"T", plain = b"N"
    cdef double* U = <double*>malloc((k * m + k * k + k) * sizeof(double))
    cdef double* C = U + k * m
    cdef double* z = C + k * k
    if U == NULL:
        return False
    for i in range(k):
        for j in range(m):
            U[i * m + j] = iterates[i + 1, j] - iterates[i, j]
    # row-major U is column-major U': C = (U')' U', its upper triangle in row-major order
    dsyrk(&lower, &trans, &k, &m, &unit, U, &m, &zero, C, &k)
    for i in range(k):
        z[i] = 1.0
        for l in range(i):
            C[i * k + l] = C[l * k + i]
    if not solve_symmetric_system(k, C, z):
        free(U)
        return False
    for i in range(k):
        total += z[i]
    if not isfinite(total) or total == 0.0:
        free(U)
        return False
    for i in range(k):
        z[i] = z[i] / total
    dgemv(&plain, &m, &k, &unit, <double*>&iterates[1, 0], &m, z, &one, &zero, guess, &one)
    free(U)
    return True


def gram_extrapolate(const double[:, ::1] Q, double[::1] w, double[::1] g,
                     Py_ssize_t n_penalised, double l1, double l2, bint positive, double value,
                     const double[:, ::1] iterates):
    """Anderson step from the iterates in the rows of ``iterates`` (oldest first), kept,
    in place on ``w`` and its gradient ``g``, when it lowers the objective; returns the
    datafit value (``value`` before).

    The datafit is the quadratic of ``Q``: along ``d = guess - w`` it moves by
    ``d'g + d'Q d / 2``. Coordinates after the first ``n_penalised`` are free; with
    ``positive`` the guess is clipped at zero before it is compared.
    """
    cdef int m = <int>w.shape[0], one = 1
    cdef Py_ssize_t j
    cdef double unit = 1.0, zero = 0.0, new_value
    cdef char trans = b"T"
    cdef Penalty pen
    if (Q.shape[0] != m or Q.shape[1] != m or g.shape[0] != m or iterates.shape[1] != m
            or iterates.shape[0] < 2 or not 0 <= n_penalised <= m):
        raise ValueError("gram_extrapolate: Q, g and the iterates must match w")
    pen.l1, pen.l2, pen.positive = l1, l2, positive
    cdef double* guess = <double*>malloc(3 * m * sizeof(double))
    cdef double* d = guess + m
    cdef double* Qd = d + m
    if guess == NULL:
        raise MemoryError()
    with nogil:
        if _anderson_guess(iterates, guess):
            if positive:
                for j in range(n_penalised):
                    guess[j] = max(guess[j], 0.0)
            for j in range(m):
                d[j] = guess[j] - w[j]
            # row-major Q is column-major Q' = Q
            dgemv(&trans, &m, &m, &unit, <double*>&Q[0, 0], &m, d, &one, &zero, Qd, &one)
            new_value = (value + ddot(&m, d, &one, &g[0], &one)
                         + 0.5 * ddot(&m, d, &one, Qd, &one))
            if (new_value + _penalty_value(guess, n_penalised, pen)
                    < value + _penalty_value(&w[0], n_penalised, pen)):
                for j in range(m):
                    w[j] = guess[j]
                    g[j] += Qd[j]
                value = new_value
    free(guess)
    return value


def sparse_weighted_gram(const floating[::1] data, const index_t[::1] indices,
                         const index_t[::1] indptr, const double[::1] a, double[:, ::1] out):
    """``out = sum_i a_i x_i x_i'`` (both triangles) over the rows ``x_i`` of a CSR matrix
    given by ``data``, ``indices`` and ``indptr`` (column indices below ``out.shape[0]``, in
    any order, duplicates summed), in float64.

    Each row adds the outer product of its stored entries, ``O(sum_i nnz(x_i)^2)`` in all,
    into the dense ``p x p`` result: SciPy's sparse product ``X' A X`` builds the same
    matrix as a sparse one, with a pass to size it, and spent 6 ms on digits (1797 x 64,
    half the entries stored).
    """
    cdef Py_ssize_t i, k, l, n = indptr.shape[0] - 1, start, stop
    cdef double v
    if out.shape[0] != out.shape[1] or a.shape[0] != n or indices.shape[0] != data.shape[0]:
        raise ValueError("sparse_weighted_gram: out must be square, a one weight per row")
    with nogil:
        out[:, :] = 0.0
        for i in range(n):
            if a[i] == 0.0:
                continue
            start, stop = indptr[i], indptr[i + 1]
            for k in range(start, stop):
                v = a[i] * data[k]
                for l in range(start, stop):
                    out[indices[k], indices[l]] += v * data[l]
