# cython: language_level=3
"""Kernels of the working-set coordinate descent, for dense and CSC sparse ``X``.

``X`` enters as its columns ``(values, indices, indptr)``: the CSC arrays of a sparse ``X``
(int32 or int64 indices), or, for a dense ``X``, its values in Fortran order with empty
``indices`` and ``indptr``. Values stay float32 or float64 and are summed in float64. The
coefficients ``W`` (p, K), the linear predictor ``Z`` (n, K) and the raw gradient ``G``
(n, K) are C-ordered float64. The datafit enters as its :class:`DatafitKind` and the penalty
as ``(l1, l2, positive)``. Every shape, layout and index check is made in Python
(:mod:`numsolve.linear_model._design`) before a kernel is entered.

An epoch is one pass of proximal block-coordinate steps over the working set: feature ``j``'s
K coefficients form one block with Lipschitz constant ``lips[j]``; the step is exact for least
squares and a guaranteed-decrease proximal gradient step otherwise. The single-task epochs keep
the per-sample derivative of the loss beside ``Z`` (the weighted residual for least squares,
``a y / (1 + exp(y z))`` for the logistic loss), so a coordinate's gradient is one dot product
and a sample's exponential is recomputed only when its ``z`` moves. The multinomial epoch
(:c:func:`_epoch_softmax`) keeps the rows' exponentials instead, steps each class by its own
curvature at the current point and falls back to ``lips[j]`` for an epoch whose objective
would rise.
"""

from libc.math cimport exp, log
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy

import numpy as np

# cd_epoch's one epoch, with no snapshot taken and no check's gradient
_ONE_EPOCH = np.empty((1, 0))
_NO_CHECK = np.empty((0, 1))

include "_cd_prox.pxi"

ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int
    long long


cpdef enum DatafitKind:
    LEAST_SQUARES = 0
    LOGISTIC = 1
    MULTINOMIAL = 2


cdef struct Samples:
    # the datafit at the samples: its kind, targets (class index for multinomial), weights
    int kind
    const double* y
    const double* a


cdef struct Span:
    # the stored entries of one column: positions start..end-1 of the values; row of position
    # k is rows[k] for CSC, k - start for a dense column (rows NULL)
    Py_ssize_t start
    Py_ssize_t end


cdef inline Span _span(const index_t* indptr, Py_ssize_t j, Py_ssize_t n) noexcept nogil:
    cdef Span col
    if indptr == NULL:
        col.start = j * n
        col.end = col.start + n
    else:
        col.start = indptr[j]
        col.end = indptr[j + 1]
    return col


cdef inline Py_ssize_t _row(const index_t* rows, Span col, Py_ssize_t k) noexcept nogil:
    return k - col.start if rows == NULL else rows[k]


# the logistic loss's raw gradient over all samples, vectorised (one exponential each)
cdef extern from "_logistic_math.h" nogil:
    void ns_logistic_gradient(const double* z, const double* y, const double* a, double* g,
                              Py_ssize_t n)


# the multinomial loss in the block epoch, vectorised
cdef extern from "_softmax_math.h" nogil:
    void ns_softmax_start(const double* Z, double* E, double* S, double* R, Py_ssize_t n,
                          Py_ssize_t K)
    void ns_softmax_block_gradient(const double* x, const Py_ssize_t* rows, Py_ssize_t count,
                                   const double* E, const double* S, const double* y,
                                   const double* a, Py_ssize_t K, double* grad, double* curv)
    double ns_softmax_loss_change(const double* S0, const double* S, const double* Z0,
                                  const double* Z, const double* y, const double* a,
                                  Py_ssize_t n, Py_ssize_t K)
    void ns_softmax_move(const double* x, const Py_ssize_t* rows, Py_ssize_t count,
                         const double* delta, Py_ssize_t K, double* Z, double* E, double* S,
                         double* R)


cdef extern from "_cd_simd.h" nogil:
    double ns_dot_f64(const double* x, const double* r, Py_ssize_t n)
    double ns_dot_f32(const float* x, const double* r, Py_ssize_t n)
    void ns_axpy_f64(const double* x, double alpha, double* z, Py_ssize_t n)
    void ns_axpy_f32(const float* x, double alpha, double* z, Py_ssize_t n)
    void ns_step_f64(const double* x, double alpha, const double* a, double* z, double* r,
                     Py_ssize_t n)
    void ns_step_f32(const float* x, double alpha, const double* a, double* z, double* r,
                     Py_ssize_t n)


cdef inline double _dot(const floating* x, const double* r, Py_ssize_t n) noexcept nogil:
    """``x' r`` for a contiguous column (vectorised, see ``_cd_simd.h``)."""
    if floating is double:
        return ns_dot_f64(x, r, n)
    return ns_dot_f32(x, r, n)


cdef inline void _axpy(const floating* x, double alpha, double* z, Py_ssize_t n) noexcept nogil:
    """``z += alpha x`` for a contiguous column."""
    if floating is double:
        ns_axpy_f64(x, alpha, z, n)
    else:
        ns_axpy_f32(x, alpha, z, n)


# columns at least this long take the vectorised sum of squares
cdef enum:
    _SIMD_MIN = 32


cdef inline double _sum_squares(const floating* x, Py_ssize_t n) noexcept nogil:
    """``x' x`` in float64: vectorised for long float64 columns, four partial sums otherwise
    (a call per column costs more than the sum on the few entries of a sparse column)."""
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef Py_ssize_t k, m = n - n % 4
    if floating is double and n >= _SIMD_MIN:
        return ns_dot_f64(x, x, n)
    for k in range(0, m, 4):
        s0 += <double>x[k] * x[k]
        s1 += <double>x[k + 1] * x[k + 1]
        s2 += <double>x[k + 2] * x[k + 2]
        s3 += <double>x[k + 3] * x[k + 3]
    for k in range(m, n):
        s0 += <double>x[k] * x[k]
    return (s0 + s1) + (s2 + s3)


cdef inline double _column_dot(const floating* values, const index_t* rows, Span col,
                               const double* r) noexcept nogil:
    """``X_j' r`` for a column's span."""
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef Py_ssize_t k, m
    if rows == NULL:
        return _dot(values + col.start, r, col.end - col.start)
    # four partial sums: the gathers of r are independent, the additions need not wait
    m = col.end - (col.end - col.start) % 4
    for k in range(col.start, m, 4):
        s0 += values[k] * r[rows[k]]
        s1 += values[k + 1] * r[rows[k + 1]]
        s2 += values[k + 2] * r[rows[k + 2]]
        s3 += values[k + 3] * r[rows[k + 3]]
    for k in range(m, col.end):
        s0 += values[k] * r[rows[k]]
    return (s0 + s1) + (s2 + s3)


cdef inline void _column_axpy(const floating* values, const index_t* rows, Span col,
                              double alpha, double* z, Py_ssize_t stride) noexcept nogil:
    """``z[i * stride] += alpha X_ij`` over a column's span."""
    cdef Py_ssize_t k, i, m
    cdef const floating* x = values + col.start
    if rows == NULL and stride == 1:
        _axpy(x, alpha, z, col.end - col.start)
    elif rows == NULL:
        for i in range(col.end - col.start):
            z[i * stride] += x[i] * alpha
    elif stride == 1:  # unrolled: the rows of a column are distinct, the updates independent
        m = col.end - (col.end - col.start) % 4
        for k in range(col.start, m, 4):
            z[rows[k]] += values[k] * alpha
            z[rows[k + 1]] += values[k + 1] * alpha
            z[rows[k + 2]] += values[k + 2] * alpha
            z[rows[k + 3]] += values[k + 3] * alpha
        for k in range(m, col.end):
            z[rows[k]] += values[k] * alpha
    else:
        for k in range(col.start, col.end):
            z[rows[k] * stride] += values[k] * alpha


cdef double* _alloc(Py_ssize_t count) except NULL:
    cdef double* out = <double*>malloc(max(count, 1) * sizeof(double))
    if out == NULL:
        raise MemoryError()
    return out


cdef inline Samples _samples(int kind, const double[::1] y, const double[::1] a) noexcept:
    cdef Samples s
    s.kind = kind
    s.y = &y[0]
    s.a = &a[0]
    return s


cdef inline const index_t* _pointer(const index_t[::1] arr) noexcept:
    """The array's data, or NULL for an empty index array (a dense ``X``)."""
    return NULL if arr.shape[0] == 0 else &arr[0]


cdef inline void _row_gradient(Samples* s, const double* z, Py_ssize_t i, Py_ssize_t K,
                               double* g) noexcept nogil:
    """Raw gradient of sample ``i`` at its predictor row ``z`` into ``g`` (length K)."""
    cdef double yi = s.y[i], ai = s.a[i], top, total
    cdef Py_ssize_t c
    if s.kind == LEAST_SQUARES:
        g[0] = ai * (z[0] - yi)
    elif s.kind == LOGISTIC:
        g[0] = -ai * yi / (1.0 + exp(yi * z[0]))
    else:
        top = z[0]
        for c in range(1, K):
            if z[c] > top:
                top = z[c]
        total = 0.0
        for c in range(K):
            g[c] = exp(z[c] - top)
            total += g[c]
        for c in range(K):
            g[c] = ai * g[c] / total
        g[<Py_ssize_t>yi] -= ai


cdef inline double _derivative(Samples* s, double z, Py_ssize_t i) noexcept nogil:
    """Single-task raw gradient of sample ``i``: ``a (z - y)`` for least squares,
    ``-a y / (1 + exp(y z))`` for the logistic loss."""
    if s.kind == LEAST_SQUARES:
        return s.a[i] * (z - s.y[i])
    return -s.a[i] * s.y[i] / (1.0 + exp(s.y[i] * z))


cdef Py_ssize_t _epoch_single(Samples* s, Penalty pen, const floating* values,
                             const index_t* rows, const index_t* indptr, double* w, double* z,
                             Py_ssize_t n, const int* ws, Py_ssize_t n_ws, const double* lips,
                             double* r, bint residual_only, double* seen) noexcept nogil:
    """Single-task epoch; ``r`` (length n) receives the per-sample derivatives at ``z``.
    Returns the last position in ``ws`` whose coefficient moved (or whose column has no
    curvature), -1 when none did; ``seen`` (NULL or length ``n_ws``) receives each
    position's gradient as its step read it.

    With ``residual_only`` (sparse least squares, every sample weighing ``a[0]``), ``r``
    holds ``z - y`` on entry (:c:func:`_residual_start`) and is the only array the steps
    write (one scattered update per stored entry instead of two, and no weight read);
    ``z`` is left as it was, for :c:func:`_residual_end` after the last epoch.
    """
    cdef Py_ssize_t jj, j, i, k, last = -1
    cdef double L, grad, old, new, delta, step
    cdef Span col
    cdef double scale = s.a[0] if residual_only else 1.0
    if not residual_only:
        for i in range(n):
            r[i] = _derivative(s, z[i], i)
    for jj in range(n_ws):
        j = ws[jj]
        L = lips[j]
        if L <= 0.0:
            last = jj
            continue
        col = _span(indptr, j, n)
        grad = scale * _column_dot(values, rows, col, r)
        if seen != NULL:
            seen[jj] = grad
        old = w[j]
        new = prox(old - grad / L, 1.0 / L, pen)
        if new == old:
            continue
        last = jj
        w[j] = new
        delta = new - old
        if residual_only:
            _column_axpy(values, rows, col, delta, r, 1)
        elif s.kind == LEAST_SQUARES and rows == NULL:  # the residual moves with z
            if floating is double:
                ns_step_f64(values + col.start, delta, s.a, z, r, n)
            else:
                ns_step_f32(values + col.start, delta, s.a, z, r, n)
        elif s.kind == LEAST_SQUARES:
            for k in range(col.start, col.end):
                i = rows[k]
                step = values[k] * delta
                z[i] += step
                r[i] += s.a[i] * step
        else:
            for k in range(col.start, col.end):
                i = _row(rows, col, k)
                z[i] += values[k] * delta
                r[i] = _derivative(s, z[i], i)
    return last


cdef inline void _residual_start(Samples* s, const double* z, Py_ssize_t n,
                                 double* r) noexcept nogil:
    """``r = z - y`` before residual-only epochs (a loop of its own vectorises)."""
    cdef Py_ssize_t i
    for i in range(n):
        r[i] = z[i] - s.y[i]


cdef inline void _residual_end(Samples* s, const double* r, Py_ssize_t n,
                               double* z) noexcept nogil:
    """``z = y + r`` after the last residual-only epoch."""
    cdef Py_ssize_t i
    for i in range(n):
        z[i] = s.y[i] + r[i]


cdef inline void _residual_round_trip(Samples* s, Py_ssize_t n, double* r) noexcept nogil:
    """``r = (y + r) - y``: the residual that ``z`` would give back between epochs, so that
    epochs run in one call take the same floats as epochs run one call each (keeping ``r``
    as it was moved the 5000 x 25000 grid cell at alpha_max/1000 from 3160 to 6010 epochs
    through its round-off-sensitive schedule)."""
    cdef Py_ssize_t i
    for i in range(n):
        r[i] = (s.y[i] + r[i]) - s.y[i]


cdef Py_ssize_t _stored(const index_t* indptr, const int[::1] ws) noexcept:
    """Stored entries of the CSC columns ``ws``."""
    cdef Py_ssize_t jj, total = 0
    for jj in range(ws.shape[0]):
        total += indptr[ws[jj] + 1] - indptr[ws[jj]]
    return total


cdef bint _equal(const double[::1] a) noexcept:
    """True when every entry of ``a`` equals the first."""
    cdef Py_ssize_t i
    for i in range(1, a.shape[0]):
        if a[i] != a[0]:
            return False
    return True


cdef void _epoch_blocks(Samples* s, Penalty pen, const floating* values, const index_t* rows,
                        const index_t* indptr, double* W, double* Z, Py_ssize_t n,
                        Py_ssize_t K, const int* ws, Py_ssize_t n_ws, const double* lips,
                        double* work) noexcept nogil:
    """Epoch of K-coefficient blocks (least squares with K targets; the multinomial loss
    takes :c:func:`_epoch_softmax`); ``work`` holds (n + 2) K doubles, the first n K of
    them the raw gradient ``G`` at ``Z``, whose row ``i`` is recomputed only when ``Z``'s
    row ``i`` moves."""
    cdef Py_ssize_t jj, j, i, c, k
    cdef double x
    cdef Span col
    cdef double* G = work
    cdef double* grad = work + n * K
    cdef double* delta = grad + K
    for i in range(n):
        _row_gradient(s, Z + i * K, i, K, G + i * K)
    for jj in range(n_ws):
        j = ws[jj]
        if lips[j] <= 0.0:
            continue
        col = _span(indptr, j, n)
        for c in range(K):
            grad[c] = 0.0
        for k in range(col.start, col.end):
            x = values[k]
            if x != 0.0:
                i = _row(rows, col, k)
                for c in range(K):
                    grad[c] += x * G[i * K + c]
        if _block_step(pen, W + j * K, grad, delta, lips[j], NULL, K):
            for k in range(col.start, col.end):
                x = values[k]
                if x != 0.0:
                    i = _row(rows, col, k)
                    for c in range(K):
                        Z[i * K + c] += x * delta[c]
                    _row_gradient(s, Z + i * K, i, K, G + i * K)


cdef inline bint _block_step(Penalty pen, double* w, const double* grad, double* delta,
                             double L, const double* curv, Py_ssize_t K) noexcept nogil:
    """Proximal gradient step on one feature's K coefficients ``w``, of length ``1/L``, or
    per class ``1 / curv[c]`` where ``curv`` is given; ``delta`` receives each coefficient's
    move. True when any moved."""
    cdef Py_ssize_t c
    cdef double old, new, step
    cdef bint moved = False
    for c in range(K):
        step = 1.0 / (L if curv == NULL else curv[c])
        old = w[c]
        new = prox(old - grad[c] * step, step, pen)
        delta[c] = new - old
        if new != old:
            w[c] = new
            moved = True
    return moved


# A class's step in the softmax epoch is 1 / (twice its diagonal curvature at the current
# point), between the feature's global bound and this fraction of it (at most 100x longer)
cdef double _CURVATURE_FLOOR = 1e-2


cdef struct SoftmaxEpoch:
    # the multinomial epoch's state: exponentials E (n, K), their row sums S and the last
    # exact ones R, a column's values in float64 and (CSC) its rows, the block's gradient,
    # move and curvatures (K each), and the epoch's start: S0, Z0 (n, K), W0 (n_ws, K)
    double* E
    double* S
    double* R
    double* column
    Py_ssize_t* rows
    double* grad
    double* delta
    double* curv
    double* S0
    double* Z0
    double* W0


cdef Py_ssize_t _softmax_work(Py_ssize_t n, Py_ssize_t K, Py_ssize_t n_ws) noexcept nogil:
    """Doubles a :c:type:`SoftmaxEpoch` holds besides its rows."""
    return 2 * n * K + 4 * n + 3 * K + n_ws * K


cdef SoftmaxEpoch _softmax_state(double* work, Py_ssize_t* rows, Py_ssize_t n,
                                 Py_ssize_t K) noexcept nogil:
    cdef SoftmaxEpoch e
    e.E = work
    e.S = e.E + n * K
    e.R = e.S + n
    e.column = e.R + n
    e.rows = rows
    e.grad = e.column + n
    e.delta = e.grad + K
    e.curv = e.delta + K
    e.S0 = e.curv + K
    e.Z0 = e.S0 + n
    e.W0 = e.Z0 + n * K
    return e


cdef double _blocks_penalty(Penalty pen, const double* W, const int* ws, Py_ssize_t n_ws,
                            Py_ssize_t K) noexcept nogil:
    """``sum l1 |w| + (l2/2) w^2`` over the working set's blocks."""
    cdef Py_ssize_t jj, c
    cdef double w, total = 0.0
    for jj in range(n_ws):
        for c in range(K):
            w = W[ws[jj] * K + c]
            total += pen.l1 * (w if w >= 0.0 else -w) + 0.5 * pen.l2 * w * w
    return total


cdef const double* _softmax_column(const floating* values, const index_t* rows, Span col,
                                   SoftmaxEpoch* e) noexcept nogil:
    """The column's stored values in float64 (in place for a dense float64 column), its
    rows written to ``e.rows`` for a CSC column."""
    cdef Py_ssize_t k
    for k in range(col.start, col.end):
        if rows != NULL:
            e.rows[k - col.start] = rows[k]
        if floating is float or rows != NULL:
            e.column[k - col.start] = values[k]
    if floating is double and rows == NULL:
        return values + col.start
    return e.column


cdef void _softmax_pass(Samples* s, Penalty pen, const floating* values, const index_t* rows,
                        const index_t* indptr, double* W, double* Z, Py_ssize_t n,
                        Py_ssize_t K, const int* ws, Py_ssize_t n_ws, const double* lips,
                        SoftmaxEpoch* e, bint local) noexcept nogil:
    """One pass of block steps from the state ``ns_softmax_start`` left in ``e``: steps of
    the global bound ``lips[j]``, or with ``local`` of each class's own curvature."""
    cdef Py_ssize_t jj, j, c, count
    cdef double L
    cdef const double* x
    cdef const Py_ssize_t* at = NULL if rows == NULL else e.rows
    cdef Span col
    for jj in range(n_ws):
        j = ws[jj]
        L = lips[j]
        if L <= 0.0:
            continue
        col = _span(indptr, j, n)
        count = col.end - col.start
        x = _softmax_column(values, rows, col, e)
        ns_softmax_block_gradient(x, at, count, e.E, e.S, s.y, s.a, K, e.grad, e.curv)
        if local:
            for c in range(K):
                e.curv[c] = min(max(2.0 * e.curv[c], _CURVATURE_FLOOR * L), L)
        if _block_step(pen, W + j * K, e.grad, e.delta, L, e.curv if local else NULL, K):
            ns_softmax_move(x, at, count, e.delta, K, Z, e.E, e.S, e.R)


cdef void _epoch_softmax(Samples* s, Penalty pen, const floating* values, const index_t* rows,
                         const index_t* indptr, double* W, double* Z, Py_ssize_t n,
                         Py_ssize_t K, const int* ws, Py_ssize_t n_ws, const double* lips,
                         SoftmaxEpoch* e) noexcept nogil:
    """Epoch of K-coefficient blocks for the multinomial loss (see ``_softmax_math.h``):
    the rows' exponentials and their sums are kept instead of the gradient, and a block's
    move updates only its moved classes' exponentials.

    Each class steps by its own curvature (twice the diagonal of the block's Hessian at the
    current point, which bounds the block's Hessian there by diagonal dominance), not by the
    feature's global bound: on well-separated classes most probabilities are near 0 or 1
    and the curvature far below the bound (digits, L1 at C = 1: ten epochs from zero end
    nearer the optimum than two hundred of the bound's). That bound holds only at the
    current point, so an epoch whose objective rises is undone and rerun with the global
    bounds."""
    cdef Py_ssize_t jj
    cdef double before, change
    memcpy(e.Z0, Z, n * K * sizeof(double))
    for jj in range(n_ws):
        memcpy(e.W0 + jj * K, W + ws[jj] * K, K * sizeof(double))
    before = _blocks_penalty(pen, W, ws, n_ws, K)
    ns_softmax_start(Z, e.E, e.S, e.R, n, K)
    memcpy(e.S0, e.S, n * sizeof(double))
    _softmax_pass(s, pen, values, rows, indptr, W, Z, n, K, ws, n_ws, lips, e, True)
    change = (ns_softmax_loss_change(e.S0, e.S, e.Z0, Z, s.y, s.a, n, K)
              + _blocks_penalty(pen, W, ws, n_ws, K) - before)
    if change <= 0.0:
        return
    memcpy(Z, e.Z0, n * K * sizeof(double))
    for jj in range(n_ws):
        memcpy(W + ws[jj] * K, e.W0 + jj * K, K * sizeof(double))
    ns_softmax_start(Z, e.E, e.S, e.R, n, K)
    _softmax_pass(s, pen, values, rows, indptr, W, Z, n, K, ws, n_ws, lips, e, False)


def cd_epoch(int kind, const floating[::1] values, const index_t[::1] indices,
             const index_t[::1] indptr, const double[::1] y, const double[::1] a,
             double[:, ::1] W, double[:, ::1] Z, const int[::1] ws, const double[::1] lips,
             double l1, double l2, bint positive, equal_weights=None):
    """One epoch over the features ``ws``, updating ``W`` and ``Z`` in place.

    ``equal_weights`` (whether every entry of ``a`` is the same) may be passed by a caller
    that knows it: otherwise every epoch scans ``a`` for it (10 us at n = 20000).
    """
    cd_epochs(kind, values, indices, indptr, y, a, W, Z, ws, lips, l1, l2, positive,
              _ONE_EPOCH, _NO_CHECK, _NO_CHECK, equal_weights)


cdef void _support_first(const double* w, const int* ws, Py_ssize_t n_ws, int* order,
                         Py_ssize_t* at) noexcept nogil:
    """``order``: the features of ``ws`` with a nonzero coefficient, then the others, each
    group in ``ws``'s order; ``at[t]`` is the position in ``ws`` of ``order[t]``."""
    cdef Py_ssize_t jj, t = 0
    for jj in range(n_ws):
        if w[ws[jj]] != 0.0:
            order[t] = ws[jj]
            at[t] = jj
            t += 1
    for jj in range(n_ws):
        if w[ws[jj]] == 0.0:
            order[t] = ws[jj]
            at[t] = jj
            t += 1


cdef void _check_gradient(Samples* s, const floating* values, const index_t* rows,
                          const index_t* indptr, const double* z, Py_ssize_t n,
                          const int* ws, Py_ssize_t n_ws, const Py_ssize_t* at,
                          const double* seen, Py_ssize_t fresh_to, double* G,
                          double* grad) noexcept nogil:
    """The raw gradient ``G`` at ``z`` and ``grad[at[t]] = X_j' G`` for the feature ``j`` at
    position ``t`` of the last epoch's order: read again for ``t <= fresh_to``, taken from
    what the epoch's step saw (``seen``) after it, where no coefficient has moved since."""
    cdef Py_ssize_t i, t, jj
    if s.kind == LOGISTIC and n > 0:  # as raw_gradient computes it
        ns_logistic_gradient(z, s.y, s.a, G, n)
    else:
        for i in range(n):
            _row_gradient(s, &z[i], i, 1, &G[i])
    for t in range(n_ws):
        jj = t if at == NULL else at[t]
        if t <= fresh_to:
            grad[jj] = _column_dot(values, rows, _span(indptr, ws[jj], n), G)
        else:
            grad[jj] = seen[t]


def cd_epochs(int kind, const floating[::1] values, const index_t[::1] indices,
              const index_t[::1] indptr, const double[::1] y, const double[::1] a,
              double[:, ::1] W, double[:, ::1] Z, const int[::1] ws, const double[::1] lips,
              double l1, double l2, bint positive, double[:, ::1] snapshots,
              double[:, ::1] grad, double[:, ::1] G, equal_weights=None):
    """``snapshots.shape[0]`` epochs over the features ``ws`` in one call, updating ``W`` and
    ``Z`` in place; after epoch ``e`` the working set's coefficients ``W[ws]`` (row-major,
    ``len(ws) K`` values) are copied to the start of ``snapshots[e]`` when that row is at
    least that long (the Anderson extrapolation's iterates), and nothing is copied when it
    is shorter.

    The residual-only epochs write ``Z`` once at the end and pass their residual from one
    epoch to the next through its round trip (one pass over two vectors instead of two over
    three, and a call less per epoch; the same floats as :func:`cd_epoch` run once per
    epoch). ``equal_weights`` as for :func:`cd_epoch`.

    With ``grad`` of shape ``(len(ws), 1)`` (single-task datafits only; ``(0, 1)`` for
    none), the call ends with a check's figures at the final iterate: the raw gradient in
    ``G`` (n, 1) and ``grad = X[:, ws]' G``. The residual-only epochs then take their last
    epoch over the features in the model first and the others after, and a feature
    stepped after the last coefficient moved keeps the gradient its step read (the
    residual has not changed since): at a settled support only the support's columns are
    read again (sparse 20000 x 2000 at density 1e-2, 674 of 2000 at alpha_max/1000).
    Elsewhere the gradient is a full pass, the same floats as :func:`raw_gradient` and
    :func:`ws_gradient`.
    """
    cdef Samples s = _samples(kind, y, a)
    cdef Penalty pen
    pen.l1, pen.l2, pen.positive = l1, l2, positive
    cdef Py_ssize_t n = Z.shape[0], K = Z.shape[1], n_ws = ws.shape[0]
    cdef Py_ssize_t count = snapshots.shape[0], e, jj, fresh_to = n_ws
    cdef bint snapshot = snapshots.shape[1] >= n_ws * K
    cdef bint check = grad.shape[0] > 0
    cdef const index_t* rows = _pointer(indices)
    cdef const index_t* starts = _pointer(indptr)
    cdef bint single = K == 1 and kind != MULTINOMIAL
    if check and not (single and grad.shape[0] == n_ws and grad.shape[1] == 1
                      and G.shape[0] == n and G.shape[1] == 1):
        raise ValueError("a check's gradient needs a single-task datafit, grad of shape "
                         "(len(ws), 1) and G of shape (n, 1)")
    # sparse least squares with equal weights (the usual case): the residual-only epoch,
    # where the working set stores at least n entries (it adds a pass over the n samples,
    # which small working sets of short columns would feel: 5000 x 25000 at density 2e-4)
    cdef bint residual_only = (single and kind == LEAST_SQUARES and rows != NULL and n > 0
                               and count > 0 and _stored(starts, ws) >= n
                               and (_equal(a) if equal_weights is None else equal_weights))
    cdef bint reorder = check and residual_only
    cdef bint softmax = kind == MULTINOMIAL
    cdef double* work = _alloc(n if single else _softmax_work(n, K, n_ws) if softmax
                               else (n + 2) * K)
    cdef Py_ssize_t* softmax_rows = NULL
    cdef SoftmaxEpoch state
    cdef int* order = NULL
    cdef Py_ssize_t* at = NULL
    cdef double* seen = NULL
    if reorder:
        order = <int*>malloc(max(n_ws, 1) * sizeof(int))
        at = <Py_ssize_t*>malloc(max(n_ws, 1) * sizeof(Py_ssize_t))
        seen = <double*>malloc(max(n_ws, 1) * sizeof(double))
        if order == NULL or at == NULL or seen == NULL:
            free(order)
            free(at)
            free(seen)
            free(work)
            raise MemoryError()
    if softmax:
        softmax_rows = <Py_ssize_t*>malloc(max(n, 1) * sizeof(Py_ssize_t))
        if softmax_rows == NULL:
            free(work)
            raise MemoryError()
        state = _softmax_state(work, softmax_rows, n, K)
    with nogil:
        if residual_only:
            _residual_start(&s, &Z[0, 0], n, work)
        for e in range(count):
            if reorder and e + 1 == count:
                _support_first(&W[0, 0], &ws[0], n_ws, order, at)
                fresh_to = _epoch_single(&s, pen, &values[0], rows, starts, &W[0, 0],
                                         &Z[0, 0], n, order, n_ws, &lips[0], work, True,
                                         seen)
            elif single:
                _epoch_single(&s, pen, &values[0], rows, starts, &W[0, 0], &Z[0, 0], n,
                              &ws[0], n_ws, &lips[0], work, residual_only, NULL)
            elif softmax:
                _epoch_softmax(&s, pen, &values[0], rows, starts, &W[0, 0], &Z[0, 0], n, K,
                               &ws[0], n_ws, &lips[0], &state)
            else:
                _epoch_blocks(&s, pen, &values[0], rows, starts, &W[0, 0], &Z[0, 0], n, K,
                              &ws[0], n_ws, &lips[0], work)
            if snapshot:
                for jj in range(n_ws):
                    memcpy(&snapshots[e, jj * K], &W[ws[jj], 0], K * sizeof(double))
            if residual_only and e + 1 < count:
                _residual_round_trip(&s, n, work)
        if residual_only:
            _residual_end(&s, work, n, &Z[0, 0])
        if check:
            _check_gradient(&s, &values[0], rows, starts, &Z[0, 0], n, &ws[0], n_ws, at,
                            seen, fresh_to, &G[0, 0], &grad[0, 0])
    free(order)
    free(at)
    free(seen)
    free(softmax_rows)
    free(work)


def raw_gradient(int kind, const double[:, ::1] Z, const double[::1] y, const double[::1] a,
                 double[:, ::1] G):
    """Fill ``G`` (n, K) with the datafit's raw gradient at ``Z``."""
    cdef Samples s = _samples(kind, y, a)
    cdef Py_ssize_t i, n = Z.shape[0], K = Z.shape[1]
    if kind == LOGISTIC and K == 1 and n > 0:
        with nogil:
            ns_logistic_gradient(&Z[0, 0], &y[0], &a[0], &G[0, 0], n)
        return
    with nogil:
        for i in range(n):
            _row_gradient(&s, &Z[i, 0], i, K, &G[i, 0])


def intercept_step(int kind, const double[::1] y, const double[::1] a, double[::1] b,
                   double[:, ::1] Z, double bound):
    """Gradient step ``b -= sum_i G_i / bound`` on the intercept (exact for least squares)."""
    cdef Samples s = _samples(kind, y, a)
    cdef Py_ssize_t i, c, n = Z.shape[0], K = Z.shape[1]
    cdef double step
    cdef double* total = _alloc(2 * K)
    cdef double* g = total + K
    with nogil:
        for c in range(K):
            total[c] = 0.0
        for i in range(n):
            _row_gradient(&s, &Z[i, 0], i, K, g)
            for c in range(K):
                total[c] += g[c]
        for c in range(K):
            step = total[c] / bound
            b[c] -= step
            for i in range(n):
                Z[i, c] -= step
    free(total)


def softmax_intercept_step(const double[::1] y, const double[::1] a, double[::1] b,
                           double[:, ::1] Z, double bound):
    """Step on the multinomial loss's intercepts, each class by its own curvature (twice
    ``sum_i a_i p_ic (1 - p_ic)``, between ``bound`` and ``_CURVATURE_FLOOR`` of it), as
    the dense epoch steps its blocks; where the loss would rise, the step of ``bound``
    (:func:`intercept_step`) is taken instead. An intercept stepped by the global bound
    beside blocks stepped by their curvature held the outer loop back: digits' elastic net
    took 32 outer iterations instead of 8."""
    cdef Py_ssize_t n = Z.shape[0], K = Z.shape[1], i, c
    cdef double* work = _alloc(n * K + 3 * n + 3 * K)
    cdef double* E = work
    cdef double* S = E + n * K
    cdef double* R = S + n
    cdef double* moved = R + n
    cdef double* grad = moved + n
    cdef double* curv = grad + K
    cdef double* step = curv + K
    cdef double change, p
    with nogil:
        ns_softmax_start(&Z[0, 0], E, S, R, n, K)
        for c in range(K):
            grad[c] = curv[c] = 0.0
        for i in range(n):
            for c in range(K):
                p = E[i * K + c] / S[i]
                grad[c] += a[i] * p
                curv[c] += a[i] * (p - p * p)
            grad[<Py_ssize_t>y[i]] -= a[i]
        for c in range(K):
            step[c] = grad[c] / min(max(2.0 * curv[c], _CURVATURE_FLOOR * bound), bound)
            curv[c] = exp(-step[c])  # the factor of class c's exponentials
        change = 0.0
        for i in range(n):
            moved[i] = 0.0
            for c in range(K):
                moved[i] += E[i * K + c] * curv[c]
            change += a[i] * (log(moved[i] / S[i]) + step[<Py_ssize_t>y[i]])
        if not change <= 0.0:
            for c in range(K):
                step[c] = grad[c] / bound
        for c in range(K):
            b[c] -= step[c]
        for i in range(n):
            for c in range(K):
                Z[i, c] -= step[c]
    free(work)


def predict(const floating[::1] values, const index_t[::1] indices, const index_t[::1] indptr,
            const double[:, ::1] W, const int[::1] ws, const double[::1] b, double[:, ::1] Z):
    """``Z = X[:, ws] W[ws] + b``."""
    cdef Py_ssize_t n = Z.shape[0], K = Z.shape[1], jj, j, i, c
    cdef const index_t* rows = _pointer(indices)
    cdef const index_t* starts = _pointer(indptr)
    cdef double coef
    cdef Span col
    with nogil:
        for i in range(n):
            for c in range(K):
                Z[i, c] = b[c]
        for jj in range(ws.shape[0]):
            j = ws[jj]
            col = _span(starts, j, n)
            for c in range(K):
                coef = W[j, c]
                if coef != 0.0:
                    _column_axpy(&values[0], rows, col, coef, &Z[0, c], K)


cdef inline double _weighted_sq_norm(const floating* values, const index_t* rows, Span col,
                                     const double* a, bint equal) noexcept nogil:
    """``sum_i a_i X_ij^2`` over a column's span; with ``equal`` weights ``a_0`` times the
    column's sum of squares (no weight gather)."""
    cdef double acc = 0.0, x
    cdef Py_ssize_t k
    if equal:
        return (a[0] * _sum_squares(&values[col.start], col.end - col.start)
                if col.end > col.start else 0.0)
    for k in range(col.start, col.end):
        x = values[k]
        acc += a[_row(rows, col, k)] * x * x
    return acc


def col_sq_norms(const floating[::1] values, const index_t[::1] indices,
                 const index_t[::1] indptr, const double[::1] a, double[::1] out):
    """``out[j] = sum_i a_i X_ij^2`` for every column."""
    cdef Py_ssize_t n = a.shape[0], j
    cdef const index_t* rows = _pointer(indices)
    cdef const index_t* starts = _pointer(indptr)
    cdef bint equal = n > 0 and _equal(a)
    with nogil:
        for j in range(out.shape[0]):
            out[j] = _weighted_sq_norm(&values[0], rows, _span(starts, j, n), &a[0], equal)


def col_sq_norms_gradient(const floating[::1] values, const index_t[::1] indices,
                          const index_t[::1] indptr, const double[::1] a,
                          const double[:, ::1] G, double[::1] norms, double[:, ::1] grad):
    """:func:`col_sq_norms` into ``norms`` and the single-task :func:`ws_gradient` over every
    column into ``grad`` (p, 1) in one pass over ``X``: each column is read from memory once,
    its second sum runs on it in cache. Both results equal those kernels' bit for bit."""
    cdef Py_ssize_t n = a.shape[0], j
    cdef const index_t* rows = _pointer(indices)
    cdef const index_t* starts = _pointer(indptr)
    cdef bint equal = n > 0 and _equal(a)
    cdef Span col
    with nogil:
        for j in range(norms.shape[0]):
            col = _span(starts, j, n)
            grad[j, 0] = _column_dot(&values[0], rows, col, &G[0, 0])
            norms[j] = _weighted_sq_norm(&values[0], rows, col, &a[0], equal)


def ws_gradient(const floating[::1] values, const index_t[::1] indices,
                const index_t[::1] indptr, const double[:, ::1] G, const int[::1] ws,
                double[:, ::1] out):
    """``out[jj] = X[:, ws[jj]]' G`` (out of shape (len(ws), K))."""
    cdef Py_ssize_t n = G.shape[0], K = G.shape[1], jj, j, c, k, i
    cdef const index_t* rows = _pointer(indices)
    cdef const index_t* starts = _pointer(indptr)
    cdef double x
    cdef Span col
    with nogil:
        for jj in range(ws.shape[0]):
            j = ws[jj]
            col = _span(starts, j, n)
            if K == 1:
                out[jj, 0] = _column_dot(&values[0], rows, col, &G[0, 0])
                continue
            for c in range(K):
                out[jj, c] = 0.0
            for k in range(col.start, col.end):
                x = values[k]
                if x != 0.0:
                    i = _row(rows, col, k)
                    for c in range(K):
                        out[jj, c] += x * G[i, c]


def weighted_cross_csc(const floating[::1] values, const index_t[::1] indices,
                       const index_t[::1] indptr, const index_t[::1] rows,
                       const index_t[::1] cols, const double[::1] a, double[:, ::1] out):
    """Write ``X[:, rows]' diag(a) X[:, cols]`` to ``out`` (len(rows), len(cols)) for a CSC
    ``X`` (n = ``a.shape[0]`` rows): the Gram blocks of the least-squares Gram route.

    SciPy's sparse product (slice, scale, transpose, multiply, densify) spent about a third
    of a small solve's time in its Python layers (20,000 x 2,000, density 1e-2); here each
    entering column is scattered, weighted, into a dense buffer once and every row column is
    a gather-dot against it.
    """
    cdef Py_ssize_t n = a.shape[0], r, c, k, j
    cdef double total
    cdef double* buffer = <double*> calloc(n if n > 0 else 1, sizeof(double))
    if buffer == NULL:
        raise MemoryError()
    try:
        with nogil:
            for c in range(cols.shape[0]):
                j = cols[c]
                for k in range(indptr[j], indptr[j + 1]):
                    buffer[indices[k]] = a[indices[k]] * values[k]
                for r in range(rows.shape[0]):
                    j = rows[r]
                    total = 0.0
                    for k in range(indptr[j], indptr[j + 1]):
                        total += values[k] * buffer[indices[k]]
                    out[r, c] = total
                j = cols[c]
                for k in range(indptr[j], indptr[j + 1]):
                    buffer[indices[k]] = 0.0
    finally:
        free(buffer)
