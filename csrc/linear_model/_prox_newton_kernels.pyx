# cython: language_level=3
"""Kernels of the binary logistic loss: its value and conjugate (the NumPy path of
:class:`numsolve.linear_model.Logistic`) and the pieces of the proximal Newton route
(:mod:`numsolve.linear_model._prox_newton`).

``X`` enters as its columns ``(values, indices, indptr)`` as in :mod:`._cd` (CSC arrays, or
Fortran-ordered dense values with empty ``indices`` and ``indptr``); every check is made in
Python before a kernel is entered.
"""

from libc.math cimport NAN, exp, fabs, isfinite, isnan, log, sqrt
from libc.stdlib cimport free, malloc

include "_graph_types.pxi"
include "_cd_prox.pxi"
include "../_blas.pxi"

cdef extern from "_cd_simd.h" nogil:
    double ns_dot_f64(const double* x, const double* r, Py_ssize_t n)
    double ns_dot_f32(const float* x, const double* r, Py_ssize_t n)
    void ns_step_f64(const double* x, double alpha, const double* a, double* z, double* r,
                     Py_ssize_t n)
    void ns_step_f32(const float* x, double alpha, const double* a, double* z, double* r,
                     Py_ssize_t n)

# The loss's per-sample passes (value, second-order model, conjugate), vectorised: the
# library's scalar exponential and logarithms made most of a pass
cdef extern from "_logistic_math.h" nogil:
    double ns_logistic_model(const double* z, const double* y, const double* a,
                             double min_curvature, double* h, double* g, double* target,
                             Py_ssize_t n)
    double ns_logistic_loss(const double* z, const double* dz, double step, const double* y,
                            const double* a, Py_ssize_t n)
    double ns_logistic_conjugate(const double* g, const double* y, const double* a,
                                 Py_ssize_t n)


def newton_model(const double[::1] z, const double[::1] y, const double[::1] a,
                 double min_curvature, double[::1] h, double[::1] g, double[::1] target):
    """The logistic loss's second-order model at the predictor ``z``, in one pass.

    Fills the raw gradient ``g_i = -a_i y_i / (1 + exp(y_i z_i))``, the curvature
    ``h_i = a_i s_i (1 - s_i)`` (``s_i`` the sigmoid of ``z_i``), raised to
    ``min_curvature * a_i``, and the working response ``target_i = z_i - g_i / h_i``;
    returns the loss ``sum_i a_i log(1 + exp(-y_i z_i))``. One exponential per sample,
    of ``-|z_i|``: no overflow either way.
    """
    cdef Py_ssize_t n = z.shape[0]
    cdef double loss = 0.0
    if n > 0:
        with nogil:
            loss = ns_logistic_model(&z[0], &y[0], &a[0], min_curvature, &h[0], &g[0],
                                     &target[0], n)
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
    cdef Py_ssize_t n = z.shape[0]
    cdef double loss = 0.0
    if n > 0:
        with nogil:
            loss = ns_logistic_loss(&z[0], &dz[0], step, &y[0], &a[0], n)
    return loss


def logistic_conjugate(const double[::1] g, const double[::1] y, const double[::1] a):
    """``sum_i a_i (s_i log s_i + (1 - s_i) log(1 - s_i))`` with ``s_i = -g_i y_i / a_i``
    clipped to [0, 1] (rows with ``a_i = 0`` count zero): the loss's conjugate at the raw
    gradient ``g``."""
    cdef Py_ssize_t n = g.shape[0]
    cdef double total = 0.0
    if n > 0:
        with nogil:
            total = ns_logistic_conjugate(&g[0], &y[0], &a[0], n)
    return total


cdef double* _scratch(Py_ssize_t size) except NULL:
    """``size`` doubles from the heap (the caller frees them), or MemoryError."""
    cdef double* out = <double*>malloc(size * sizeof(double))
    if out == NULL:
        raise MemoryError()
    return out


ctypedef double (*TrialLoss)(void* problem, double t) noexcept nogil


cdef double _halving_search(TrialLoss loss, void* problem, double value, int tries,
                            double* t) noexcept nogil:
    """Halve ``t`` from one, up to ``tries`` lengths, until ``loss(problem, t) <= value``;
    returns that loss, or NaN (``t`` undefined) when no length lowers the loss."""
    cdef int attempt
    cdef double trial
    t[0] = 1.0
    for attempt in range(tries):
        trial = loss(problem, t[0])
        if trial <= value:
            return trial
        t[0] *= 0.5
    return NAN


cdef struct LogisticShift:
    const double* z
    const double* ones
    const double* y
    const double* a
    Py_ssize_t n
    double step


cdef double _logistic_trial(void* problem, double t) noexcept nogil:
    cdef LogisticShift* p = <LogisticShift*>problem
    return ns_logistic_loss(p.z, p.ones, -t * p.step, p.y, p.a, p.n)


cdef struct SoftmaxShift:
    const double* Z
    const double* step
    const double* y
    const double* a
    Py_ssize_t n
    Py_ssize_t K
    double* mean
    double* H


cdef double _softmax_trial(void* problem, double t) noexcept nogil:
    cdef SoftmaxShift* p = <SoftmaxShift*>problem
    return _softmax_pass(p.Z, p.step, t, p.y, p.a, p.n, p.K, p.mean, p.H)


def logistic_intercept_newton(double[::1] z, const double[::1] y, const double[::1] a,
                              int max_steps, int tries, double round_off):
    """Newton steps on the intercept alone, moving the predictor ``z`` in place; returns
    the intercept's total change.

    The loop of :func:`numsolve.linear_model._objective.newton_on_intercept` for the binary
    logistic loss: a step ``g / H`` (``g``, ``H`` the sums of the raw gradient and
    curvature, ``H`` raised by 1e-12), halved up to ``tries`` times until the loss does not
    increase (none: the refinement ends), the refinement ending at a zero gradient, at a
    step whose predicted decrease ``g step`` is at most ``round_off`` times the loss (taken
    untested) or at a step whose decrease rounds to zero. One model pass per step and one
    loss pass per trial, no array allocated in Python.
    """
    cdef Py_ssize_t i, n = z.shape[0]
    cdef double value, grad_sum, curvature_sum, step, t, moved = 0.0
    cdef int k
    cdef bint untested
    if n == 0:
        return 0.0
    cdef double* buffers = _scratch(4 * n)
    cdef double* h = buffers
    cdef double* g = buffers + n
    cdef double* target = buffers + 2 * n
    cdef double* ones = buffers + 3 * n
    cdef LogisticShift shift = LogisticShift(&z[0], ones, &y[0], &a[0], n, 0.0)
    with nogil:
        for i in range(n):
            ones[i] = 1.0
        value = ns_logistic_loss(&z[0], ones, 0.0, &y[0], &a[0], n)
        for k in range(max_steps):
            ns_logistic_model(&z[0], &y[0], &a[0], 0.0, h, g, target, n)
            grad_sum = 0.0
            curvature_sum = 0.0
            for i in range(n):
                grad_sum += g[i]
                curvature_sum += h[i]
            if fabs(grad_sum) <= 1e-15:
                break
            step = grad_sum / (curvature_sum + 1e-12)
            untested = grad_sum * step <= round_off * fabs(value)
            t = 1.0
            if not untested:
                shift.step = step
                value = _halving_search(_logistic_trial, &shift, value, tries, &t)
                if isnan(value):
                    break
            for i in range(n):
                z[i] -= t * step
            moved += t * step
            if untested or 0.5 * t * grad_sum * step <= 0.0:
                break
    free(buffers)
    return moved


cdef double _softmax_pass(const double* Z, const double* shift, double t, const double* y,
                          const double* a, Py_ssize_t n, Py_ssize_t K, double* mean,
                          double* H) noexcept nogil:
    """The softmax loss at the predictor ``Z - t shift`` (rows of ``K`` scores); fills
    ``mean = a'P`` and ``H = P' diag(a) P`` of its probabilities ``P``."""
    cdef Py_ssize_t i, k, l
    cdef double top, total, score, value = 0.0
    cdef double* p = H + K * K
    for k in range(K * K):
        H[k] = 0.0
    for k in range(K):
        mean[k] = 0.0
    for i in range(n):
        top = Z[i * K] - t * shift[0]
        for k in range(1, K):
            score = Z[i * K + k] - t * shift[k]
            top = score if score > top else top
        total = 0.0
        for k in range(K):
            p[k] = exp(Z[i * K + k] - t * shift[k] - top)
            total += p[k]
        k = <Py_ssize_t>y[i]
        value += a[i] * (top + log(total) - (Z[i * K + k] - t * shift[k]))
        for k in range(K):
            p[k] /= total
            mean[k] += a[i] * p[k]
            for l in range(K):
                H[k * K + l] += a[i] * p[k] * p[l]
    return value


cdef void _cholesky_solve(double* H, const double* g, double* x, Py_ssize_t K) noexcept nogil:
    """``x = H^-1 g`` for a symmetric positive definite ``H``, factored in place."""
    cdef Py_ssize_t i, j, k
    cdef double acc
    for j in range(K):
        acc = H[j * K + j]
        for k in range(j):
            acc -= H[j * K + k] * H[j * K + k]
        H[j * K + j] = sqrt(acc)
        for i in range(j + 1, K):
            acc = H[i * K + j]
            for k in range(j):
                acc -= H[i * K + k] * H[j * K + k]
            H[i * K + j] = acc / H[j * K + j]
    for i in range(K):
        acc = g[i]
        for k in range(i):
            acc -= H[i * K + k] * x[k]
        x[i] = acc / H[i * K + i]
    for i in range(K - 1, -1, -1):
        acc = x[i]
        for k in range(i + 1, K):
            acc -= H[k * K + i] * x[k]
        x[i] = acc / H[i * K + i]


def multinomial_intercept_newton(double[:, ::1] Z, const double[::1] y, const double[::1] a,
                                 const double[::1] masses, int max_steps, int tries,
                                 double round_off, double[::1] moved):
    """Newton steps on the intercept alone for the softmax loss, moving the predictor ``Z``
    (n x K, class indices ``y``, class masses ``masses``) in place and adding the
    intercept's total change to ``moved``.

    The loop of :func:`numsolve.linear_model._objective.newton_on_intercept` as the NumPy
    refinement runs it: the step solves ``(diag(a'P) - P' diag(a) P + 1e-12 I + 11'/K) s = g``
    with the gradient ``g = a'P - masses`` centred (unit curvature along ones, where the loss
    is flat), halved up to ``tries`` times until the loss does not increase; one pass over
    the samples per trial, no array allocated in Python.
    """
    cdef Py_ssize_t i, k, n = Z.shape[0], K = Z.shape[1]
    cdef double value, t, decrease, centre, top
    cdef int step_count
    cdef bint untested
    if n == 0 or K == 0:
        return
    # K each: mean, g, step, zero, trial mean; K * K + K each (a pass's scratch row after
    # the matrix): H, trial H
    cdef double* work = _scratch(7 * K + 2 * K * K)
    cdef double* mean = work
    cdef double* g = work + K
    cdef double* step = work + 2 * K
    cdef double* zero = work + 3 * K
    cdef double* trial_mean = work + 4 * K
    cdef double* H = work + 5 * K
    cdef double* trial_H = work + 6 * K + K * K
    cdef SoftmaxShift shift = SoftmaxShift(&Z[0, 0], step, &y[0], &a[0], n, K, trial_mean,
                                           trial_H)
    with nogil:
        for k in range(K):
            zero[k] = 0.0
        value = _softmax_pass(&Z[0, 0], zero, 0.0, &y[0], &a[0], n, K, mean, H)
        for step_count in range(max_steps):
            centre = 0.0
            for k in range(K):
                g[k] = mean[k] - masses[k]
                centre += g[k]
            centre /= K
            top = 0.0
            for k in range(K):
                g[k] -= centre
                top = fabs(g[k]) if fabs(g[k]) > top else top
            if top <= 1e-15:
                break
            for k in range(K):
                for i in range(K):
                    H[k * K + i] = -H[k * K + i] + 1.0 / K + (mean[k] + 1e-12 if i == k
                                                              else 0.0)
            _cholesky_solve(H, g, step, K)
            decrease = 0.0
            for k in range(K):
                decrease += g[k] * step[k]
            untested = decrease <= round_off * fabs(value)
            t = 1.0
            if not untested:
                value = _halving_search(_softmax_trial, &shift, value, tries, &t)
                if isnan(value):
                    break
                for k in range(K):
                    mean[k] = trial_mean[k]
                for k in range(K * K):
                    H[k] = trial_H[k]
            for i in range(n):
                for k in range(K):
                    Z[i, k] -= t * step[k]
            for k in range(K):
                moved[k] += t * step[k]
            if untested or 0.5 * t * decrease <= 0.0:
                break
    free(work)


cdef struct ModelSolve:
    # the model ``(1/2) sum_i h_i (z_i - t_i)^2 + g(w)`` on the working set, and its solve's
    # state: coefficients ``w`` (one per working-set feature) then the intercept, predictor
    # ``z`` and model residual ``r_i = h_i (z_i - t_i)``
    const double* h
    const double* target
    const int* ws
    const double* lips
    Py_ssize_t m
    Py_ssize_t n
    Penalty pen
    bint intercept
    double curvature_sum
    double* w
    double* z
    double* r


cdef inline double _column_dot(Py_ssize_t j, const floating* values, const index_t* rows,
                               const index_t* indptr, const double* r,
                               Py_ssize_t n) noexcept nogil:
    """``X_j' r`` (``rows`` NULL for a dense ``X``)."""
    cdef Py_ssize_t k, start, end
    cdef double s0 = 0.0, s1 = 0.0
    if rows == NULL:
        if floating is double:
            return ns_dot_f64(values + j * n, r, n)
        return ns_dot_f32(values + j * n, r, n)
    start, end = indptr[j], indptr[j + 1]
    # two partial sums: the gathers of consecutive entries overlap
    for k in range(start, end - 1, 2):
        s0 += values[k] * r[rows[k]]
        s1 += values[k + 1] * r[rows[k + 1]]
    if (end - start) % 2:
        s0 += values[end - 1] * r[rows[end - 1]]
    return s0 + s1


cdef inline void _column_step(Py_ssize_t j, const floating* values, const index_t* rows,
                              const index_t* indptr, double delta, const double* h, double* z,
                              double* r, Py_ssize_t n) noexcept nogil:
    """``z += delta X_j`` and ``r += h delta X_j``."""
    cdef Py_ssize_t k, i
    cdef double step
    if rows == NULL:
        if floating is double:
            ns_step_f64(values + j * n, delta, h, z, r, n)
        else:
            ns_step_f32(values + j * n, delta, h, z, r, n)
        return
    for k in range(indptr[j], indptr[j + 1]):
        i = rows[k]
        step = values[k] * delta
        z[i] += step
        r[i] += h[i] * step


cdef inline double _violation(double w, double grad, Penalty pen) noexcept nogil:
    """Distance of ``-grad`` to the penalty's subdifferential at ``w``."""
    cdef double v = grad + pen.l2 * w
    if w > 0.0:
        return fabs(v + pen.l1)
    if w < 0.0:
        return fabs(v - pen.l1)
    if pen.positive:
        return max(-v - pen.l1, 0.0)
    return max(fabs(v) - pen.l1, 0.0)


cdef double _pass(ModelSolve* s, const floating* values, const index_t* rows,
                  const index_t* indptr) noexcept nogil:
    """One coordinate pass over the working set, then the intercept's exact step; returns
    the largest violation met (each coordinate's as it was visited)."""
    cdef Py_ssize_t k, i
    cdef double L, grad, old, new, worst = 0.0, total
    for k in range(s.m):
        L = s.lips[s.ws[k]]
        if L <= 0.0:
            continue
        grad = _column_dot(s.ws[k], values, rows, indptr, s.r, s.n)
        old = s.w[k]
        worst = max(worst, _violation(old, grad, s.pen))
        new = prox(old - grad / L, 1.0 / L, s.pen)
        if new != old:
            s.w[k] = new
            _column_step(s.ws[k], values, rows, indptr, new - old, s.h, s.z, s.r, s.n)
    if s.intercept and s.curvature_sum > 0.0:
        total = 0.0
        for i in range(s.n):
            total += s.r[i]
        worst = max(worst, fabs(total))
        total /= s.curvature_sum
        s.w[s.m] -= total
        for i in range(s.n):
            s.z[i] -= total
            s.r[i] -= s.h[i] * total
    return worst


cdef double _model_value(ModelSolve* s, const double* w, const double* z) noexcept nogil:
    cdef Py_ssize_t i, k
    cdef double total = 0.0, d
    for i in range(s.n):
        d = z[i] - s.target[i]
        total += s.h[i] * d * d
    total *= 0.5
    for k in range(s.m):
        total += s.pen.l1 * fabs(w[k]) + 0.5 * s.pen.l2 * w[k] * w[k]
    return total


cdef bint _affine_weights(const double* iterates, Py_ssize_t depth, Py_ssize_t size,
                          double* C, double* weights) noexcept nogil:
    """Anderson's weights: ``c`` minimising ``||sum_k c_k (x_{k+1} - x_k)||`` subject to
    ``sum_k c_k = 1``, from the ``depth + 1`` iterates (rows of ``size``); False when the
    system is singular."""
    cdef Py_ssize_t i, j, k
    cdef double u, v, total
    for i in range(depth):
        for j in range(i, depth):
            total = 0.0
            for k in range(size):
                u = iterates[(i + 1) * size + k] - iterates[i * size + k]
                v = iterates[(j + 1) * size + k] - iterates[j * size + k]
                total += u * v
            C[i * depth + j] = total
            C[j * depth + i] = total
        weights[i] = 1.0
    if not solve_symmetric_system(<int>depth, C, weights):
        return False
    total = 0.0
    for i in range(depth):
        total += weights[i]
    if total == 0.0 or not isfinite(total):
        return False
    for i in range(depth):
        weights[i] /= total
    return True


cdef bint _anderson_candidate(ModelSolve* s, const double* iterates, Py_ssize_t depth,
                              double* scratch, double* w) noexcept nogil:
    """The Anderson combination of ``iterates`` into ``w`` (projected on ``w >= 0`` with
    ``positive``, the intercept kept without ``intercept``); ``scratch`` holds ``depth *
    (depth + 1)`` doubles. False when the weights' system is singular."""
    cdef Py_ssize_t size = s.m + 1, i, k
    cdef double* weights = scratch + depth * depth
    cdef double coef
    if not _affine_weights(iterates, depth, size, scratch, weights):
        return False
    for k in range(size):
        coef = 0.0
        for i in range(depth):
            coef += weights[i] * iterates[(i + 1) * size + k]
        w[k] = max(coef, 0.0) if s.pen.positive and k < s.m else coef
    if not s.intercept:
        w[s.m] = s.w[s.m]
    return True


cdef bint _extrapolate(ModelSolve* s, const floating* values, const index_t* rows,
                       const index_t* indptr, const double* iterates, Py_ssize_t depth,
                       double* scratch) noexcept nogil:
    """Replace the iterate by the Anderson combination of ``iterates`` when it lowers the
    model; ``scratch`` holds ``depth * (depth + 1) + m + 1 + n`` doubles."""
    cdef Py_ssize_t size = s.m + 1, n = s.n, i, k, j, p
    cdef double* w = scratch + depth * (depth + 1)
    cdef double* z = w + size
    if not _anderson_candidate(s, iterates, depth, scratch, w):
        return False
    for i in range(n):
        z[i] = w[s.m]
    for k in range(s.m):
        if w[k] == 0.0:
            continue
        j = s.ws[k]
        if rows == NULL:
            for i in range(n):
                z[i] += values[j * n + i] * w[k]
        else:
            for p in range(indptr[j], indptr[j + 1]):
                z[rows[p]] += values[p] * w[k]
    if not _model_value(s, w, z) < _model_value(s, s.w, s.z):
        return False
    for k in range(size):
        s.w[k] = w[k]
    for i in range(n):
        s.z[i] = z[i]
        s.r[i] = s.h[i] * (z[i] - s.target[i])
    return True


cdef double _gram_pass(const double* Q, double* grad, double* w, Py_ssize_t m, Penalty pen,
                       bint intercept) noexcept nogil:
    """:func:`_pass` on the model's Gram matrix ``Q`` (``size = m + 1`` square, the intercept
    last) with the model's gradient ``grad = Q w + c`` kept up to date: the same coordinate
    steps in the same order, ``O(m)`` each instead of ``O(n)``."""
    cdef Py_ssize_t k, j, size = m + 1
    cdef double L, old, new, delta, worst = 0.0
    for k in range(m):
        L = Q[k * size + k]
        if L <= 0.0:
            continue
        old = w[k]
        worst = max(worst, _violation(old, grad[k], pen))
        new = prox(old - grad[k] / L, 1.0 / L, pen)
        if new != old:
            w[k] = new
            delta = new - old
            for j in range(size):
                grad[j] += delta * Q[k * size + j]
    if intercept and Q[m * size + m] > 0.0:
        worst = max(worst, fabs(grad[m]))
        delta = -grad[m] / Q[m * size + m]
        w[m] += delta
        for j in range(size):
            grad[j] += delta * Q[m * size + j]
    return worst


cdef double _gram_model_value(const double* Q, const double* c, const double* w,
                              Py_ssize_t m, Penalty pen) noexcept nogil:
    """The model ``(1/2) w'Qw + c'w + g(w)``, up to its constant."""
    cdef Py_ssize_t k, j, size = m + 1
    cdef double total = 0.0, row
    for k in range(size):
        row = 0.0
        for j in range(size):
            row += Q[k * size + j] * w[j]
        total += w[k] * (0.5 * row + c[k])
    for k in range(m):
        total += pen.l1 * fabs(w[k]) + 0.5 * pen.l2 * w[k] * w[k]
    return total


cdef void _gram_gradient(const double* Q, const double* c, const double* w, double* grad,
                         Py_ssize_t size) noexcept nogil:
    """``grad = Q w + c``."""
    cdef Py_ssize_t k, j
    for k in range(size):
        grad[k] = c[k]
        for j in range(size):
            grad[k] += Q[k * size + j] * w[j]


cdef struct GramModel:
    # the model on the working set's Gram matrix: ``Q = X~' diag(h) X~`` (``X~`` the
    # working-set columns then ones, row-major, ``size = m + 1`` square), ``c`` with the
    # model's gradient ``Q w + c``, that gradient, and ``w`` when the solve moved to the Gram
    double* Q
    double* c
    double* grad
    double* start


cdef bint _to_gram(ModelSolve* s, const floating* values, GramModel* g) noexcept nogil:
    """Form the Gram model at the current iterate of a solve over dense columns: ``Q`` by
    one BLAS rank-n update of ``sqrt(h) X~``, the gradient ``X~' r`` from the residual (so
    that coefficients outside the working set count as the constant they are), and ``c =
    grad - Q w``; False when memory runs out."""
    cdef Py_ssize_t n = s.n, m = s.m, k, j, i
    cdef int size = <int>(m + 1), rows = <int>n
    cdef double one = 1.0, zero = 0.0
    cdef double* V = <double*>malloc(n * (m + 1) * sizeof(double))
    if V == NULL:
        return False
    for i in range(n):
        V[m * n + i] = sqrt(s.h[i])
    for k in range(m):
        j = s.ws[k]
        for i in range(n):
            V[k * n + i] = V[m * n + i] * values[j * n + i]
    dsyrk(b"U", b"T", &size, &rows, &one, V, &rows, &zero, g.Q, &size)
    free(V)
    for k in range(size):  # the column-major upper triangle mirrored: full, so row-major
        for j in range(k):
            g.Q[j * size + k] = g.Q[k * size + j]
    for k in range(m):
        j = s.ws[k]
        g.grad[k] = 0.0
        for i in range(n):
            g.grad[k] += values[j * n + i] * s.r[i]
    g.grad[m] = 0.0
    for i in range(n):
        g.grad[m] += s.r[i]
    for k in range(size):
        g.c[k] = g.grad[k]
        g.start[k] = s.w[k]
        for j in range(size):
            g.c[k] -= g.Q[k * size + j] * s.w[j]
    return True


cdef void _from_gram(ModelSolve* s, const floating* values, GramModel* g) noexcept nogil:
    """Move the predictor ``z`` by the coefficients' change since :func:`_to_gram`."""
    cdef Py_ssize_t n = s.n, k, j, i
    cdef double delta
    for k in range(s.m + 1):
        delta = s.w[k] - g.start[k]
        if delta == 0.0:
            continue
        j = s.ws[k] if k < s.m else -1
        for i in range(n):
            s.z[i] += delta * (values[j * n + i] if j >= 0 else 1.0)


cdef bint _gram_extrapolate(ModelSolve* s, GramModel* g, const double* iterates,
                            Py_ssize_t depth, double* scratch) noexcept nogil:
    """:func:`_extrapolate` on the Gram model (its values from ``Q``)."""
    cdef Py_ssize_t size = s.m + 1, k
    cdef double* w = scratch + depth * (depth + 1)
    if not _anderson_candidate(s, iterates, depth, scratch, w):
        return False
    if not (_gram_model_value(g.Q, g.c, w, s.m, s.pen)
            < _gram_model_value(g.Q, g.c, s.w, s.m, s.pen)):
        return False
    for k in range(size):
        s.w[k] = w[k]
    _gram_gradient(g.Q, g.c, s.w, g.grad, size)
    return True



cdef bint _long_solve(double first, double worst, double tol, int passes) noexcept nogil:
    """Whether a solve whose largest violation went from ``first`` (its first pass) to
    ``worst`` in ``passes`` passes needs more than as many again to reach ``tol`` at that
    geometric rate (no measured decrease, or no tolerance, counts as long). On tall data
    the solves that outlast the Gram's cost are mostly a pass or two from their end: 3
    Gram matrices formed for a pass or two each on 20000 x 100 (alpha_max/100) cost 9 %."""
    if not (tol > 0.0 and worst < first):
        return True
    return (passes - 1) * log(worst / tol) > passes * log(first / worst)


def solve_model(const floating[::1] values, const index_t[::1] indices,
                const index_t[::1] indptr, const double[::1] h, const double[::1] target,
                double curvature_sum, const int[::1] ws, const double[::1] lips,
                double l1, double l2, bint positive, bint intercept, double[::1] w,
                double[::1] z, int max_passes, double rtol, int depth, int gram_after=0):
    """Coordinate passes on the second-order model over the working set ``ws``, in place on
    ``w`` (the ``m`` working-set coefficients, then the intercept) and the predictor ``z``,
    until a pass meets no violation above ``rtol`` times the largest of the first pass, or
    ``max_passes`` have run.

    With ``gram_after`` (dense columns only; 0: never), a solve still running after that
    many passes, and predicted by its rate so far to need as many again
    (:func:`_long_solve`), goes on over the model's Gram matrix (:func:`_to_gram`): the same
    steps in the same order, each ``O(m)`` instead of ``O(n)``, the caller's ``gram_after``
    being what forming the Gram costs in passes.

    The model is ``(1/2) sum_i h_i (z_i - target_i)^2 + g(w)`` with ``lips[ws[k]] = sum_i h_i
    X_{i, ws[k]}^2`` (a coordinate of zero ``lips`` stays put); with ``intercept`` each pass
    ends with the intercept's exact step (``curvature_sum = sum_i h_i``). Every ``depth``
    passes (0: never) the Anderson combination of the last ``depth + 1`` iterates replaces
    the iterate when it lowers the model. A coordinate's violation is its distance to
    optimality as the pass visits it.

    Returns ``(passes, violation)``: the passes run and the last pass's largest violation.
    """
    cdef ModelSolve s
    cdef Py_ssize_t n = z.shape[0], m = ws.shape[0], size = m + 1, k, i, stored = 0
    cdef int passes = 0
    cdef double worst = 0.0, tol = 0.0
    cdef double* r
    cdef double* iterates
    cdef double* scratch
    cdef const index_t* rows = NULL
    cdef const index_t* starts = NULL
    if indptr.shape[0] > 0:
        rows, starts = &indices[0], &indptr[0]
    s.h, s.target, s.ws, s.lips, s.m, s.n = &h[0], &target[0], &ws[0], &lips[0], m, n
    s.pen.l1, s.pen.l2, s.pen.positive = l1, l2, positive
    s.intercept, s.curvature_sum = intercept, curvature_sum
    s.w, s.z = &w[0], &z[0]
    r = <double*>malloc((n + (depth + 1) * size + depth * (depth + 1) + size + n)
                        * sizeof(double))
    if r == NULL:
        raise MemoryError()
    iterates = r + n
    scratch = iterates + (depth + 1) * size
    s.r = r
    cdef GramModel g
    cdef bint on_gram = False
    cdef double* gram = NULL
    if gram_after > 0 and rows == NULL:
        gram = <double*>malloc((size * size + 3 * size) * sizeof(double))
        if gram == NULL:
            free(r)
            raise MemoryError()
        g.Q, g.c, g.grad, g.start = gram, gram + size * size, gram + size * size + size, \
            gram + size * size + 2 * size
    with nogil:
        for i in range(n):
            r[i] = h[i] * (z[i] - target[i])
        if depth > 0:
            for k in range(size):
                iterates[k] = s.w[k]
            stored = 1
        while passes < max_passes:
            if on_gram:
                worst = _gram_pass(g.Q, g.grad, s.w, m, s.pen, intercept)
            else:
                worst = _pass(&s, &values[0], rows, starts)
            passes += 1
            if passes == 1:
                tol = rtol * worst
            if worst <= tol:
                break
            if (gram != NULL and not on_gram and passes == gram_after
                    and _long_solve(tol / rtol if rtol > 0.0 else 0.0, worst, tol, passes)):
                on_gram = _to_gram(&s, &values[0], &g)
            if depth == 0:
                continue
            for k in range(size):
                iterates[stored * size + k] = s.w[k]
            stored += 1
            if stored == depth + 1:
                if on_gram:
                    _gram_extrapolate(&s, &g, iterates, depth, scratch)
                else:
                    _extrapolate(&s, &values[0], rows, starts, iterates, depth, scratch)
                for k in range(size):
                    iterates[k] = s.w[k]
                stored = 1
        if on_gram:
            _from_gram(&s, &values[0], &g)
    free(gram)
    free(r)
    return passes, worst


def softmax_support_derivatives(const double[:, ::1] XS, const int[::1] classes,
                                const int[::1] active, const double[:, ::1] Z,
                                const double[::1] y, const double[::1] a, double[::1] grad,
                                double[:, ::1] H):
    """The softmax loss's gradient and Hessian in the support variables of the Newton finish
    (:func:`numsolve.linear_model._newton.newton_finish`), in one pass over the samples.

    Variable ``r`` is column ``r`` of ``XS`` (n x M) in class ``classes[r]``; ``grad[r] =
    sum_i a_i x_ir (p_i[k_r] - [y_i = k_r])`` for every variable, and ``H[s, t] = sum_i a_i
    x_ir x_iq p_i[k_r] ([k_r = k_q] - p_i[k_q])`` for the variables ``r = active[s]``, ``q =
    active[t]`` (``p_i`` the softmax of row ``i`` of ``Z``). Costs ``O(n m^2)`` for ``m``
    active variables: the finish takes it on small supports, where the array code's dozen
    operations cost more than the arithmetic.
    """
    cdef Py_ssize_t n = XS.shape[0], M = XS.shape[1], K = Z.shape[1], m = active.shape[0]
    cdef Py_ssize_t i, k, r, s, t
    cdef double top, total, scaled
    cdef double* p = _scratch(K + 2 * m)
    cdef double* x = p + K  # x_ir over the active variables
    cdef double* v = x + m  # x_ir p_i[k_r] over the active variables
    with nogil:
        for r in range(M):
            grad[r] = 0.0
        for s in range(m):
            for t in range(m):
                H[s, t] = 0.0
        for i in range(n):
            top = Z[i, 0]
            for k in range(1, K):
                top = Z[i, k] if Z[i, k] > top else top
            total = 0.0
            for k in range(K):
                p[k] = exp(Z[i, k] - top)
                total += p[k]
            for k in range(K):
                p[k] /= total
            for r in range(M):
                grad[r] += a[i] * XS[i, r] * (p[classes[r]] - (1.0 if classes[r] == y[i]
                                                               else 0.0))
            for s in range(m):
                x[s] = XS[i, active[s]]
                v[s] = x[s] * p[classes[active[s]]]
            for s in range(m):
                scaled = a[i] * v[s]
                for t in range(s + 1):
                    H[s, t] += scaled * ((x[t] if classes[active[s]] == classes[active[t]]
                                          else 0.0) - v[t])
        for s in range(m):
            for t in range(s):
                H[t, s] = H[s, t]
    free(p)

