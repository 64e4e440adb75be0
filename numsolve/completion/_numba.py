"""Numba kernels over the observed entries of one side of the matrix (CSR index arrays).

Every row kernel treats a block of rows given by ``indptr, indices, data`` (the CSR arrays of
those rows, ``indices`` indexing rows of the fixed factor ``F``) and writes one factor row per
matrix row into ``out``. Rows are independent and run in parallel (``prange``). Index arrays are
int64 and floats are float32 or float64 (cast in Python), so each kernel has two signatures.
All shape and index checks happen in Python before a kernel is entered.
"""

import numpy as np
from numba import njit, prange

_CHUNKS = 256
"""Rows are processed in this many contiguous chunks, each with its own scratch arrays."""

__all__ = [
    "cg_rows",
    "exact_rows",
    "observed_squared_error",
    "predict_entries",
    "sketched_rows",
]


@njit(cache=True, nogil=True, fastmath=True)
def _cholesky(G):
    """In-place lower Cholesky factor of symmetric positive definite ``G``; False if not SPD."""
    k = G.shape[0]
    for j in range(k):
        s = G[j, j]
        for p in range(j):
            s -= G[j, p] * G[j, p]
        if s <= 0.0:
            return False
        d = np.sqrt(s)
        G[j, j] = d
        for i in range(j + 1, k):
            t = G[i, j]
            for p in range(j):
                t -= G[i, p] * G[j, p]
            G[i, j] = t / d
    return True


@njit(cache=True, nogil=True, fastmath=True)
def _cholesky_solve(L, b, x):
    """Solve ``L L^T x = b`` given the lower factor ``L`` (``x`` may alias ``b``)."""
    k = L.shape[0]
    for i in range(k):
        t = b[i]
        for p in range(i):
            t -= L[i, p] * x[p]
        x[i] = t / L[i, i]
    for i in range(k - 1, -1, -1):
        t = x[i]
        for p in range(i + 1, k):
            t -= L[p, i] * x[p]
        x[i] = t / L[i, i]


@njit(cache=True, nogil=True, fastmath=True)
def _dot(a, b):
    s = 0.0
    for t in range(a.shape[0]):
        s += a[t] * b[t]
    return s


@njit(cache=True, nogil=True, fastmath=True)
def _normal_matvec(indices, lo, hi, F, p, lam, q):
    """``q = F[idx]^T F[idx] p + lam p`` in O(|idx| k), never forming the Gram matrix."""
    k = F.shape[1]
    for a in range(k):
        q[a] = lam * p[a]
    for t in range(lo, hi):
        j = indices[t]
        s = 0.0
        for a in range(k):
            s += F[j, a] * p[a]
        for a in range(k):
            q[a] += s * F[j, a]


@njit(cache=True, nogil=True, fastmath=True)
def _normal_residual(indices, data, lo, hi, F, x, lam, r, rhs):
    """``r = F[idx]^T (b - F[idx] x) - lam x``; returns ``||F[idx]^T b||`` (``rhs`` scratch)."""
    k = F.shape[1]
    for a in range(k):
        r[a] = -lam * x[a]
        rhs[a] = 0.0
    for t in range(lo, hi):
        j = indices[t]
        s = 0.0
        for a in range(k):
            s += F[j, a] * x[a]
        e = data[t] - s
        for a in range(k):
            r[a] += e * F[j, a]
            rhs[a] += data[t] * F[j, a]
    return np.sqrt(_dot(rhs, rhs))


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def exact_rows(indptr, indices, data, F, lam, out):
    """Exact ridge solve of every row: ``(A^T A + lam_i I) x = A^T b`` with ``A = F[idx_i]``.

    Cost O(|idx_i| k^2 + k^3) per row. A row without observations (and no ridge) gets zeros;
    a singular Gram matrix (fewer observations than ``k`` and no ridge) gets a ridge of
    ``1e-12`` times its mean diagonal, which selects the minimum-norm-like solution.
    """
    n_rows = indptr.shape[0] - 1
    k = F.shape[1]
    n_chunks = min(n_rows, _CHUNKS)
    for c in prange(n_chunks):
        G = np.empty((k, k))
        rhs = np.empty(k)
        x = np.empty(k)
        for i in range(c * n_rows // n_chunks, (c + 1) * n_rows // n_chunks):
            lo = indptr[i]
            hi = indptr[i + 1]
            G[:, :] = 0.0
            rhs[:] = 0.0
            for t in range(lo, hi):
                j = indices[t]
                for a in range(k):
                    fa = F[j, a]
                    rhs[a] += data[t] * fa
                    for b in range(a + 1):
                        G[a, b] += fa * F[j, b]
            trace = 0.0
            for a in range(k):
                trace += G[a, a]
            if hi == lo or trace == 0.0:
                for a in range(k):
                    out[i, a] = 0.0
                continue
            ridge = lam[i] if lam[i] > 0.0 else 1e-12 * trace / k
            for a in range(k):
                G[a, a] += ridge
            if not _cholesky(G):
                for a in range(k):
                    G[a, a] += 1e-8 * trace / k
                _cholesky(G)
            _cholesky_solve(G, rhs, x)
            for a in range(k):
                out[i, a] = x[a]


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def cg_rows(indptr, indices, data, F, lam, diag_scale, start, n_steps, rtol, out):
    """Warm-started, diagonally preconditioned CG on every row's normal equations.

    ``F`` is the fixed factor in the eigenbasis of the sampling-model Gram estimate, so the
    preconditioner of row ``i`` is ``diag(|idx_i| * diag_scale + lam_i)``. Each step costs
    O(|idx_i| k); at most ``n_steps`` steps run, fewer when the normal-equation residual falls
    below ``rtol * ||A^T b||``. Returns the total number of CG steps taken.
    """
    n_rows = indptr.shape[0] - 1
    k = F.shape[1]
    steps = np.zeros(n_rows, dtype=np.int64)
    n_chunks = min(n_rows, _CHUNKS)
    for c in prange(n_chunks):
        x = np.empty(k)
        r = np.empty(k)
        z = np.empty(k)
        p = np.empty(k)
        q = np.empty(k)
        d = np.empty(k)
        for i in range(c * n_rows // n_chunks, (c + 1) * n_rows // n_chunks):
            lo = indptr[i]
            hi = indptr[i + 1]
            if hi == lo:
                for a in range(k):
                    out[i, a] = 0.0
                continue
            for a in range(k):
                x[a] = start[i, a]
            count = hi - lo
            for a in range(k):
                d[a] = count * diag_scale[a] + lam[i]
                if d[a] <= 0.0:
                    d[a] = 1.0
            bnorm = _normal_residual(indices, data, lo, hi, F, x, lam[i], r, q)
            rz = 0.0
            for a in range(k):
                z[a] = r[a] / d[a]
                p[a] = z[a]
                rz += r[a] * z[a]
            for step in range(n_steps):
                rnorm = np.sqrt(_dot(r, r))
                if rnorm <= rtol * bnorm or rz <= 0.0:
                    break
                _normal_matvec(indices, lo, hi, F, p, lam[i], q)
                pq = _dot(p, q)
                if pq <= 0.0:
                    break
                alpha = rz / pq
                rz_new = 0.0
                for a in range(k):
                    x[a] += alpha * p[a]
                    r[a] -= alpha * q[a]
                    z[a] = r[a] / d[a]
                    rz_new += r[a] * z[a]
                beta = rz_new / rz
                rz = rz_new
                for a in range(k):
                    p[a] = z[a] + beta * p[a]
                steps[i] += 1
            for a in range(k):
                out[i, a] = x[a]
    return steps.sum()


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def sketched_rows(indptr, indices, data, F, lam, bucket, sign, sketch_size, start, n_steps,
                  rtol, out):
    """Sketch-and-precondition solve of every row, the paper's approximate regression.

    For row ``i`` with ``A = F[idx_i]``: a CountSketch ``S`` (column ``j`` of the fixed side goes
    to row ``bucket[j]`` of the sketch with sign ``sign[j]``) gives ``S A`` in O(|idx_i| k); the
    Cholesky factor ``R`` of ``(S A)^T S A + lam_i I`` preconditions CG on the normal equations,
    warm-started at ``start[i]`` and stopped at ``rtol`` or ``n_steps``. Rows with at most
    ``sketch_size`` observations gain nothing from a sketch and are solved exactly.
    Returns the total number of CG steps taken.
    """
    n_rows = indptr.shape[0] - 1
    k = F.shape[1]
    steps = np.zeros(n_rows, dtype=np.int64)
    n_chunks = min(n_rows, _CHUNKS)
    for c in prange(n_chunks):
        S = np.empty((sketch_size, k))
        R = np.empty((k, k))
        x = np.empty(k)
        r = np.empty(k)
        z = np.empty(k)
        p = np.empty(k)
        q = np.empty(k)
        for i in range(c * n_rows // n_chunks, (c + 1) * n_rows // n_chunks):
            lo = indptr[i]
            hi = indptr[i + 1]
            if hi == lo:
                for a in range(k):
                    out[i, a] = 0.0
                continue
            if hi - lo <= sketch_size:
                for t in range(lo, hi):
                    for a in range(k):
                        S[t - lo, a] = F[indices[t], a]
            else:
                S[:, :] = 0.0
                for t in range(lo, hi):
                    j = indices[t]
                    row = bucket[j]
                    sg = sign[j]
                    for a in range(k):
                        S[row, a] += sg * F[j, a]
            used = min(hi - lo, sketch_size)
            R[:, :] = 0.0
            for h in range(used):
                for a in range(k):
                    sa = S[h, a]
                    for b in range(a + 1):
                        R[a, b] += sa * S[h, b]
            trace = 0.0
            for a in range(k):
                trace += R[a, a]
            ridge = lam[i] if lam[i] > 0.0 else 1e-12 * trace / k
            for a in range(k):
                R[a, a] += ridge
            if not _cholesky(R):
                for a in range(k):
                    R[a, a] += 1e-8 * trace / k
                _cholesky(R)
            for a in range(k):
                x[a] = start[i, a]
            bnorm = _normal_residual(indices, data, lo, hi, F, x, lam[i], r, q)
            _cholesky_solve(R, r, z)
            rz = 0.0
            for a in range(k):
                p[a] = z[a]
                rz += r[a] * z[a]
            for step in range(n_steps):
                rnorm = np.sqrt(_dot(r, r))
                if rnorm <= rtol * bnorm or rz <= 0.0:
                    break
                _normal_matvec(indices, lo, hi, F, p, lam[i], q)
                pq = _dot(p, q)
                if pq <= 0.0:
                    break
                alpha = rz / pq
                for a in range(k):
                    x[a] += alpha * p[a]
                    r[a] -= alpha * q[a]
                _cholesky_solve(R, r, z)
                rz_new = 0.0
                for a in range(k):
                    rz_new += r[a] * z[a]
                beta = rz_new / rz
                rz = rz_new
                for a in range(k):
                    p[a] = z[a] + beta * p[a]
                steps[i] += 1
            for a in range(k):
                out[i, a] = x[a]
    return steps.sum()


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def observed_squared_error(indptr, indices, data, U, V):
    """Sum of ``(U[i] . V[j] - M[i, j])^2`` over the observed entries (CSR of ``M``)."""
    n_rows = indptr.shape[0] - 1
    k = U.shape[1]
    total = 0.0
    for i in prange(n_rows):
        part = 0.0
        for t in range(indptr[i], indptr[i + 1]):
            j = indices[t]
            s = 0.0
            for a in range(k):
                s += U[i, a] * V[j, a]
            e = s - data[t]
            part += e * e
        total += part
    return total


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def predict_entries(rows, cols, U, V, out):
    """``out[t] = U[rows[t]] . V[cols[t]]`` for every requested entry."""
    k = U.shape[1]
    for t in prange(rows.shape[0]):
        s = 0.0
        for a in range(k):
            s += U[rows[t], a] * V[cols[t], a]
        out[t] = s
