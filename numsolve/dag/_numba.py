"""Numba kernels of the least-squares TOPO search on the Gram matrix ``G = X^T X / n``.

For an order ``pi`` the residual variance of the node at position ``k`` given its predecessors
is the squared ``k``-th diagonal entry of the Cholesky factor of ``G[pi][:, pi]``.
"""

import numpy as np
from numba import njit, prange

__all__ = ["schur_prefixes", "swap_losses", "lasso_gram"]


@njit(cache=True, nogil=True)
def schur_prefixes(Gp):
    """Schur complements ``S[a] = Gp[a:, a:] | Gp[:a, :a]`` for every prefix length ``a``.

    Returns ``S`` of shape (d, d, d) with ``S[a, a:, a:]`` filled; ``diag`` holds the
    residual variances of the order (``S[a, a, a]``).
    """
    d = Gp.shape[0]
    S = np.zeros((d, d, d))
    cur = Gp.copy()
    for a in range(d):
        for i in range(a, d):
            for j in range(a, d):
                S[a, i, j] = cur[i, j]
        piv = cur[a, a]
        if piv <= 1e-300:
            piv = 1e-300
        for i in range(a + 1, d):
            f = cur[i, a] / piv
            for j in range(a + 1, d):
                cur[i, j] -= f * cur[a, j]
    return S


@njit(cache=True, nogil=True, parallel=True)
def swap_losses(S, diag, pa, pb):
    """Change of ``sum of residual variances`` when swapping positions ``pa[c] < pb[c]``.

    Only positions ``a..b`` change predecessor sets: their variances are the diagonal of an
    elimination of ``S[a]`` restricted to ``a..b`` in the swapped sequence.
    """
    m = pa.shape[0]
    out = np.empty(m)
    for c in prange(m):
        a = pa[c]
        b = pb[c]
        L = b - a + 1
        idx = np.empty(L, dtype=np.int64)
        for k in range(L):
            idx[k] = a + k
        idx[0] = b
        idx[L - 1] = a
        B = np.empty((L, L))
        for i in range(L):
            for j in range(L):
                B[i, j] = S[a, idx[i], idx[j]]
        new = 0.0
        old = 0.0
        for k in range(L):
            piv = B[k, k]
            if piv < 1e-300:
                piv = 1e-300
            new += piv
            old += diag[a + k]
            for i in range(k + 1, L):
                f = B[i, k] / piv
                for j in range(k + 1, L):
                    B[i, j] -= f * B[k, j]
        out[c] = new - old
    return out


@njit(cache=True, nogil=True)
def lasso_gram(G, v, P, lam, w, max_iter, tol):
    """Coordinate descent for ``min_w 1/2 w'G[P,P]w - G[P,v]'w + lam ||w||_1`` (warm start w)."""
    p = P.shape[0]
    for _ in range(max_iter):
        delta = 0.0
        for k in range(p):
            i = P[k]
            r = G[i, v]
            for l in range(p):
                if l != k:
                    r -= G[i, P[l]] * w[l]
            g = G[i, i]
            if r > lam:
                new = (r - lam) / g
            elif r < -lam:
                new = (r + lam) / g
            else:
                new = 0.0
            if abs(new - w[k]) > delta:
                delta = abs(new - w[k])
            w[k] = new
        if delta < tol:
            break
    return w
