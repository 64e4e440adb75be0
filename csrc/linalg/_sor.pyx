# cython: language_level=3
"""SOR, SSOR and SSOR-preconditioned CG kernels on CSR matrices with the diagonal stored apart.

A matrix enters the kernels "split": its off-diagonal entries as CSR arrays ``(odata, oind,
optr)`` with, in every row, the strictly lower entries first and the strictly upper ones from
``ustart[i]`` on, and its diagonal as a separate array ``diag``. All kernels work in place on
``x`` and release the GIL. Every check (shapes, index ranges, non-zero diagonal) is done in
Python before a kernel is entered.

The solve loops compute the residual of the previous iterate inside the sweep that produces
the next one: in a forward sweep, row ``i`` sees the new values of its lower neighbours, so
``r_i(x_k) = gs_i + sum_{j<i} a_ij d_j`` where ``gs_i`` is the Gauss-Seidel residual the sweep
needs anyway and ``d`` holds the changes made so far in this sweep. When that residual meets
the tolerance, the last sweep is undone (``x -= d``) and ``x_k`` is returned, so ``n_iter``
counts sweeps exactly as the textbook loop "sweep, then test the residual" does.
"""

from cython.parallel cimport parallel, prange
from libc.math cimport sqrt
from libc.stdlib cimport free, malloc

ctypedef fused floating:
    float
    double

ctypedef fused index_t:
    int
    long long

cdef double _INF = float("inf")


# ---------------------------------------------------------------------------------------------
# splitting


def split_csr(const floating[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
              floating[::1] odata, index_t[::1] oind, index_t[::1] optr, index_t[::1] ustart,
              floating[::1] diag):
    """Split CSR ``A`` into off-diagonal CSR (lower entries first in each row) and diagonal.

    Output arrays are preallocated by the caller (``odata``/``oind`` of length ``nnz``);
    returns the number of off-diagonal entries written. Missing diagonal entries stay 0.
    """
    cdef index_t n = indptr.shape[0] - 1
    cdef index_t i, p, j, q = 0
    with nogil:
        for i in range(n):
            diag[i] = 0
            optr[i] = q
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                if j < i:
                    odata[q] = data[p]
                    oind[q] = j
                    q = q + 1
                elif j == i:
                    diag[i] = diag[i] + data[p]
            ustart[i] = q
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                if j > i:
                    odata[q] = data[p]
                    oind[q] = j
                    q = q + 1
        optr[n] = q
    return q


# ---------------------------------------------------------------------------------------------
# one sweep, on raw pointers (mode 0: no tracking, 1: d = change and residual of the previous
# iterate, 2: d += change)


cdef inline double _forward(const floating* odata, const index_t* oind, const index_t* optr,
                            const index_t* ustart, const floating* diag, const floating* inv,
                            const floating* b,
                            floating* x, floating* d, double omega, int mode,
                            index_t n) noexcept nogil:
    cdef index_t i, p
    cdef floating s, t, delta
    cdef double res = 0.0, ri
    for i in range(n):
        s = b[i]
        if mode == 1:
            t = 0
            for p in range(optr[i], ustart[i]):
                s = s - odata[p] * x[oind[p]]
                t = t + odata[p] * d[oind[p]]
        else:
            for p in range(optr[i], ustart[i]):
                s = s - odata[p] * x[oind[p]]
        for p in range(ustart[i], optr[i + 1]):
            s = s - odata[p] * x[oind[p]]
        s = s - diag[i] * x[i]
        delta = <floating>omega * s * inv[i]
        x[i] = x[i] + delta
        if mode == 1:
            ri = s + t
            res += ri * ri
            d[i] = delta
        elif mode == 2:
            d[i] = d[i] + delta
    return res


cdef inline void _forward_plain(const floating* odata, const index_t* oind,
                                const index_t* optr, const floating* diag,
                                const floating* inv, const floating* b, floating* x,
                                double omega, index_t n) noexcept nogil:
    cdef index_t i, p
    cdef floating s
    cdef floating om = <floating>omega
    for i in range(n):
        s = b[i] - diag[i] * x[i]
        for p in range(optr[i], optr[i + 1]):
            s = s - odata[p] * x[oind[p]]
        x[i] = x[i] + om * s * inv[i]


cdef inline void _backward_plain(const floating* odata, const index_t* oind,
                                 const index_t* optr, const floating* diag,
                                 const floating* inv, const floating* b, floating* x,
                                 double omega, index_t n) noexcept nogil:
    cdef index_t i, p
    cdef floating s
    cdef floating om = <floating>omega
    for i in range(n - 1, -1, -1):
        s = b[i] - diag[i] * x[i]
        for p in range(optr[i], optr[i + 1]):
            s = s - odata[p] * x[oind[p]]
        x[i] = x[i] + om * s * inv[i]


cdef inline double _backward(const floating* odata, const index_t* oind, const index_t* optr,
                             const index_t* ustart, const floating* diag, const floating* inv,
                             const floating* b,
                             floating* x, floating* d, double omega, int mode,
                             index_t n) noexcept nogil:
    cdef index_t i, p
    cdef floating s, t, delta
    cdef double res = 0.0, ri
    for i in range(n - 1, -1, -1):
        s = b[i]
        for p in range(optr[i], ustart[i]):
            s = s - odata[p] * x[oind[p]]
        if mode == 1:
            t = 0
            for p in range(ustart[i], optr[i + 1]):
                s = s - odata[p] * x[oind[p]]
                t = t + odata[p] * d[oind[p]]
        else:
            for p in range(ustart[i], optr[i + 1]):
                s = s - odata[p] * x[oind[p]]
        s = s - diag[i] * x[i]
        delta = <floating>omega * s * inv[i]
        x[i] = x[i] + delta
        if mode == 1:
            ri = s + t
            res += ri * ri
            d[i] = delta
        elif mode == 2:
            d[i] = d[i] + delta
    return res


cdef inline double _residual2(const floating* odata, const index_t* oind, const index_t* optr,
                              const floating* diag, const floating* b, const floating* x,
                              index_t n) noexcept nogil:
    cdef index_t i, p
    cdef floating s
    cdef double res = 0.0
    for i in range(n):
        s = b[i] - diag[i] * x[i]
        for p in range(optr[i], optr[i + 1]):
            s = s - odata[p] * x[oind[p]]
        res += s * s
    return res


cdef index_t _sor_loop(const floating* odata, const index_t* oind, const index_t* optr,
                       const index_t* ustart, const floating* diag, const floating* inv,
                       const floating* b,
                       floating* x, floating* d, double omega, int direction, double tol_abs,
                       index_t maxiter, double* hist, index_t n) noexcept nogil:
    """Sweep until the residual of the current iterate is <= tol_abs; return the sweep count."""
    cdef index_t k, i
    cdef double r2, rnorm
    for k in range(maxiter):
        if direction == 0:
            r2 = _forward(odata, oind, optr, ustart, diag, inv, b, x, d, omega, 1, n)
        elif direction == 1:
            r2 = _backward(odata, oind, optr, ustart, diag, inv, b, x, d, omega, 1, n)
        else:
            r2 = _forward(odata, oind, optr, ustart, diag, inv, b, x, d, omega, 1, n)
            _backward(odata, oind, optr, ustart, diag, inv, b, x, d, omega, 2, n)
        rnorm = sqrt(r2)
        if hist != NULL:
            hist[k] = rnorm
        if rnorm <= tol_abs:
            for i in range(n):
                x[i] = x[i] - d[i]
            return k
        if not rnorm < _INF:
            return k
    rnorm = sqrt(_residual2(odata, oind, optr, diag, b, x, n))
    if hist != NULL:
        hist[maxiter] = rnorm
    return maxiter


# ---------------------------------------------------------------------------------------------
# Python entry points


def sor_sweep(const floating[::1] odata, const index_t[::1] oind, const index_t[::1] optr,
              const index_t[::1] ustart, const floating[::1] diag, const floating[::1] inv,
              const floating[::1] b,
              floating[::1] x, double omega, int direction, Py_ssize_t nsweeps):
    """``nsweeps`` SOR sweeps in place (direction 0 forward, 1 backward, 2 symmetric)."""
    cdef index_t n = diag.shape[0]
    cdef Py_ssize_t k
    with nogil:
        for k in range(nsweeps):
            if direction != 1:
                _forward_plain(&odata[0], &oind[0], &optr[0], &diag[0], &inv[0], &b[0], &x[0],
                               omega, n)
            if direction != 0:
                _backward_plain(&odata[0], &oind[0], &optr[0], &diag[0], &inv[0], &b[0], &x[0],
                                omega, n)


def sor_solve(const floating[::1] odata, const index_t[::1] oind, const index_t[::1] optr,
              const index_t[::1] ustart, const floating[::1] diag, const floating[::1] inv,
              const floating[::1] b,
              floating[::1] x, floating[::1] d, double omega, int direction, double tol_abs,
              index_t maxiter, double[::1] hist):
    """SOR iteration in place until ``||b - A x|| <= tol_abs``; ``hist[k]`` = residual of x_k.

    Returns the number of sweeps ``k`` whose iterate is returned (``maxiter`` when not met).
    """
    cdef index_t n = diag.shape[0]
    cdef index_t k
    with nogil:
        k = _sor_loop(&odata[0], &oind[0], &optr[0], &ustart[0], &diag[0], &inv[0], &b[0],
                      &x[0], &d[0], omega, direction, tol_abs, maxiter, &hist[0], n)
    return k


def sor_cost_table(const double[::1] odata, const index_t[::1] oind, const index_t[::1] optr,
                   const index_t[::1] ustart, const double[::1] diag, const double[::1] shifts,
                   const double[:, ::1] B, const double[::1] omegas, double rtol,
                   index_t maxiter, int direction, long long[:, ::1] out, int num_threads):
    """Iterations of SOR from x0 = 0 for every system ``(A + shifts[t] I) x = B[t]`` and omega.

    ``out[t, j]`` is the sweep count at ``omegas[j]`` (``maxiter`` when not converged).
    """
    cdef index_t n = diag.shape[0]
    cdef Py_ssize_t n_sys = B.shape[0], n_om = omegas.shape[0]
    cdef Py_ssize_t job, t, j, i
    cdef double* work
    cdef double bnorm
    with nogil, parallel(num_threads=num_threads):
        work = <double*>malloc(4 * n * sizeof(double))
        for job in prange(n_sys * n_om, schedule="dynamic"):
            t = job // n_om
            j = job % n_om
            bnorm = 0.0
            for i in range(n):
                work[i] = 0.0
                work[2 * n + i] = diag[i] + shifts[t]
                work[3 * n + i] = 1.0 / work[2 * n + i]
                bnorm = bnorm + B[t, i] * B[t, i]
            out[t, j] = _sor_loop(&odata[0], &oind[0], &optr[0], &ustart[0], &work[2 * n],
                                  &work[3 * n], &B[t, 0], &work[0], &work[n], omegas[j],
                                  direction,
                                  rtol * sqrt(bnorm), maxiter, <double*>NULL, n)
        free(work)


# ---------------------------------------------------------------------------------------------
# multi-colour SOR: rows of one colour are independent and updated in parallel


cdef inline double _mc_row(const floating* odata, const index_t* oind, const index_t* optr,
                           const floating* diag, const floating* b, floating* x, floating* d,
                           double omega, int mode, index_t i) noexcept nogil:
    cdef index_t p
    cdef floating s = b[i], t = 0, delta
    cdef double ri
    for p in range(optr[i], optr[i + 1]):
        s = s - odata[p] * x[oind[p]]
        t = t + odata[p] * d[oind[p]]
    s = s - diag[i] * x[i]
    delta = <floating>(omega * s / diag[i])
    x[i] = x[i] + delta
    if mode == 1:
        d[i] = delta
        ri = s + t
        return ri * ri
    d[i] = d[i] + delta
    return 0.0


def multicolor_solve(const floating[::1] odata, const index_t[::1] oind,
                     const index_t[::1] optr, const floating[::1] diag,
                     const index_t[::1] cptr, const index_t[::1] rows, const floating[::1] b,
                     floating[::1] x, floating[::1] d, double omega, int symmetric,
                     double tol_abs, index_t maxiter, double[::1] hist, int num_threads):
    """Multi-colour SOR in place: colours in order (then reversed when ``symmetric``).

    Rows ``rows[cptr[c]:cptr[c+1]]`` form colour ``c`` (no two are neighbours). Same
    stopping rule and ``hist`` as :func:`sor_solve`; returns the sweep count.
    """
    cdef index_t n = diag.shape[0]
    cdef index_t n_col = cptr.shape[0] - 1
    cdef index_t k, c, i
    cdef Py_ssize_t q, lo, hi
    cdef double r2, rnorm
    cdef index_t result = maxiter
    with nogil:
        for k in range(maxiter):
            for i in range(n):
                d[i] = 0
            r2 = 0.0
            for c in range(n_col):
                lo = cptr[c]
                hi = cptr[c + 1]
                for q in prange(lo, hi, num_threads=num_threads, schedule="static"):
                    r2 += _mc_row(&odata[0], &oind[0], &optr[0], &diag[0], &b[0], &x[0],
                                  &d[0], omega, 1, rows[q])
            if symmetric:
                for c in range(n_col - 1, -1, -1):
                    lo = cptr[c]
                    hi = cptr[c + 1]
                    for q in prange(lo, hi, num_threads=num_threads, schedule="static"):
                        _mc_row(&odata[0], &oind[0], &optr[0], &diag[0], &b[0], &x[0],
                                &d[0], omega, 2, rows[q])
            rnorm = sqrt(r2)
            hist[k] = rnorm
            if rnorm <= tol_abs:
                for i in range(n):
                    x[i] = x[i] - d[i]
                result = k
                break
            if not rnorm < _INF:
                result = k
                break
        if result == maxiter:
            hist[maxiter] = sqrt(_residual2(&odata[0], &oind[0], &optr[0], &diag[0], &b[0],
                                            &x[0], n))
    return result


# ---------------------------------------------------------------------------------------------
# SSOR-preconditioned conjugate gradients


cdef inline void _ssor_apply(const floating* odata, const index_t* oind, const index_t* optr,
                             const index_t* ustart, const floating* inv, const floating* r,
                             floating* z, double omega, index_t n) noexcept nogil:
    """z = M^{-1} r with M = (D + omega L) D^{-1} (D + omega U) / (omega (2 - omega))."""
    cdef index_t i, p
    cdef floating s
    cdef floating scale = <floating>(omega * (2.0 - omega))
    cdef floating om = <floating>omega
    for i in range(n):
        s = scale * r[i]
        for p in range(optr[i], ustart[i]):
            s = s - om * odata[p] * z[oind[p]]
        z[i] = s * inv[i]
    for i in range(n - 1, -1, -1):
        s = 0
        for p in range(ustart[i], optr[i + 1]):
            s = s + odata[p] * z[oind[p]]
        z[i] = z[i] - om * s * inv[i]


def ssor_pcg_solve(const floating[::1] odata, const index_t[::1] oind,
                   const index_t[::1] optr, const index_t[::1] ustart,
                   const floating[::1] diag, const floating[::1] inv, const floating[::1] b,
                   floating[::1] x, floating[::1] r, floating[::1] z, floating[::1] p, floating[::1] q,
                   double omega, double tol_abs, index_t maxiter, double[::1] hist):
    """CG with the SSOR preconditioner, in place on ``x``, until ``||r|| <= tol_abs``.

    ``hist[k]`` is the residual norm after ``k`` iterations; returns the iteration count.
    """
    cdef index_t n = diag.shape[0]
    cdef index_t i, k, pp
    cdef double rz, rz_new, pq, alpha, beta, rnorm
    cdef floating s
    cdef index_t result = maxiter
    with nogil:
        rnorm = 0.0
        for i in range(n):
            s = b[i] - diag[i] * x[i]
            for pp in range(optr[i], optr[i + 1]):
                s = s - odata[pp] * x[oind[pp]]
            r[i] = s
            rnorm += s * s
        rnorm = sqrt(rnorm)
        hist[0] = rnorm
        if rnorm <= tol_abs:
            maxiter = 0
            result = 0
        _ssor_apply(&odata[0], &oind[0], &optr[0], &ustart[0], &inv[0], &r[0], &z[0],
                    omega, n)
        rz = 0.0
        for i in range(n):
            p[i] = z[i]
            rz += r[i] * z[i]
        for k in range(1, maxiter + 1):
            pq = 0.0
            for i in range(n):
                s = diag[i] * p[i]
                for pp in range(optr[i], optr[i + 1]):
                    s = s + odata[pp] * p[oind[pp]]
                q[i] = s
                pq += p[i] * s
            alpha = rz / pq
            rnorm = 0.0
            for i in range(n):
                x[i] = x[i] + <floating>alpha * p[i]
                r[i] = r[i] - <floating>alpha * q[i]
                rnorm += r[i] * r[i]
            rnorm = sqrt(rnorm)
            hist[k] = rnorm
            if rnorm <= tol_abs or not rnorm < _INF:
                result = k
                break
            _ssor_apply(&odata[0], &oind[0], &optr[0], &ustart[0], &inv[0], &r[0], &z[0],
                        omega, n)
            rz_new = 0.0
            for i in range(n):
                rz_new += r[i] * z[i]
            beta = rz_new / rz
            rz = rz_new
            for i in range(n):
                p[i] = z[i] + <floating>beta * p[i]
    return result
