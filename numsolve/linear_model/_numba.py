"""Numba kernels of the working-set coordinate descent, for dense and CSC sparse ``X``.

All kernels are ``@njit(cache=True, nogil=True)`` free functions working in float64 on
``W`` of shape (p, K) and the linear predictor ``Z`` of shape (n, K). The datafit is passed
as its integer ``kind`` (0 least squares, 1 logistic, 2 multinomial) and the penalty as
``(l1, l2, positive)`` (see ``_penalties``). Shapes and indices are checked in Python before
any kernel runs. The single-task loops over samples may reassociate their sums
(``fastmath`` with ``reassoc`` and ``contract`` only, no finite-math assumptions), so that
the dot products vectorise.
"""

import numpy as np
from numba import njit

__all__ = [
    "cd_epoch_dense",
    "cd_epoch_dense_single",
    "cd_epoch_sparse_single",
    "cd_epoch_sparse",
    "col_sq_norms_dense",
    "intercept_step",
    "predict_dense",
    "predict_sparse",
    "raw_gradient",
    "ws_gradient_dense",
    "ws_gradient_sparse",
]

_REASSOCIATE = {"reassoc", "contract"}


@njit(cache=True, nogil=True, inline="always")
def _row_gradient(kind, Z, i, yi, ai, g):
    """Raw gradient of sample ``i`` into ``g`` (length K)."""
    K = Z.shape[1]
    if kind == 0:
        g[0] = ai * (Z[i, 0] - yi)
    elif kind == 1:
        g[0] = -ai * yi / (1.0 + np.exp(yi * Z[i, 0]))
    else:
        top = Z[i, 0]
        for c in range(1, K):
            if Z[i, c] > top:
                top = Z[i, c]
        total = 0.0
        for c in range(K):
            g[c] = np.exp(Z[i, c] - top)
            total += g[c]
        for c in range(K):
            g[c] = ai * g[c] / total
        g[int(yi)] -= ai


@njit(cache=True, nogil=True, inline="always")
def _prox(v, step, l1, l2, positive):
    shrink = step * l1
    if v > shrink:
        out = v - shrink
    elif v < -shrink and not positive:
        out = v + shrink
    else:
        out = 0.0
    return out / (1.0 + step * l2)


@njit(cache=True, nogil=True)
def raw_gradient(kind, Z, y, a, G):
    """Fill ``G`` (n, K) with the datafit's raw gradient at ``Z``."""
    for i in range(Z.shape[0]):
        _row_gradient(kind, Z, i, y[i], a[i], G[i])


@njit(cache=True, nogil=True)
def cd_epoch_dense(kind, X, y, a, W, Z, ws, lips, l1, l2, positive):
    """One pass of proximal block-coordinate steps over the features ``ws`` (dense X).

    Feature ``j``'s K coefficients form one block with Lipschitz constant ``lips[j]``; the
    step is exact for least squares and a guaranteed-decrease prox-gradient step otherwise.
    """
    n, K = Z.shape
    grad = np.empty(K)
    g = np.empty(K)
    delta = np.empty(K)
    for jj in range(ws.shape[0]):
        j = ws[jj]
        L = lips[j]
        if L <= 0.0:
            continue
        grad[:] = 0.0
        for i in range(n):
            x = X[i, j]
            if x != 0.0:
                _row_gradient(kind, Z, i, y[i], a[i], g)
                for c in range(K):
                    grad[c] += x * g[c]
        moved = False
        for c in range(K):
            old = W[j, c]
            new = _prox(old - grad[c] / L, 1.0 / L, l1, l2, positive)
            delta[c] = new - old
            if new != old:
                W[j, c] = new
                moved = True
        if moved:
            for i in range(n):
                x = X[i, j]
                if x != 0.0:
                    for c in range(K):
                        Z[i, c] += x * delta[c]


@njit(cache=True, nogil=True)
def cd_epoch_sparse(kind, data, indices, indptr, y, a, W, Z, ws, lips, l1, l2, positive):
    """Same as :func:`cd_epoch_dense` for CSC ``X`` given by ``(data, indices, indptr)``."""
    K = Z.shape[1]
    grad = np.empty(K)
    g = np.empty(K)
    delta = np.empty(K)
    for jj in range(ws.shape[0]):
        j = ws[jj]
        L = lips[j]
        if L <= 0.0:
            continue
        grad[:] = 0.0
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            _row_gradient(kind, Z, i, y[i], a[i], g)
            x = data[k]
            for c in range(K):
                grad[c] += x * g[c]
        moved = False
        for c in range(K):
            old = W[j, c]
            new = _prox(old - grad[c] / L, 1.0 / L, l1, l2, positive)
            delta[c] = new - old
            if new != old:
                W[j, c] = new
                moved = True
        if moved:
            for k in range(indptr[j], indptr[j + 1]):
                i = indices[k]
                x = data[k]
                for c in range(K):
                    Z[i, c] += x * delta[c]


@njit(cache=True, nogil=True)
def intercept_step(kind, y, a, b, Z, bound):
    """Gradient step ``b -= sum_i G_i / bound`` on the intercept (exact for least squares)."""
    n, K = Z.shape
    total = np.zeros(K)
    g = np.empty(K)
    for i in range(n):
        _row_gradient(kind, Z, i, y[i], a[i], g)
        for c in range(K):
            total[c] += g[c]
    for c in range(K):
        step = total[c] / bound
        b[c] -= step
        for i in range(n):
            Z[i, c] -= step


@njit(cache=True, nogil=True, fastmath=_REASSOCIATE)
def predict_dense(X, W, ws, b, Z):
    """``Z = X[:, ws] W[ws] + b``."""
    n, K = Z.shape
    for i in range(n):
        for c in range(K):
            Z[i, c] = b[c]
    for jj in range(ws.shape[0]):
        j = ws[jj]
        for c in range(K):
            w = W[j, c]
            if w != 0.0:
                for i in range(n):
                    Z[i, c] += X[i, j] * w


@njit(cache=True, nogil=True, fastmath=_REASSOCIATE)
def predict_sparse(data, indices, indptr, W, ws, b, Z):
    """``Z = X[:, ws] W[ws] + b`` for CSC ``X``."""
    n, K = Z.shape
    for i in range(n):
        for c in range(K):
            Z[i, c] = b[c]
    for jj in range(ws.shape[0]):
        j = ws[jj]
        for c in range(K):
            w = W[j, c]
            if w != 0.0:
                for k in range(indptr[j], indptr[j + 1]):
                    Z[indices[k], c] += data[k] * w


@njit(cache=True, nogil=True, fastmath=_REASSOCIATE)
def col_sq_norms_dense(X, a, out):
    """``out[j] = sum_i a_i X_ij^2``."""
    n, p = X.shape
    for j in range(p):
        acc = 0.0
        for i in range(n):
            acc += a[i] * X[i, j] * X[i, j]
        out[j] = acc


@njit(cache=True, nogil=True, fastmath=_REASSOCIATE)
def ws_gradient_dense(X, G, ws, out):
    """``out[jj] = X[:, ws[jj]]' G`` (out of shape (len(ws), K)); ``G`` row-major."""
    n, K = G.shape
    for jj in range(ws.shape[0]):
        j = ws[jj]
        if K == 1:
            acc = 0.0
            for i in range(n):
                acc += X[i, j] * G[i, 0]
            out[jj, 0] = acc
            continue
        for c in range(K):
            out[jj, c] = 0.0
        for i in range(n):
            x = X[i, j]
            if x != 0.0:
                for c in range(K):
                    out[jj, c] += x * G[i, c]


@njit(cache=True, nogil=True, fastmath=_REASSOCIATE)
def ws_gradient_sparse(data, indices, indptr, G, ws, out):
    """Same as :func:`ws_gradient_dense` for CSC ``X``."""
    K = G.shape[1]
    for jj in range(ws.shape[0]):
        j = ws[jj]
        if K == 1:
            acc = 0.0
            for k in range(indptr[j], indptr[j + 1]):
                acc += data[k] * G[indices[k], 0]
            out[jj, 0] = acc
            continue
        for c in range(K):
            out[jj, c] = 0.0
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            x = data[k]
            for c in range(K):
                out[jj, c] += x * G[i, c]


@njit(cache=True, nogil=True, fastmath=_REASSOCIATE)
def cd_epoch_dense_single(kind, X, y, a, w, z, ws, lips, l1, l2, positive):
    """Single-task (K = 1) version of :func:`cd_epoch_dense` with branch-free inner loops."""
    if kind == 0:
        _least_squares_epoch_dense(X, y, a, w, z, ws, lips, l1, l2, positive)
        return
    n = z.shape[0]
    for jj in range(ws.shape[0]):
        j = ws[jj]
        L = lips[j]
        if L <= 0.0:
            continue
        grad = 0.0
        for i in range(n):
            grad -= X[i, j] * (a[i] * y[i] / (1.0 + np.exp(y[i] * z[i])))
        old = w[j]
        new = _prox(old - grad / L, 1.0 / L, l1, l2, positive)
        if new != old:
            w[j] = new
            delta = new - old
            for i in range(n):
                z[i] += X[i, j] * delta


@njit(cache=True, nogil=True, fastmath=_REASSOCIATE)
def cd_epoch_sparse_single(kind, data, indices, indptr, y, a, w, z, ws, lips, l1, l2,
                           positive):
    """Single-task (K = 1) version of :func:`cd_epoch_sparse`."""
    if kind == 0:
        _least_squares_epoch_sparse(data, indices, indptr, y, a, w, z, ws, lips, l1, l2,
                                    positive)
        return
    for jj in range(ws.shape[0]):
        j = ws[jj]
        L = lips[j]
        if L <= 0.0:
            continue
        grad = 0.0
        start, end = indptr[j], indptr[j + 1]
        for k in range(start, end):
            i = indices[k]
            grad -= data[k] * (a[i] * y[i] / (1.0 + np.exp(y[i] * z[i])))
        old = w[j]
        new = _prox(old - grad / L, 1.0 / L, l1, l2, positive)
        if new != old:
            w[j] = new
            delta = new - old
            for k in range(start, end):
                z[indices[k]] += data[k] * delta


@njit(cache=True, nogil=True, inline="always")
def _weighted_residual(y, a, z):
    r = np.empty(z.shape[0])
    for i in range(z.shape[0]):
        r[i] = a[i] * (z[i] - y[i])
    return r


@njit(cache=True, nogil=True, fastmath=_REASSOCIATE)
def _least_squares_epoch_dense(X, y, a, w, z, ws, lips, l1, l2, positive):
    """Least-squares epoch on the weighted residual ``r = a (z - y)``, kept beside ``z``:
    each coordinate's gradient is one dot product ``X_j' r`` of two contiguous vectors."""
    r = _weighted_residual(y, a, z)
    for jj in range(ws.shape[0]):
        j = ws[jj]
        L = lips[j]
        if L <= 0.0:
            continue
        grad = 0.0
        for i in range(z.shape[0]):
            grad += X[i, j] * r[i]
        old = w[j]
        new = _prox(old - grad / L, 1.0 / L, l1, l2, positive)
        if new != old:
            w[j] = new
            delta = new - old
            for i in range(z.shape[0]):
                step = X[i, j] * delta
                z[i] += step
                r[i] += a[i] * step


@njit(cache=True, nogil=True, fastmath=_REASSOCIATE)
def _least_squares_epoch_sparse(data, indices, indptr, y, a, w, z, ws, lips, l1, l2,
                                positive):
    """Same as :func:`_least_squares_epoch_dense` for CSC ``X``."""
    r = _weighted_residual(y, a, z)
    for jj in range(ws.shape[0]):
        j = ws[jj]
        L = lips[j]
        if L <= 0.0:
            continue
        grad = 0.0
        start, end = indptr[j], indptr[j + 1]
        for k in range(start, end):
            grad += data[k] * r[indices[k]]
        old = w[j]
        new = _prox(old - grad / L, 1.0 / L, l1, l2, positive)
        if new != old:
            w[j] = new
            delta = new - old
            for k in range(start, end):
                i = indices[k]
                step = data[k] * delta
                z[i] += step
                r[i] += a[i] * step
