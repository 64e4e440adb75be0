# cython: language_level=3
"""The ridge regressions of one half-step of alternating minimisation, one per matrix row.

Every kernel treats a block of rows given by ``indptr, indices, data`` (the CSR arrays of those
rows, ``indices`` indexing rows of the fixed factor ``F``) and writes one factor row per matrix
row into ``out``: row ``i`` solves ``min_x ||F[idx_i] x - b_i||^2 + lam[i] ||x||^2``. Rows are
independent, so they are shared among ``num_threads`` OpenMP threads and the result does not
depend on the thread count. Factors and data are float32 or float64, index arrays int32 or
int64; the scratch vectors and every accumulation are double. A row is copied out of ``F``
(converted to double once) so that its Gram matrix and CG products are BLAS calls on contiguous
memory (SciPy's BLAS); rows too long to copy are streamed from ``F``. All shape, dtype and
index checks are done in Python before a kernel is entered.
"""

from cython.parallel cimport parallel, prange
from libc.math cimport sqrt
from libc.stdlib cimport free, malloc

include "../_blas.pxi"

include "_fused.pxi"

cdef extern from *:
    """
    /* Dot products and updates of length-k vectors, vectorised: an OpenMP simd reduction
       lets the compiler split the sum into lanes (plain -O3 keeps one sequential sum). */
    #define NUMSOLVE_DOT(name, T) \
        static inline double name(const T* a, const double* b, Py_ssize_t n) { \
            double s = 0.0; \
            _Pragma("omp simd reduction(+:s)") \
            for (Py_ssize_t i = 0; i < n; i++) s += a[i] * b[i]; \
            return s; }
    #define NUMSOLVE_AXPY(name, T) \
        static inline void name(double alpha, const T* x, double* y, Py_ssize_t n) { \
            _Pragma("omp simd") \
            for (Py_ssize_t i = 0; i < n; i++) y[i] += alpha * x[i]; }
    NUMSOLVE_DOT(numsolve_dot_f, float)
    NUMSOLVE_DOT(numsolve_dot_d, double)
    NUMSOLVE_AXPY(numsolve_axpy_f, float)
    NUMSOLVE_AXPY(numsolve_axpy_d, double)
    """
    double numsolve_dot_f(const float* a, const double* b, Py_ssize_t n) noexcept nogil
    double numsolve_dot_d(const double* a, const double* b, Py_ssize_t n) noexcept nogil
    void numsolve_axpy_f(double alpha, const float* x, double* y, Py_ssize_t n) noexcept nogil
    void numsolve_axpy_d(double alpha, const double* x, double* y, Py_ssize_t n) noexcept nogil


cdef inline double _fdot(const floating* a, const double* b, Py_ssize_t n) noexcept nogil:
    """``a . b`` accumulated in double."""
    if floating is float:
        return numsolve_dot_f(a, b, n)
    else:
        return numsolve_dot_d(a, b, n)


cdef inline void _faxpy(double alpha, const floating* x, double* y, Py_ssize_t n) noexcept nogil:
    """``y += alpha x``."""
    if floating is float:
        numsolve_axpy_f(alpha, x, y, n)
    else:
        numsolve_axpy_d(alpha, x, y, n)


cdef enum:
    # rows handed to a thread at a time: rows differ in length, so threads take work as they go
    ROWS_PER_GRAB = 16

# Relative ridges (times the mean diagonal of the Gram matrix) of the exact factorisations: the
# first makes a singular Gram matrix (fewer observations than k, no ridge) definite and picks
# the minimum-norm-like solution; the second is added when round-off still defeats Cholesky.
cdef double SINGULAR_RIDGE = 1e-12
cdef double FALLBACK_RIDGE = 1e-8


cdef enum:
    # rows with at most this many observations are copied out for CG (GATHER_LIMIT * k doubles
    # per thread): each CG step then runs two BLAS gemv on contiguous memory; longer rows are
    # streamed from F at every step
    GATHER_LIMIT = 8192


cdef struct Gathered:
    # one row's regression copied out: A = F[idx] (m x k, row-major) and b = data, y scratch of
    # length m; m = 0 when the row was too long to copy
    double* A
    double* b
    double* y
    int m


cdef struct CGStop:
    # at most max_steps CG steps; stop once the normal-equation residual is below rtol ||A^T b||
    long long max_steps
    double rtol


cdef enum PreconditionerKind:
    DIAGONAL  # diag(|idx_i| diag_scale + lam_i) in the eigenbasis of the expected Gram matrix
    SKETCHED_CHOLESKY  # Cholesky factor of a CountSketch's Gram matrix plus the ridge


cdef struct Preconditioning:
    PreconditionerKind kind
    const double* diag_scale  # DIAGONAL: per-coordinate Gram estimate per observation
    const double* sign  # SKETCHED_CHOLESKY: sign of each fixed row in the sketch
    int sketch_size  # SKETCHED_CHOLESKY: rows of the sketch


# ---------------------------------------------------------------------------------------------
# dense k x k algebra on the lower triangle of row-major scratch


cdef inline bint _cholesky(double* G, int k) noexcept nogil:
    """Lower Cholesky factor of ``G`` in place (the strict upper triangle is not touched)."""
    cdef int i, j
    cdef double s, d
    for j in range(k):
        s = G[j * k + j] - numsolve_dot_d(G + j * k, G + j * k, j)
        if s <= 0.0:
            return False
        d = sqrt(s)
        G[j * k + j] = d
        for i in range(j + 1, k):
            G[i * k + j] = (G[i * k + j] - numsolve_dot_d(G + i * k, G + j * k, j)) / d
    return True


cdef inline void _cholesky_solve(const double* L, const double* b, double* x,
                                 int k) noexcept nogil:
    """Solve ``L L^T x = b`` given the lower factor ``L`` (``x`` may alias ``b``)."""
    cdef int i, p
    cdef double t
    for i in range(k):
        x[i] = (b[i] - numsolve_dot_d(L + i * k, x, i)) / L[i * k + i]
    for i in range(k - 1, -1, -1):
        t = x[i]
        for p in range(i + 1, k):
            t -= L[p * k + i] * x[p]
        x[i] = t / L[i * k + i]


cdef inline void _factor_ridged(double* G, double* diag, int k, double lam) noexcept nogil:
    """Cholesky factor of ``G + lam I`` in place, ``G`` given by its lower triangle.

    With ``lam = 0`` a ridge of :data:`SINGULAR_RIDGE` times the mean diagonal is added; should
    Cholesky still fail (round-off), ``G`` is restored from the copy kept in its upper triangle
    and factored again with :data:`FALLBACK_RIDGE` more.
    """
    cdef int a, b
    cdef double trace = 0.0, ridge
    for a in range(k):
        trace += G[a * k + a]
        diag[a] = G[a * k + a]
        for b in range(a):
            G[b * k + a] = G[a * k + b]
    ridge = lam if lam > 0.0 else SINGULAR_RIDGE * trace / k
    for a in range(k):
        G[a * k + a] += ridge
    if _cholesky(G, k):
        return
    ridge += FALLBACK_RIDGE * trace / k
    for a in range(k):
        G[a * k + a] = diag[a] + ridge
        for b in range(a):
            G[a * k + b] = G[b * k + a]
    _cholesky(G, k)


cdef inline double _dot(const double* a, const double* b, int k) noexcept nogil:
    return numsolve_dot_d(a, b, k)


# ---------------------------------------------------------------------------------------------
# the normal equations of one row, never forming its Gram matrix


cdef inline void _gemv(char trans, const Gathered* g, int k, double alpha, const double* x,
                       double beta, double* y) noexcept nogil:
    """``y = alpha A x + beta y`` (``trans = 'T'``) or ``alpha A^T x + beta y`` (``'N'``).

    ``A`` is row-major m x k, which BLAS reads as its column-major transpose.
    """
    cdef int inc = 1, m = g.m
    dgemv(&trans, &k, &m, &alpha, g.A, &k, <double*>x, &inc, &beta, y, &inc)


cdef inline void _gram(const double* A, int m, int k, double* G) noexcept nogil:
    """``G = A^T A`` for row-major ``A`` (m x k), by BLAS (``G`` is symmetric)."""
    cdef double one = 1.0, zero = 0.0
    cdef char plain = c'N', transposed = c'T'
    cdef int a
    if m == 0:
        for a in range(k * k):
            G[a] = 0.0
        return
    dgemm(&plain, &transposed, &k, &k, &m, &one, <double*>A, &k, <double*>A, &k, &zero, G, &k)


cdef inline void _normal_equations(const index_t* indices, const floating* data, index_t lo,
                                   index_t hi, const floating* F, int k, Gathered* g,
                                   double* G, double* rhs) noexcept nogil:
    """``G = F[idx]^T F[idx]`` (lower triangle at least) and ``rhs = F[idx]^T b``."""
    cdef index_t t
    cdef int a
    cdef const floating* f
    if _gather(indices, data, lo, hi, F, k, g):
        _gram(g.A, g.m, k, G)
        _gemv(c'N', g, k, 1.0, g.b, 0.0, rhs)
        return
    for a in range(k * k):
        G[a] = 0.0
    for a in range(k):
        rhs[a] = 0.0
    for t in range(lo, hi):
        f = F + <Py_ssize_t>indices[t] * k
        _faxpy(data[t], f, rhs, k)
        for a in range(k):
            _faxpy(f[a], f, G + a * k, a + 1)


cdef inline bint _gather(const index_t* indices, const floating* data, index_t lo, index_t hi,
                         const floating* F, int k, Gathered* g) noexcept nogil:
    """Copy the row's regression into ``g`` if it has at most ``GATHER_LIMIT`` observations."""
    cdef index_t t
    cdef int a
    cdef double* row
    cdef const floating* f
    if hi - lo > GATHER_LIMIT:
        g.m = 0
        return False
    for t in range(lo, hi):
        f = F + <Py_ssize_t>indices[t] * k
        row = g.A + <Py_ssize_t>(t - lo) * k
        for a in range(k):
            row[a] = f[a]
        g.b[t - lo] = data[t]
    g.m = hi - lo
    return True


cdef inline void _normal_matvec(const index_t* indices, index_t lo, index_t hi,
                                const floating* F, int k, const Gathered* g, const double* p,
                                double lam, double* q) noexcept nogil:
    """``q = F[idx]^T F[idx] p + lam p`` in O(|idx| k), never forming the Gram matrix."""
    cdef index_t t
    cdef int a
    cdef const floating* f
    for a in range(k):
        q[a] = lam * p[a]
    if g.m > 0:
        _gemv(c'T', g, k, 1.0, p, 0.0, g.y)
        _gemv(c'N', g, k, 1.0, g.y, 1.0, q)
        return
    for t in range(lo, hi):
        f = F + <Py_ssize_t>indices[t] * k
        _faxpy(_fdot(f, p, k), f, q, k)


cdef inline double _normal_residual(const index_t* indices, const floating* data, index_t lo,
                                    index_t hi, const floating* F, int k, const Gathered* g,
                                    const double* x, double lam, double* r,
                                    double* rhs) noexcept nogil:
    """``r = F[idx]^T (b - F[idx] x) - lam x``; returns ``||F[idx]^T b||`` (``rhs`` scratch)."""
    cdef index_t t
    cdef int a
    cdef double b
    cdef const floating* f
    for a in range(k):
        r[a] = -lam * x[a]
        rhs[a] = 0.0
    if g.m > 0:
        for a in range(g.m):
            g.y[a] = g.b[a]
        _gemv(c'T', g, k, -1.0, x, 1.0, g.y)
        _gemv(c'N', g, k, 1.0, g.y, 1.0, r)
        _gemv(c'N', g, k, 1.0, g.b, 0.0, rhs)
        return sqrt(_dot(rhs, rhs, k))
    for t in range(lo, hi):
        f = F + <Py_ssize_t>indices[t] * k
        b = data[t]
        _faxpy(b - _fdot(f, x, k), f, r, k)
        _faxpy(b, f, rhs, k)
    return sqrt(_dot(rhs, rhs, k))


cdef inline long long _pcg(const index_t* indices, const floating* data, index_t lo,
                           index_t hi, const floating* F, int k, double lam, const double* d,
                           const double* L, CGStop stop, Gathered* g, double* x,
                           double* r, double* z, double* p, double* q) noexcept nogil:
    """Preconditioned CG on one row's normal equations from ``x``; returns the steps taken.

    The preconditioner is ``diag(d)`` when ``L`` is NULL, else ``L L^T`` (Cholesky factor).
    The row is copied into ``g`` first when it is short enough (see ``GATHER_LIMIT``).
    """
    cdef long long step, steps = 0
    cdef int a
    cdef double bnorm, rz, rz_new, pq, alpha, beta
    _gather(indices, data, lo, hi, F, k, g)
    bnorm = _normal_residual(indices, data, lo, hi, F, k, g, x, lam, r, q)
    _precondition(r, d, L, z, k)
    rz = _dot(r, z, k)
    for a in range(k):
        p[a] = z[a]
    for step in range(stop.max_steps):
        if sqrt(_dot(r, r, k)) <= stop.rtol * bnorm or rz <= 0.0:
            break
        _normal_matvec(indices, lo, hi, F, k, g, p, lam, q)
        pq = _dot(p, q, k)
        if pq <= 0.0:
            break
        alpha = rz / pq
        for a in range(k):
            x[a] += alpha * p[a]
            r[a] -= alpha * q[a]
        _precondition(r, d, L, z, k)
        rz_new = _dot(r, z, k)
        beta = rz_new / rz
        rz = rz_new
        for a in range(k):
            p[a] = z[a] + beta * p[a]
        steps += 1
    return steps


cdef inline void _precondition(const double* r, const double* d, const double* L, double* z,
                               int k) noexcept nogil:
    cdef int a
    if L != NULL:
        _cholesky_solve(L, r, z, k)
        return
    for a in range(k):
        z[a] = r[a] / d[a]


cdef inline Gathered _gathered(int k, Py_ssize_t longest) noexcept nogil:
    """Buffers for rows of up to ``min(longest, GATHER_LIMIT)`` observations (free ``A``)."""
    cdef Gathered g
    cdef Py_ssize_t m = min(longest, GATHER_LIMIT)
    g.A = <double*>malloc(sizeof(double) * (m * k + 2 * m + 1))
    g.b = g.A + m * k
    g.y = g.b + m
    g.m = 0
    return g


cdef inline Py_ssize_t _longest(const index_t[::1] indptr) noexcept nogil:
    cdef Py_ssize_t i, longest = 0
    for i in range(indptr.shape[0] - 1):
        longest = max(longest, indptr[i + 1] - indptr[i])
    return longest


cdef inline const index_t* _first(const index_t[::1] array) noexcept nogil:
    return &array[0] if array.shape[0] > 0 else NULL


cdef inline const floating* _start(const floating[::1] array) noexcept nogil:
    return &array[0] if array.shape[0] > 0 else NULL


# ---------------------------------------------------------------------------------------------
# the three solvers


def exact_rows(const index_t[::1] indptr, const index_t[::1] indices,
               const floating[::1] data, const floating[:, ::1] F, const double[::1] lam,
               floating[:, ::1] out, int num_threads):
    """Exact ridge solve of every row: ``(A^T A + lam_i I) x = A^T b`` with ``A = F[idx_i]``.

    Cost O(|idx_i| k^2 + k^3) per row. A row without observations (or whose fixed rows are
    all zero) gets zeros; a singular Gram matrix without a ridge gets a tiny one (see
    :func:`_factor_ridged`).
    """
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, i
    cdef int k = F.shape[1], a
    cdef index_t lo, hi
    cdef const index_t* idx = _first(indices)
    cdef const floating* values = _start(data)
    cdef const floating* fixed = &F[0, 0] if F.shape[0] > 0 else NULL
    cdef Py_ssize_t longest = _longest(indptr)
    cdef Gathered g
    cdef double* G
    cdef double* rhs
    cdef double* diag
    cdef double trace
    if n_rows <= 0 or k == 0:
        return
    with nogil, parallel(num_threads=num_threads):
        G = <double*>malloc(sizeof(double) * (k * k + 2 * k))
        rhs = G + k * k
        diag = rhs + k
        g = _gathered(k, longest)
        for i in prange(n_rows, schedule="dynamic", chunksize=ROWS_PER_GRAB):
            lo = indptr[i]
            hi = indptr[i + 1]
            _normal_equations(idx, values, lo, hi, fixed, k, &g, G, rhs)
            trace = 0.0
            for a in range(k):
                trace = trace + G[a * k + a]
            if hi == lo or trace == 0.0:
                _clear(&out[i, 0], k)
                continue
            _factor_ridged(G, diag, k, lam[i])
            _cholesky_solve(G, rhs, rhs, k)
            _store(rhs, &out[i, 0], k)
        free(g.A)
        free(G)


def cg_rows(const index_t[::1] indptr, const index_t[::1] indices, const floating[::1] data,
            const floating[:, ::1] F, const double[::1] lam, const double[::1] diag_scale,
            const floating[:, ::1] start, long long n_steps, double rtol,
            floating[:, ::1] out, int num_threads):
    """Warm-started, diagonally preconditioned CG on every row's normal equations.

    ``F`` is the fixed factor in the eigenbasis of the sampling-model Gram estimate, so the
    preconditioner of row ``i`` is ``diag(|idx_i| * diag_scale + lam_i)``. Each step costs
    O(|idx_i| k); at most ``n_steps`` steps run, fewer when the normal-equation residual falls
    below ``rtol * ||A^T b||``. Returns the total number of CG steps taken.
    """
    cdef Preconditioning how = Preconditioning(kind=DIAGONAL, diag_scale=_start(diag_scale),
                                               sign=NULL, sketch_size=0)
    return _preconditioned_rows(how, indptr, indices, data, F, lam, indices[:0], start,
                                CGStop(max_steps=n_steps, rtol=rtol), out, num_threads)


def sketched_rows(const index_t[::1] indptr, const index_t[::1] indices,
                  const floating[::1] data, const floating[:, ::1] F, const double[::1] lam,
                  const index_t[::1] bucket, const double[::1] sign, int sketch_size,
                  const floating[:, ::1] start, long long n_steps, double rtol,
                  floating[:, ::1] out, int num_threads):
    """Sketch-and-precondition solve of every row, the paper's approximate regression.

    For row ``i`` with ``A = F[idx_i]``: a CountSketch ``S`` (row ``j`` of the fixed factor
    goes to row ``bucket[j]`` of the sketch with sign ``sign[j]``) gives ``S A`` in
    O(|idx_i| k); the Cholesky factor ``R`` of ``(S A)^T S A + lam_i I`` preconditions CG on the
    normal equations, warm-started at ``start[i]`` and stopped at ``rtol`` or ``n_steps``. Rows
    with at most ``sketch_size`` observations gain nothing from a sketch: ``S`` is the identity.
    Returns the total number of CG steps taken.
    """
    cdef Preconditioning how = Preconditioning(kind=SKETCHED_CHOLESKY, diag_scale=NULL,
                                               sign=_start(sign), sketch_size=sketch_size)
    return _preconditioned_rows(how, indptr, indices, data, F, lam, bucket, start,
                                CGStop(max_steps=n_steps, rtol=rtol), out, num_threads)


cdef long long _preconditioned_rows(Preconditioning how, const index_t[::1] indptr,
                                    const index_t[::1] indices, const floating[::1] data,
                                    const floating[:, ::1] F, const double[::1] lam,
                                    const index_t[::1] bucket, const floating[:, ::1] start,
                                    CGStop stop, floating[:, ::1] out, int num_threads):
    """The rows of :func:`cg_rows` or :func:`sketched_rows` (``how``), warm-started CG each;
    returns the total number of CG steps."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, i
    cdef int k = F.shape[1], a
    cdef index_t lo, hi
    cdef const index_t* idx = _first(indices)
    cdef const floating* values = _start(data)
    cdef const floating* fixed = &F[0, 0] if F.shape[0] > 0 else NULL
    cdef long long total = 0
    cdef Py_ssize_t longest = _longest(indptr)
    cdef Py_ssize_t sketch_doubles = how.sketch_size * k + k * k
    cdef const index_t* buckets = _first(bucket)
    cdef Gathered g
    cdef double* S
    cdef double* R
    cdef double* x
    if n_rows <= 0 or k == 0:
        return 0
    with nogil, parallel(num_threads=num_threads):
        # x, then the preconditioner's diagonal d and CG's r, z, p, q (k each), then for the
        # sketched kind the sketch S (sketch_size x k) and its factor R (k x k)
        x = <double*>malloc(sizeof(double) * (6 * k + sketch_doubles))
        S = x + 6 * k
        R = S + how.sketch_size * k
        g = _gathered(k, longest)
        for i in prange(n_rows, schedule="dynamic", chunksize=ROWS_PER_GRAB):
            lo = indptr[i]
            hi = indptr[i + 1]
            if hi == lo:
                _clear(&out[i, 0], k)
                continue
            for a in range(k):
                x[a] = start[i, a]
            if how.kind == DIAGONAL:
                _diagonal(how.diag_scale, hi - lo, lam[i], x + k, k)
                total += _pcg(idx, values, lo, hi, fixed, k, lam[i], x + k, NULL, stop, &g, x,
                              x + 2 * k, x + 3 * k, x + 4 * k, x + 5 * k)
            else:
                _sketch_factor(idx, lo, hi, fixed, k, buckets, how, lam[i], S, R, x + k)
                total += _pcg(idx, values, lo, hi, fixed, k, lam[i], NULL, R, stop, &g, x,
                              x + 2 * k, x + 3 * k, x + 4 * k, x + 5 * k)
            _store(x, &out[i, 0], k)
        free(g.A)
        free(x)
    return total


cdef inline void _diagonal(const double* diag_scale, Py_ssize_t count, double lam, double* d,
                           int k) noexcept nogil:
    """``d = count * diag_scale + lam``, non-positive entries replaced by 1."""
    cdef int a
    for a in range(k):
        d[a] = count * diag_scale[a] + lam
        if d[a] <= 0.0:
            d[a] = 1.0


cdef inline void _sketch_factor(const index_t* idx, index_t lo, index_t hi, const floating* F,
                                int k, const index_t* bucket, Preconditioning how, double lam,
                                double* S, double* R, double* scratch) noexcept nogil:
    """Cholesky factor ``R`` of ``(S A)^T S A + lam I`` for ``A = F[idx[lo:hi]]`` (``S``: the
    CountSketch, or the identity for rows of at most ``sketch_size`` observations)."""
    cdef index_t t, j
    cdef int a, used
    if hi - lo <= how.sketch_size:
        for t in range(lo, hi):
            for a in range(k):
                S[(t - lo) * k + a] = F[<Py_ssize_t>idx[t] * k + a]
        used = hi - lo
    else:
        for a in range(how.sketch_size * k):
            S[a] = 0.0
        for t in range(lo, hi):
            j = idx[t]
            _faxpy(how.sign[j], F + <Py_ssize_t>j * k, S + bucket[j] * k, k)
        used = how.sketch_size
    _gram(S, used, k, R)
    _factor_ridged(R, scratch, k, lam)


cdef inline void _clear(floating* row, int k) noexcept nogil:
    cdef int a
    for a in range(k):
        row[a] = 0.0


cdef inline void _store(const double* x, floating* row, int k) noexcept nogil:
    cdef int a
    for a in range(k):
        row[a] = <floating>x[a]
