# cython: language_level=3
"""GBNN kernels: the boosting loop in one ``nogil`` call, the stage fit, the losses.

Base network ``activate(X W + c) V + d`` of ``J`` units; its parameters are one flat float64
vector ``theta`` in the order ``W`` (row-major, n_features x J), ``c``, ``V`` (row-major,
J x n_outputs), ``d``. Every stage of :func:`boost` runs without returning to Python:
pseudo-residuals, the row subsample, the least-squares fit of the stage's network (L-BFGS over
the hidden layer, the output layer solved exactly at every evaluation: variable projection),
its outputs on all rows, the safeguarded Newton step for its multiplier and the validation
loss. The random draws are made beforehand in Python, so the result depends on
``random_state`` only.

Numerics: products go to BLAS through ``scipy.linalg.cython_blas`` with the argument order of
a row-major product (``C' = B' A'`` in column-major terms), sums run in index order, and the
extension is built without floating-point contraction, so a fit gives the same bits for a
``random_state`` on every machine where OpenBLAS picks the same ``sgemm`` kernel. The logistic and tanh units use :func:`_exp_neg`, a
vectorisable exponential (range reduction and a degree-12 polynomial, ``../_vector_math.h``),
since the scalar ``exp`` dominated an evaluation; the elementwise loops of the stage fit are
in ``_loops.h``, compiled per vector width (the module itself targets baseline x86-64, two
doubles per instruction). The stage fit runs its two products with ``X`` in the
dtype of ``X`` (float32 inside :func:`boost`, halving their cost); everything else is
float64. Every shape is checked by the Python callers before a kernel is entered.
"""

import numpy as np

from libc.math cimport NAN, fabs, log, log1p, sqrt
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
include "../../_blas.pxi"

include "../_activations.pxi"

ctypedef fused floating:
    float
    double

cdef enum Loss:
    SQUARED = 0
    BINARY = 1
    MULTINOMIAL = 2

cdef double _INF = float("inf")
cdef int _MEMORY = 10  # L-BFGS pairs kept

cdef struct StageFit:
    # settings of one stage's least-squares fit
    int n_units
    int code
    double alpha
    int max_iter
    double tol


cdef struct Boosting:
    # settings of the boosting loop
    int loss
    double learning_rate
    int n_iter_no_change
    double tol


# ---------------------------------------------------------------------------------------------
# products with the row-major argument order of NumPy's ``dot``


cdef inline void _gemv(char trans, int m, int n, const floating* A, int lda,
                       const floating* x, floating* y) noexcept nogil:
    cdef int inc = 1
    cdef double one = 1.0, zero = 0.0
    cdef float one32 = 1.0, zero32 = 0.0
    if floating is float:
        sgemv(&trans, &m, &n, &one32, <float*>A, &lda, <float*>x, &inc, &zero32, y, &inc)
    else:
        dgemv(&trans, &m, &n, &one, <double*>A, &lda, <double*>x, &inc, &zero, y, &inc)


cdef inline void _matmul(const floating* A, bint a_transposed, const floating* B,
                         bint b_transposed, floating* C, int m, int n, int k) noexcept nogil:
    """``C = A B`` (m x n, row-major); a transposed operand is the transpose of a row-major
    array, e.g. ``A`` of shape (m, k) stored as (k, m).

    The BLAS call is NumPy's (and Numba's) for the same operands: a single row or column
    goes to ``gemv`` (both: ``dot``), anything else to ``gemm`` on the transposed problem.
    """
    cdef char ta = c't' if a_transposed else c'n'
    cdef char tb = c't' if b_transposed else c'n'
    cdef int lda = m if a_transposed else k
    cdef int ldb = k if b_transposed else n
    cdef int ldc = n, inc = 1
    cdef double one = 1.0, zero = 0.0
    cdef float one32 = 1.0, zero32 = 0.0
    if m == 1 and n == 1:
        if floating is float:
            C[0] = sdot(&k, <float*>A, &inc, <float*>B, &inc)
        else:
            C[0] = ddot(&k, <double*>A, &inc, <double*>B, &inc)
    elif n == 1:  # matrix times vector
        if a_transposed:
            _gemv(c'n', m, k, A, m, B, C)
        else:
            _gemv(c't', k, m, A, k, B, C)
    elif m == 1:  # vector times matrix
        if b_transposed:
            _gemv(c't', k, n, B, k, A, C)
        else:
            _gemv(c'n', n, k, B, n, A, C)
    elif floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &one32, <float*>B, &ldb, <float*>A, &lda, &zero32, C, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &one, <double*>B, &ldb, <double*>A, &lda, &zero, C, &ldc)


cdef inline double _dot(const double* x, const double* y, int n) noexcept nogil:
    cdef int inc = 1
    return ddot(&n, <double*>x, &inc, <double*>y, &inc)


# ---------------------------------------------------------------------------------------------
# exponential and hidden units


cdef extern from "../_vector_math.h":
    void numsolve_exp_neg(const double* z, double* out, Py_ssize_t size) noexcept nogil

cdef extern from "_loops.h":
    void numsolve_axpy(Py_ssize_t n, double a, const double* x, double* y) noexcept nogil
    void numsolve_waxpy(Py_ssize_t n, const double* x, double a, const double* y,
                        double* out) noexcept nogil
    void numsolve_scale(Py_ssize_t n, double a, double* x) noexcept nogil
    void numsolve_subtract(Py_ssize_t n, const double* x, const double* y,
                           double* out) noexcept nogil
    void numsolve_logistic_from_exp(Py_ssize_t n, double* H, double* D) noexcept nogil
    void numsolve_add_f32(Py_ssize_t n, const float* z, double c, double* out) noexcept nogil
    void numsolve_add_f64(Py_ssize_t n, const double* z, double c, double* out) noexcept nogil
    void numsolve_backprop1(Py_ssize_t n, double u, double v, const double* r, const double* d,
                            double* g) noexcept nogil
    void numsolve_round_f32(Py_ssize_t n, const double* x, float* out) noexcept nogil


cdef inline void _exp_neg(const double* z, double* out, Py_ssize_t size) noexcept nogil:
    """``out = exp(-z)`` (relative error ~1e-16, arguments clipped to +-700)."""
    numsolve_exp_neg(z, out, size)


cdef void _activate_into(double* Z, int code, double* H, double* D,
                         Py_ssize_t size) noexcept nogil:
    """Hidden units ``H = activate(Z)`` and derivatives ``D``; ``Z`` is overwritten."""
    cdef Py_ssize_t i
    cdef double s
    if code == LOGISTIC:
        _exp_neg(Z, H, size)
        numsolve_logistic_from_exp(size, H, D)
    elif code == TANH:  # tanh(z) = 2 / (1 + exp(-2 z)) - 1
        for i in range(size):
            Z[i] = Z[i] * 2.0
        _exp_neg(Z, H, size)
        for i in range(size):
            s = 2.0 / (1.0 + H[i]) - 1.0
            H[i] = s
            D[i] = 1.0 - s * s
    elif code == RELU:
        for i in range(size):
            H[i] = Z[i] if Z[i] > 0.0 else 0.0
            D[i] = 1.0 if Z[i] > 0.0 else 0.0
    else:
        for i in range(size):
            H[i] = Z[i]
            D[i] = 1.0


cdef void _forward(const double* X, const double* theta, int n, int p, int J, int k, int code,
                   double* out, double* work) noexcept nogil:
    """``out = activate(X W + c) V + d`` (n x k); ``work`` holds ``3 n J + p J + J k``."""
    cdef double* Z = work
    cdef double* H = work + n * J
    cdef double* D = work + 2 * n * J
    cdef double* W = work + 3 * n * J
    cdef double* V = W + p * J
    cdef int oc = p * J, od = p * J + J + J * k
    cdef Py_ssize_t i, j, o
    memcpy(W, theta, oc * sizeof(double))
    memcpy(V, theta + oc + J, J * k * sizeof(double))
    _matmul(X, False, W, False, Z, n, J, p)
    for i in range(n):
        for j in range(J):
            Z[i * J + j] = Z[i * J + j] + theta[oc + j]
    _activate_into(Z, code, H, D, n * J)
    _matmul(H, False, V, False, out, n, k, J)
    for i in range(n):
        for o in range(k):
            out[i * k + o] += theta[od + o]


cdef void _row_sums(const double* A, int rows, int cols, double* out) noexcept nogil:
    """``out[j] = sum_i A[j, i]`` (row-major), each sum in index order; four rows at a time,
    so that four independent additions are in flight instead of one."""
    cdef Py_ssize_t i, j = 0
    cdef double t0, t1, t2, t3
    while j + 4 <= rows:
        t0 = t1 = t2 = t3 = 0.0
        for i in range(cols):
            t0 += A[j * cols + i]
            t1 += A[(j + 1) * cols + i]
            t2 += A[(j + 2) * cols + i]
            t3 += A[(j + 3) * cols + i]
        out[j], out[j + 1], out[j + 2], out[j + 3] = t0, t1, t2, t3
        j += 4
    while j < rows:
        t0 = 0.0
        for i in range(cols):
            t0 += A[j * cols + i]
        out[j] = t0
        j += 1


# ---------------------------------------------------------------------------------------------
# variable projection: the output layer solved, the gradient in the hidden layer


cdef struct Projection:
    # work arrays of one stage fit, laid out unit by unit (n_units x n_samples)
    double* GT      # pre-activations plus bias, then (V V') H'
    double* HT
    double* DT
    double* MT
    double* A       # J x J
    double* VV      # J x J
    double* V       # J x k
    double* B       # J x k
    double* hm      # J
    double* stats   # column means of R and its centred sum of squares (k + 1)
    double* RT      # k x n
    double* HW      # H' scaled by the sample weights (J x n; NULL without weights)
    const double* R  # the targets, n x k (not owned)
    const double* sw  # sample weights, mean one (not owned; NULL: all ones)
    double wsum     # their sum (n without weights)
    void* ZT        # pre-activations (dtype of X), J x n
    void* dZT       # back-propagated residuals (dtype of X), J x n
    void* WT        # J x p
    void* gWT       # J x p
    void* XT        # p x n


cdef int _projection_alloc(Projection* w, const floating* X, const double* R, const double* sw,
                           int n, int p, int J, int k) noexcept nogil:
    """Allocate the work arrays for ``X`` (n x p), ``R`` (n x k) and the sample weights ``sw``
    (NULL: unweighted); 0 when memory ran out."""
    cdef size_t fsize = sizeof(floating)
    cdef Py_ssize_t i, o, q
    cdef double total
    w.R = R
    w.sw = sw
    w.wsum = n
    w.HW = NULL
    if sw != NULL:
        w.wsum = 0.0
        for i in range(n):
            w.wsum += sw[i]
        w.HW = <double*>malloc(n * J * sizeof(double))
    w.GT = <double*>malloc(n * J * sizeof(double))
    w.HT = <double*>malloc(n * J * sizeof(double))
    w.DT = <double*>malloc(n * J * sizeof(double))
    w.MT = <double*>malloc(n * J * sizeof(double))
    w.A = <double*>malloc(J * J * sizeof(double))
    w.VV = <double*>malloc(J * J * sizeof(double))
    w.V = <double*>malloc(J * k * sizeof(double))
    w.B = <double*>malloc(J * k * sizeof(double))
    w.hm = <double*>malloc(J * sizeof(double))
    w.stats = <double*>malloc((k + 1) * sizeof(double))
    w.RT = <double*>malloc(n * k * sizeof(double))
    w.ZT = malloc(n * J * fsize)
    w.dZT = malloc(n * J * fsize)
    w.WT = malloc(J * p * fsize)
    w.gWT = malloc(J * p * fsize)
    w.XT = malloc(n * p * fsize)
    if (w.GT == NULL or w.HT == NULL or w.DT == NULL or w.MT == NULL or w.A == NULL
            or w.VV == NULL or w.V == NULL or w.B == NULL or w.hm == NULL or w.stats == NULL
            or w.RT == NULL or w.ZT == NULL or w.dZT == NULL or w.WT == NULL or w.gWT == NULL
            or w.XT == NULL or (sw != NULL and w.HW == NULL)):
        return 0
    for o in range(k):
        total = 0.0
        for i in range(n):
            total += R[i * k + o] if sw == NULL else sw[i] * R[i * k + o]
        w.stats[o] = total / w.wsum
    w.stats[k] = 0.0
    for o in range(k):
        total = 0.0
        for i in range(n):
            if sw == NULL:
                total += (R[i * k + o] - w.stats[o]) * (R[i * k + o] - w.stats[o])
            else:
                total += sw[i] * (R[i * k + o] - w.stats[o]) * (R[i * k + o] - w.stats[o])
        w.stats[k] += total
    for i in range(n):
        for q in range(p):
            (<floating*>w.XT)[q * n + i] = X[i * p + q]
        for o in range(k):
            w.RT[o * n + i] = R[i * k + o]
    return 1


cdef void _projection_free(Projection* w) noexcept nogil:
    free(w.GT); free(w.HT); free(w.DT); free(w.MT); free(w.A); free(w.VV); free(w.V)
    free(w.B); free(w.hm); free(w.stats); free(w.RT); free(w.ZT); free(w.dZT); free(w.WT)
    free(w.gWT); free(w.XT); free(w.HW)


cdef double _ridge_output_layer(double* A, double* B, const double* hm, double wsum, int J,
                                int k, double alpha, const double* stats, double* theta, int ov,
                                double* V) noexcept nogil:
    """Minimise ``||H V + d - R||_S^2 + alpha ||V||^2`` (``S`` the sample weights, of sum
    ``wsum``) from ``A = H'SH``, ``B = H'SR`` (both overwritten), the weighted column means
    ``hm`` of ``H`` and ``stats`` of ``R``.

    ``V`` solves ``(Hc'Hc + alpha I) V = Hc'Rc`` (centred; Cholesky of the J x J matrix) and
    ``d = mean(R) - mean(H) V``; both go to ``theta[ov:]`` and ``V`` to ``V``. Returns the
    minimum ``||Rc||^2 - <V, Hc'Rc>``.
    """
    cdef Py_ssize_t i, j, q, o
    cdef double s, fit = 0.0
    for j in range(J):
        for o in range(k):
            B[j * k + o] -= wsum * hm[j] * stats[o]
        for q in range(J):
            A[j * J + q] -= wsum * hm[j] * hm[q]
        A[j * J + j] += alpha
    for j in range(J):  # Cholesky, lower triangle in place
        for q in range(j):
            A[j * J + j] -= A[j * J + q] * A[j * J + q]
        A[j * J + j] = sqrt(A[j * J + j] if A[j * J + j] > 1e-300 else 1e-300)
        for i in range(j + 1, J):
            for q in range(j):
                A[i * J + j] -= A[i * J + q] * A[j * J + q]
            A[i * J + j] /= A[j * J + j]
    for o in range(k):
        for j in range(J):
            s = B[j * k + o]
            for q in range(j):
                s -= A[j * J + q] * V[q * k + o]
            V[j * k + o] = s / A[j * J + j]
        for j in range(J - 1, -1, -1):
            s = V[j * k + o]
            for q in range(j + 1, J):
                s -= A[q * J + j] * V[q * k + o]
            V[j * k + o] = s / A[j * J + j]
        s = stats[o]
        for j in range(J):
            s -= hm[j] * V[j * k + o]
            theta[ov + j * k + o] = V[j * k + o]
            fit += V[j * k + o] * B[j * k + o]
        theta[ov + J * k + o] = s
    return stats[k] - fit


cdef double _projected_loss(const floating* X, double* theta, int n, int p, int J, int k,
                            int code, double alpha, Projection* w) noexcept nogil:
    """Stage objective at the hidden layer of ``theta`` and the optimal output layer, which
    overwrites the output layer of ``theta``; the hidden units and their derivatives stay in
    ``w`` for :func:`_projected_grad`."""
    cdef floating* ZT = <floating*>w.ZT
    cdef floating* WT = <floating*>w.WT
    cdef int oc = p * J, ov = p * J + J
    cdef Py_ssize_t i, j, q
    cdef double weight, loss
    cdef double* HW = w.HT  # H' S (S the sample weights)
    for q in range(p):
        for j in range(J):
            WT[j * p + q] = <floating>theta[q * J + j]
    _matmul(WT, False, <floating*>w.XT, False, ZT, J, n, p)
    for j in range(J):
        if floating is float:
            numsolve_add_f32(n, ZT + j * n, theta[oc + j], w.GT + j * n)
        else:
            numsolve_add_f64(n, ZT + j * n, theta[oc + j], w.GT + j * n)
    _activate_into(w.GT, code, w.HT, w.DT, J * n)
    if w.sw != NULL:
        HW = w.HW
        for j in range(J):
            for i in range(n):
                HW[j * n + i] = w.HT[j * n + i] * w.sw[i]
    _row_sums(HW, J, n, w.hm)
    for j in range(J):
        w.hm[j] = w.hm[j] / w.wsum
    _matmul(HW, False, w.HT, True, w.A, J, J, n)
    _matmul(HW, False, w.R, False, w.B, J, k, n)
    loss = _ridge_output_layer(w.A, w.B, w.hm, w.wsum, J, k, alpha, w.stats, theta, ov, w.V)
    for q in range(p):
        for j in range(J):
            weight = theta[q * J + j]
            loss += alpha * weight * weight
    return loss / (2 * n)


cdef void _projected_grad(const floating* X, const double* theta, int n, int p, int J, int k,
                          double alpha, double* grad, Projection* w) noexcept nogil:
    """Gradient of the projected objective in ``W, c`` (envelope theorem; zeros for ``V, d``)
    at the ``theta`` that :func:`_projected_loss` evaluated last."""
    cdef floating* dZT = <floating*>w.dZT
    cdef floating* gWT = <floating*>w.gWT
    cdef int oc = p * J, ov = p * J + J, od = p * J + J + J * k
    cdef Py_ssize_t i, j, q, o, size = p * J + J + J * k + k
    cdef double u
    # (E V')' = (V V') H' + (V d) 1' - V R', without forming the residuals E
    if k == 1:  # an outer product, each entry one product (as BLAS rounds it): no call
        for j in range(J):
            for q in range(J):
                w.VV[j * J + q] = w.V[j] * w.V[q]
    else:
        _matmul(w.V, False, w.V, True, w.VV, J, J, k)
    _matmul(w.VV, False, w.HT, False, w.GT, J, n, J)
    if k > 1:
        _matmul(w.V, False, w.RT, False, w.MT, J, n, k)
    for j in range(J):  # back-propagated residuals into GT, elementwise (vectorised)
        u = 0.0
        for o in range(k):
            u += w.V[j * k + o] * theta[od + o]
        if k == 1:  # V R' is an outer product, each entry one product: no BLAS call, no pass
            numsolve_backprop1(n, u, w.V[j], w.RT, w.DT + j * n, w.GT + j * n)
        else:
            for i in range(n):
                w.GT[j * n + i] = (w.GT[j * n + i] + u - w.MT[j * n + i]) * w.DT[j * n + i]
        if w.sw != NULL:
            for i in range(n):
                w.GT[j * n + i] = w.GT[j * n + i] * w.sw[i]
        if floating is float:
            numsolve_round_f32(n, w.GT + j * n, dZT + j * n)
        else:
            memcpy(dZT + j * n, w.GT + j * n, n * sizeof(double))
    _row_sums(w.GT, J, n, grad + oc)
    for j in range(J):
        grad[oc + j] = grad[oc + j] / n
    _matmul(dZT, False, X, False, gWT, J, p, n)
    for q in range(p):
        for j in range(J):
            grad[q * J + j] = (gWT[j * p + q] + alpha * theta[q * J + j]) / n
    for q in range(ov, size):
        grad[q] = 0.0


cdef double _projected_loss_grad(const floating* X, double* theta, int n, int p, int J, int k,
                                 int code, double alpha, double* grad,
                                 Projection* w) noexcept nogil:
    """:func:`_projected_loss` and then :func:`_projected_grad` at ``theta``."""
    cdef double loss = _projected_loss(X, theta, n, p, J, k, code, alpha, w)
    _projected_grad(X, theta, n, p, J, k, alpha, grad, w)
    return loss


# ---------------------------------------------------------------------------------------------
# L-BFGS over the hidden layer


cdef double _max_abs(const double* x, Py_ssize_t size) noexcept nogil:
    """Largest ``|x[q]|`` (0 for none; NaN entries are passed over), four running maxima at a
    time: a maximum is exact in any order, and four chains of comparisons run in parallel
    where one would wait on each."""
    cdef Py_ssize_t q = 0
    cdef double m0 = 0.0, m1 = 0.0, m2 = 0.0, m3 = 0.0
    while q + 4 <= size:
        m0 = fabs(x[q]) if fabs(x[q]) > m0 else m0
        m1 = fabs(x[q + 1]) if fabs(x[q + 1]) > m1 else m1
        m2 = fabs(x[q + 2]) if fabs(x[q + 2]) > m2 else m2
        m3 = fabs(x[q + 3]) if fabs(x[q + 3]) > m3 else m3
        q += 4
    while q < size:
        m0 = fabs(x[q]) if fabs(x[q]) > m0 else m0
        q += 1
    m0 = m1 if m1 > m0 else m0
    m2 = m3 if m3 > m2 else m2
    return m2 if m2 > m0 else m0


cdef inline Py_ssize_t _wrap(Py_ssize_t index, Py_ssize_t memory) noexcept nogil:
    """``index % memory`` rounded towards minus infinity (Python's modulo)."""
    return ((index % memory) + memory) % memory


cdef double _lbfgs(const floating* X, const double* R, const double* sw, double* theta, int n,
                   int p, int k, StageFit* fit, int* n_iter_out) noexcept nogil:
    """Minimise the projected stage objective over ``W, c`` of ``theta`` (in place); ``sw``
    the sample weights (mean one; NULL: unweighted).

    Two-loop recursion with ``_MEMORY`` pairs and Armijo backtracking; stops after
    ``max_iter`` iterations, when the largest gradient entry is at most ``tol``, or when an
    iteration lowers the loss by at most ``tol`` relative to its value. Returns the loss
    (NaN when memory ran out).
    """
    cdef int J = fit.n_units
    cdef Py_ssize_t size = p * J + J + J * k + k, m = p * J + J
    cdef Py_ssize_t q, it, back, fwd, slot, last, stored = 0, head = 0, attempt
    cdef int memory = _MEMORY
    cdef Projection w
    cdef double loss, loss_new, gamma, b, slope, step, sy, decrease
    cdef bint accepted
    cdef double* S = <double*>malloc(memory * m * sizeof(double))
    cdef double* Y = <double*>malloc(memory * m * sizeof(double))
    cdef double* rho = <double*>malloc(memory * sizeof(double))
    cdef double* a = <double*>malloc(memory * sizeof(double))
    cdef double* g = <double*>malloc(size * sizeof(double))
    cdef double* g_new = <double*>malloc(size * sizeof(double))
    cdef double* trial = <double*>malloc(size * sizeof(double))
    cdef double* s_vec = <double*>malloc(m * sizeof(double))
    cdef double* y_vec = <double*>malloc(m * sizeof(double))
    cdef double* direction = <double*>malloc(m * sizeof(double))
    cdef bint ready = _projection_alloc(&w, X, R, sw, n, p, J, k)
    n_iter_out[0] = 0
    loss = NAN
    if (ready and S != NULL and Y != NULL and rho != NULL and a != NULL and g != NULL
            and g_new != NULL and trial != NULL and s_vec != NULL and y_vec != NULL
            and direction != NULL):
        memcpy(trial, theta, size * sizeof(double))
        loss = _projected_loss_grad(X, theta, n, p, J, k, fit.code, fit.alpha, g, &w)
        for it in range(fit.max_iter):
            if _max_abs(g, size) <= fit.tol:
                break
            for q in range(m):
                direction[q] = -g[q]
            for back in range(stored):  # two-loop recursion
                slot = _wrap(head - 1 - back, memory)
                a[slot] = rho[slot] * _dot(S + slot * m, direction, m)
                numsolve_axpy(m, -a[slot], Y + slot * m, direction)  # d - a y, exactly
            if stored > 0:
                last = _wrap(head - 1, memory)
                gamma = _dot(S + last * m, Y + last * m, m) / _dot(Y + last * m, Y + last * m, m)
                numsolve_scale(m, gamma, direction)
            for fwd in range(stored):
                slot = _wrap(head - stored + fwd, memory)
                b = rho[slot] * _dot(Y + slot * m, direction, m)
                numsolve_axpy(m, a[slot] - b, S + slot * m, direction)
            slope = _dot(g, direction, m)
            if slope >= 0.0:  # not a descent direction: restart from steepest descent
                for q in range(m):
                    direction[q] = -g[q]
                slope = -_dot(direction, direction, m)
                stored = 0
            step = 1.0 if stored > 0 else min(1.0, 1.0 / sqrt(-slope))
            accepted = False
            for attempt in range(40):
                numsolve_waxpy(m, theta, step, direction, trial)
                loss_new = _projected_loss(X, trial, n, p, J, k, fit.code, fit.alpha, &w)
                if loss_new <= loss + 1e-4 * step * slope:
                    accepted = True
                    break
                step *= 0.5
            if not accepted:
                break
            n_iter_out[0] = it + 1
            decrease = loss - loss_new
            if it + 1 == fit.max_iter or decrease <= fit.tol * max(fabs(loss_new), 1e-300):
                # the last iteration: its gradient would go unused
                memcpy(theta, trial, size * sizeof(double))
                loss = loss_new
                break
            # the gradient only at the accepted point, not at rejected trials
            _projected_grad(X, trial, n, p, J, k, fit.alpha, g_new, &w)
            numsolve_subtract(m, trial, theta, s_vec)
            numsolve_subtract(m, g_new, g, y_vec)
            sy = _dot(s_vec, y_vec, m)
            if sy > 1e-12 * _dot(y_vec, y_vec, m):
                memcpy(S + head * m, s_vec, m * sizeof(double))
                memcpy(Y + head * m, y_vec, m * sizeof(double))
                rho[head] = 1.0 / sy
                head = (head + 1) % memory
                stored = min(stored + 1, memory)
            memcpy(theta, trial, size * sizeof(double))
            memcpy(g, g_new, size * sizeof(double))
            loss = loss_new
    _projection_free(&w)
    free(S); free(Y); free(rho); free(a); free(g); free(g_new); free(trial); free(s_vec)
    free(y_vec); free(direction)
    return loss


cdef double _fit_stage(const floating* X, const double* R, const double* sw, double* theta,
                       int n, int p, int k, StageFit* fit) noexcept nogil:
    """Fit the stage network to ``R`` from ``theta`` (in place) on standardised columns of
    ``R``, the output layer mapped back afterwards; ``sw`` the sample weights (mean one;
    NULL: unweighted). Returns the standardised objective."""
    cdef int J = fit.n_units
    cdef int ov = p * J + J, od = p * J + J + J * k
    cdef Py_ssize_t i, o, j
    cdef int n_iter
    cdef double loss, wsum = n
    cdef double* center = <double*>malloc(k * sizeof(double))
    cdef double* scale = <double*>malloc(k * sizeof(double))
    cdef double* Rs = <double*>malloc(n * k * sizeof(double))
    if center == NULL or scale == NULL or Rs == NULL:
        free(center); free(scale); free(Rs)
        return NAN
    for o in range(k):
        center[o] = 0.0
        scale[o] = 0.0
    if sw != NULL:
        wsum = 0.0
        for i in range(n):
            wsum += sw[i]
    for i in range(n):
        for o in range(k):
            center[o] += R[i * k + o] if sw == NULL else sw[i] * R[i * k + o]
    for o in range(k):
        center[o] /= wsum
    for i in range(n):
        for o in range(k):
            if sw == NULL:
                scale[o] += (R[i * k + o] - center[o]) * (R[i * k + o] - center[o])
            else:
                scale[o] += sw[i] * (R[i * k + o] - center[o]) * (R[i * k + o] - center[o])
    for o in range(k):
        scale[o] = sqrt(scale[o] / wsum)
        if scale[o] == 0.0:
            scale[o] = 1.0
    for i in range(n):
        for o in range(k):
            Rs[i * k + o] = (R[i * k + o] - center[o]) / scale[o]
    loss = _lbfgs(X, Rs, sw, theta, n, p, k, fit, &n_iter)
    for j in range(J):
        for o in range(k):
            theta[ov + j * k + o] *= scale[o]
    for o in range(k):
        theta[od + o] = theta[od + o] * scale[o] + center[o]
    free(center); free(scale); free(Rs)
    return loss


# ---------------------------------------------------------------------------------------------
# losses: half squared error, sigmoid log-loss (labels 0/1), softmax log-loss (one-hot)


cdef void _shifted_exp(const double* F, const double* f, double rho, int n, int k, double* E,
                       double* G, double* top) noexcept nogil:
    """``E = exp(z - max z)`` row by row for the scores ``z = F + rho f``; ``top`` the maxima."""
    cdef Py_ssize_t i, o
    cdef double t
    for i in range(n):
        t = F[i * k] + rho * f[i * k]
        for o in range(1, k):
            t = max(t, F[i * k + o] + rho * f[i * k + o])
        top[i] = t
        for o in range(k):
            G[i * k + o] = t - F[i * k + o] - rho * f[i * k + o]
    _exp_neg(G, E, n * k)


cdef double _loss_value(const double* Y, const double* F, const double* f, double rho,
                        const double* sw, double wsum, int n, int k, int loss,
                        double* buf) noexcept nogil:
    """Mean loss at the scores ``F + rho f``, weighted by ``sw`` of sum ``wsum``; ``buf`` holds
    ``2 n k + n`` entries."""
    cdef Py_ssize_t i, o
    cdef double total = 0.0, e, z, s, picked
    cdef double* E = buf
    cdef double* G = buf + n * k
    cdef double* top = buf + 2 * n * k
    if loss == SQUARED:  # one column per target
        for i in range(n):
            for o in range(k):
                e = Y[i * k + o] - F[i * k + o] - rho * f[i * k + o]
                total += sw[i] * (0.5 * e * e)
    elif loss == BINARY:  # softplus(z) - y z = max(z, 0) + log1p(exp(-|z|)) - y z
        for i in range(n):
            G[i] = fabs(F[i] + rho * f[i])
        _exp_neg(G, E, n)
        for i in range(n):
            z = F[i] + rho * f[i]
            total += sw[i] * (max(z, 0.0) + log1p(E[i]) - Y[i] * z)
    else:
        _shifted_exp(F, f, rho, n, k, E, G, top)
        for i in range(n):
            s = 0.0
            picked = 0.0
            for o in range(k):
                s += E[i * k + o]
                picked += Y[i * k + o] * (F[i * k + o] + rho * f[i * k + o])
            total += sw[i] * (top[i] + log(s) - picked)
    return total / wsum


cdef void _residuals_into(const double* Y, const double* F, int n, int k, int loss, double* R,
                          double* buf) noexcept nogil:
    """Pseudo-residuals (negative gradient) ``Y - F`` or ``Y - p`` into ``R``."""
    cdef Py_ssize_t i, o
    cdef double s
    cdef double* E = buf
    if loss == SQUARED:  # one column per target
        for i in range(n * k):
            R[i] = Y[i] - F[i]
    elif loss == BINARY:
        _exp_neg(F, R, n)
        for i in range(n):
            R[i] = Y[i] - 1.0 / (1.0 + R[i])
    else:
        _shifted_exp(F, F, 0.0, n, k, E, buf + n * k, buf + 2 * n * k)
        for i in range(n):
            s = 0.0
            for o in range(k):
                s += E[i * k + o]
            for o in range(k):
                R[i * k + o] = Y[i * k + o] - E[i * k + o] / s


cdef double _newton_step(const double* Y, const double* R, const double* f, const double* sw,
                         int n, int k, int loss) noexcept nogil:
    """Newton step for the multiplier of ``f``: ``sum s r f / sum s f^2`` (squared error, its
    exact minimiser) or ``sum s r f / sum s f^2 p (1 - p)``, ``p = Y - R``, ``s`` the sample
    weights ``sw``; 0 on a zero denominator."""
    cdef Py_ssize_t i, o, q
    cdef double num = 0.0, den = 0.0, prob
    for i in range(n):
        for o in range(k):
            q = i * k + o
            num += sw[i] * R[q] * f[q]
            if loss == SQUARED:
                den += sw[i] * f[q] * f[q]
            else:
                prob = Y[q] - R[q]
                den += sw[i] * f[q] * f[q] * prob * (1.0 - prob)
    return num / den if den > 0.0 else 0.0


# ---------------------------------------------------------------------------------------------
# the boosting loop


cdef struct Track:
    # early-stopping state carried between calls
    double best
    Py_ssize_t best_stage
    Py_ssize_t start
    Py_ssize_t since_best


cdef Py_ssize_t _boost(const double* X, const double* Y, double* F, const double* sw,
                       const double* Xv, const double* Yv, double* Fv, const double* swv,
                       bint weighted, int n, int nv, int p, int k, const long long* rows,
                       int n_new, int n_sub, double* thetas, StageFit* fit, Boosting* rule,
                       Track* track, double* rhos, double* train, double* val) noexcept nogil:
    """Fit up to ``n_new`` stages; returns the number fitted (-1 when memory ran out).

    ``sw``, ``swv``: sample weights of the training and validation rows; unless ``weighted``
    they are all ones and the stage fits take the unweighted route.
    """
    cdef int J = fit.n_units
    cdef Py_ssize_t size = p * J + J + J * k + k, t, a, q, i, n_fitted = 0
    cdef bint validate = nv > 0
    cdef double current, rho, value, wsum = 0.0, wsum_v = 0.0, wsum_sub
    cdef double* theta
    cdef double* R = <double*>malloc(n * k * sizeof(double))
    cdef float* Xs = <float*>malloc(n_sub * p * sizeof(float))
    cdef double* Rs = <double*>malloc(n_sub * k * sizeof(double))
    cdef double* Ws = <double*>malloc(n_sub * sizeof(double))
    cdef double* f = <double*>malloc(n * k * sizeof(double))
    cdef double* fv = <double*>malloc((nv * k + 1) * sizeof(double))
    cdef double* work = <double*>malloc((3 * n * J + p * J + J * k) * sizeof(double))
    cdef double* work_v = <double*>malloc((3 * nv * J + p * J + J * k) * sizeof(double))
    cdef double* buf = <double*>malloc((2 * n * k + n) * sizeof(double))
    cdef double* buf_v = <double*>malloc((2 * nv * k + nv + 1) * sizeof(double))
    if (R == NULL or Xs == NULL or Rs == NULL or Ws == NULL or f == NULL or fv == NULL
            or work == NULL or work_v == NULL or buf == NULL or buf_v == NULL):
        n_fitted = -1
    else:
        for i in range(n):
            wsum += sw[i]
        for i in range(nv):
            wsum_v += swv[i]
        current = _loss_value(Y, F, F, 0.0, sw, wsum, n, k, rule.loss, buf)
        for t in range(n_new):
            _residuals_into(Y, F, n, k, rule.loss, R, buf)
            wsum_sub = 0.0
            for a in range(n_sub):
                i = rows[t * n_sub + a]
                for q in range(p):
                    Xs[a * p + q] = <float>X[i * p + q]  # the stage fits run in float32
                for q in range(k):
                    Rs[a * k + q] = R[i * k + q]
                Ws[a] = sw[i]
                wsum_sub += sw[i]
            for a in range(n_sub):  # mean one, so alpha weighs as without weights
                Ws[a] = Ws[a] * (n_sub / wsum_sub)
            theta = thetas + t * size
            _fit_stage(Xs, Rs, Ws if weighted else NULL, theta, n_sub, p, k, fit)
            _forward(X, theta, n, p, J, k, fit.code, f, work)
            rho = rule.learning_rate * _newton_step(Y, R, f, sw, n, k, rule.loss)
            value = _loss_value(Y, F, f, rho, sw, wsum, n, k, rule.loss, buf)
            while rho != 0.0 and value > current:  # safeguard: never raise the loss
                rho /= 2
                if fabs(rho) < 1e-12:
                    rho = 0.0
                value = _loss_value(Y, F, f, rho, sw, wsum, n, k, rule.loss, buf)
            for q in range(n * k):
                F[q] += rho * f[q]
            rhos[t] = rho
            train[t] = value
            current = value
            n_fitted = t + 1
            if validate:
                _forward(Xv, theta, nv, p, J, k, fit.code, fv, work_v)
                for q in range(nv * k):
                    Fv[q] += rho * fv[q]
                val[t] = _loss_value(Yv, Fv, Fv, 0.0, swv, wsum_v, nv, k, rule.loss, buf_v)
                if not track.best < _INF or val[t] < track.best - rule.tol * fabs(track.best):
                    track.best = val[t]
                    track.best_stage = track.start + t + 1
                    track.since_best = 0
                else:
                    track.since_best += 1
                    if track.since_best >= rule.n_iter_no_change:
                        break
        if not validate:
            track.best_stage = track.start + n_fitted
    free(R); free(Xs); free(Rs); free(Ws); free(f); free(fv); free(work); free(work_v); free(buf)
    free(buf_v)
    return n_fitted


# ---------------------------------------------------------------------------------------------
# Python entry points (arrays C-contiguous, shapes checked by the callers)


def boost(const double[:, ::1] X, const double[:, ::1] Y, double[:, ::1] F,
          const double[::1] sw, const double[:, ::1] Xv, const double[:, ::1] Yv,
          double[:, ::1] Fv, const double[::1] swv, bint weighted,
          const long long[:, ::1] rows, double[:, ::1] thetas, stage, rule, track):
    """Fit ``thetas.shape[0]`` stages; ``F``, ``Fv`` and ``thetas`` are updated in place.

    ``sw``, ``swv``: sample weights of the training and validation rows (all ones unless
    ``weighted``; the stage fits see them normalised to mean one in each subsample). ``stage``: (n_units, activation code, alpha, max_iter, tol) of the stage fits; ``rule``:
    (loss code, learning_rate, n_iter_no_change, tol) of the loop; ``track``: (best
    validation loss, its stage count, stages fitted before, stages since the best).

    Returns
    -------
    rhos, train, val : ndarrays of the stages fitted
        Multipliers, training and validation losses (``val`` empty without validation rows).
    best_stage : int
        Stage count of the best validation loss (``start + n_fitted`` without validation).
    """
    cdef StageFit fit
    cdef Boosting loop
    cdef Track state
    fit.n_units, fit.code, fit.alpha, fit.max_iter, fit.tol = stage
    loop.loss, loop.learning_rate, loop.n_iter_no_change, loop.tol = rule
    state.best, state.best_stage, state.start, state.since_best = track
    cdef int n_new = rows.shape[0]
    rhos_arr = np.zeros(n_new)
    train_arr = np.zeros(n_new)
    val_arr = np.zeros(n_new)
    cdef double[::1] rhos = rhos_arr, train = train_arr, val = val_arr
    cdef Py_ssize_t n_fitted = 0
    cdef double empty = 0.0
    if n_new > 0:
        with nogil:
            n_fitted = _boost(&X[0, 0], &Y[0, 0], &F[0, 0], &sw[0],
                              &Xv[0, 0] if Xv.shape[0] > 0 else &empty,
                              &Yv[0, 0] if Yv.shape[0] > 0 else &empty,
                              &Fv[0, 0] if Fv.shape[0] > 0 else &empty,
                              &swv[0] if swv.shape[0] > 0 else &empty, weighted,
                              X.shape[0], Xv.shape[0], X.shape[1], Y.shape[1], &rows[0, 0],
                              n_new, rows.shape[1], &thetas[0, 0], &fit, &loop, &state,
                              &rhos[0], &train[0], &val[0])
    else:
        state.best_stage = state.start if Xv.shape[0] == 0 else state.best_stage
    if n_fitted < 0:
        raise MemoryError("GBNN: out of memory for the boosting work arrays")
    n_val = n_fitted if Xv.shape[0] > 0 else 0
    return (rhos_arr[:n_fitted], train_arr[:n_fitted], val_arr[:n_val],
            int(state.best_stage))


def forward_into(const double[:, ::1] X, const double[::1] theta, int n_units, int code,
                 double[:, ::1] out):
    """Outputs ``activate(X W + c) V + d`` of the flat parameters ``theta`` into ``out``."""
    cdef int n = X.shape[0], p = X.shape[1], k = out.shape[1]
    if n == 0:
        return
    cdef double* work = <double*>malloc((3 * n * n_units + p * n_units + n_units * k)
                                        * sizeof(double))
    if work == NULL:
        raise MemoryError()
    with nogil:
        _forward(&X[0, 0], &theta[0], n, p, n_units, k, code, &out[0, 0], work)
    free(work)


cdef inline const double* _weights_or_null(const double[::1] sample_weight) noexcept:
    return NULL if sample_weight is None else &sample_weight[0]


def fit_stage(const floating[:, ::1] X, const double[:, ::1] R, double[::1] theta,
              int n_units, int code, double alpha, int max_iter, double tol,
              const double[::1] sample_weight=None):
    """Fit the stage network to ``R`` by L-BFGS from ``theta`` (updated in place).

    The columns of ``R`` are standardised for the fit (``alpha`` applies to the standardised
    problem) and the output layer mapped back, so ``theta`` predicts ``R`` itself. Returns the
    standardised objective. ``sample_weight`` (mean one for ``alpha`` to weigh as without
    weights) weights each row's squared error.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural.gbnn._boost import fit_stage, forward_into
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(50, 2); R = 3.0 * np.tanh(X[:, :1]) + 1.0
    >>> theta = rng.uniform(-1, 1, 2 * 2 + 2 + 2 + 1)
    >>> _ = fit_stage(X, R, theta, 2, 1, 0.0, 200, 1e-12)
    >>> out = np.empty((50, 1))
    >>> forward_into(X, theta, 2, 1, out)
    >>> bool(np.mean((out - R) ** 2) < 1e-3)
    True
    """
    cdef StageFit fit
    fit.n_units, fit.code, fit.alpha, fit.max_iter, fit.tol = n_units, code, alpha, max_iter, tol
    cdef double loss
    cdef const double* sw = _weights_or_null(sample_weight)
    with nogil:
        loss = _fit_stage(&X[0, 0], &R[0, 0], sw, &theta[0], X.shape[0], X.shape[1],
                          R.shape[1], &fit)
    return loss


def lbfgs(const floating[:, ::1] X, const double[:, ::1] R, double[::1] theta, int n_units,
          int code, double alpha, int max_iter, double tol,
          const double[::1] sample_weight=None):
    """Minimise the projected stage objective over the hidden layer of ``theta`` (in place).

    The output layer is the ridge optimum at every evaluation (the initial ``V, d`` are
    ignored; the optimal ones are in ``theta`` on return). Returns ``(loss, n_iter)``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural.gbnn._boost import lbfgs
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(50, 1); R = 2.0 * X + 1.0
    >>> theta = np.array([1.0, 0.0, 0.0, 0.0])
    >>> loss, _ = lbfgs(X, R, theta, 1, 3, 0.0, 100, 1e-12)
    >>> bool(loss < 1e-12)
    True
    """
    cdef StageFit fit
    fit.n_units, fit.code, fit.alpha, fit.max_iter, fit.tol = n_units, code, alpha, max_iter, tol
    cdef double loss
    cdef int n_iter
    cdef const double* sw = _weights_or_null(sample_weight)
    with nogil:
        loss = _lbfgs(&X[0, 0], &R[0, 0], sw, &theta[0], X.shape[0], X.shape[1], R.shape[1],
                      &fit, &n_iter)
    return loss, n_iter


def projected_loss_grad(const floating[:, ::1] X, const double[:, ::1] R, double[::1] theta,
                        int n_units, int code, double alpha, double[::1] grad,
                        const double[::1] sample_weight=None):
    """Projected stage objective ``(sum_i s_i ||e_i||^2 + alpha ||W||^2) / (2 n)`` at the
    hidden layer of ``theta`` (``s`` the sample weights, ones by default); its optimal output
    layer goes to ``theta``, the gradient (zeros for ``V, d``) to ``grad``."""
    cdef Projection w
    cdef double loss
    cdef int n = X.shape[0], p = X.shape[1], k = R.shape[1]
    cdef const double* sw = _weights_or_null(sample_weight)
    with nogil:
        if _projection_alloc(&w, &X[0, 0], &R[0, 0], sw, n, p, n_units, k):
            loss = _projected_loss_grad(&X[0, 0], &theta[0], n, p, n_units, k, code, alpha,
                                        &grad[0], &w)
        else:
            loss = -1.0
        _projection_free(&w)
    if loss == -1.0:
        raise MemoryError()
    return loss


def exp_neg(const double[::1] z, double[::1] out):
    """``out = exp(-z)`` elementwise (relative error ~1e-16, arguments clipped to +-700).

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural.gbnn._boost import exp_neg
    >>> z = np.array([-1.0, 0.0, 2.5]); out = np.empty(3)
    >>> exp_neg(z, out)
    >>> bool(np.allclose(out, np.exp(-z), rtol=1e-15))
    True
    """
    with nogil:
        _exp_neg(&z[0], &out[0], z.shape[0])


def loss_value(const double[:, ::1] Y, const double[:, ::1] F, const double[:, ::1] f,
               double rho, int loss, sample_weight=None):
    """Mean loss at the scores ``F + rho f`` (``rho = 0``: the loss at ``F``), weighted by
    ``sample_weight`` (ones by default).

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural.gbnn._boost import loss_value
    >>> Y = np.array([[1.0], [0.0]]); F = np.zeros((2, 1))
    >>> round(float(loss_value(Y, F, F, 0.0, 1)), 6)  # log 2
    0.693147
    """
    cdef int n = F.shape[0], k = F.shape[1]
    cdef double value
    cdef const double[::1] sw = _weights_or_ones(sample_weight, n)
    cdef double wsum = np.sum(sw)
    cdef double* buf = <double*>malloc((2 * n * k + n) * sizeof(double))
    if buf == NULL:
        raise MemoryError()
    with nogil:
        value = _loss_value(&Y[0, 0], &F[0, 0], &f[0, 0], rho, &sw[0], wsum, n, k, loss, buf)
    free(buf)
    return value


def residuals_into(const double[:, ::1] Y, const double[:, ::1] F, int loss,
                   double[:, ::1] R):
    """Pseudo-residuals (negative gradient of the loss) at the scores ``F`` into ``R``."""
    cdef int n = F.shape[0], k = F.shape[1]
    cdef double* buf = <double*>malloc((2 * n * k + n) * sizeof(double))
    if buf == NULL:
        raise MemoryError()
    with nogil:
        _residuals_into(&Y[0, 0], &F[0, 0], n, k, loss, &R[0, 0], buf)
    free(buf)


def newton_step(const double[:, ::1] Y, const double[:, ::1] R, const double[:, ::1] f,
                int loss, sample_weight=None):
    """Newton step for the multiplier of the direction ``f`` from the residuals ``R``, the
    rows weighted by ``sample_weight`` (ones by default)."""
    cdef const double[::1] sw = _weights_or_ones(sample_weight, R.shape[0])
    return _newton_step(&Y[0, 0], &R[0, 0], &f[0, 0], &sw[0], R.shape[0], R.shape[1], loss)


def _weights_or_ones(sample_weight, n):
    return np.ones(n) if sample_weight is None else np.ascontiguousarray(sample_weight, float)
