"""Numba kernels of the least-squares TOPO search on the Gram matrix ``G = X^T X / n``.

For an order ``pi`` the residual variance of the node at position ``k`` given its predecessors
is the ``k``-th pivot of the symmetric elimination (``LDL^T``) of ``Gp = G[pi][:, pi]``.
"""

import numpy as np
from numba import njit

__all__ = ["order_scan", "order_coefficients", "unit_upper_inverse", "lasso_gram"]

_TINY = 1e-300


@njit(cache=True, nogil=True)
def order_scan(Gp):
    """Residual variances of an order and the change of their sum for every single swap.

    Returns ``diag`` (pivots of ``Gp = L D L^T``), ``L`` (unit lower) and ``D`` with
    ``D[a, b]`` (``a < b``) the change of ``sum(diag)`` when positions ``a`` and ``b`` swap.

    With ``M_k`` the Schur complement of ``Gp`` on the positions before ``a`` and ``a + 1 ..
    k - 1`` (position ``a`` left out), the swapped order ``.., b, a + 1, .., b - 1, a, ..``
    has variances ``Gp|prefix[b, b]``, then ``M_k[k, k] - M_k[k, b]^2 / M_k[b, b]`` for the
    positions in between, then ``M_{b+1}[a, a]``. One elimination sequence per ``a`` serves
    every ``b``: ``O(d^4 / 12)`` for all pairs, instead of ``O((b - a)^3)`` per pair. Only
    upper triangles are read and written.
    """
    d = Gp.shape[0]
    cur = Gp.copy()
    M = np.empty((d, d))
    new = np.empty(d)
    diag = np.empty(d)
    L = np.eye(d)
    D = np.zeros((d, d))
    for a in range(d):
        piv = max(cur[a, a], _TINY)
        diag[a] = piv
        for i in range(a, d):
            for j in range(i, d):
                M[i, j] = cur[i, j]
        for b in range(a + 1, d):
            new[b] = M[b, b]
        for k in range(a + 1, d):
            mkk = max(M[k, k], _TINY)
            for b in range(k + 1, d):
                new[b] += M[k, k] - M[k, b] * M[k, b] / max(M[b, b], _TINY)
            f = M[a, k] / mkk
            M[a, a] -= f * M[a, k]
            for j in range(k + 1, d):
                M[a, j] -= f * M[k, j]
            for i in range(k + 1, d):
                f = M[k, i] / mkk
                for j in range(i, d):
                    M[i, j] -= f * M[k, j]
            new[k] += M[a, a]
        for b in range(a + 1, d):
            D[a, b] = new[b]
        # eliminate position a from the running Schur complement
        for i in range(a + 1, d):
            L[i, a] = cur[a, i] / piv
            for j in range(i, d):
                cur[i, j] -= L[i, a] * cur[a, j]
    for a in range(d):
        old = diag[a]
        for b in range(a + 1, d):
            old += diag[b]
            D[a, b] -= old
    return diag, L, D


@njit(cache=True, nogil=True)
def unit_upper_inverse(N):
    """``(I - N)^{-1}`` for a strictly upper triangular ``N`` (a unit upper triangular result)."""
    d = N.shape[0]
    out = np.zeros((d, d))
    for j in range(d):
        out[j, j] = 1.0
        for i in range(j - 1, -1, -1):
            s = 0.0
            for k in range(i + 1, j + 1):
                s += N[i, k] * out[k, j]
            out[i, j] = s
    return out


@njit(cache=True, nogil=True)
def order_coefficients(L):
    """Regression coefficients of every position on its predecessors from ``Gp = L D L^T``.

    The coefficient matrix ``B`` (strictly upper, ``B[i, k]`` for ``i`` before ``k``)
    satisfies ``I - B^T = L^{-1}``, so ``B = I - L^{-T}``.
    """
    B = -unit_upper_inverse(-L.T.copy())
    for i in range(L.shape[0]):
        B[i, i] = 0.0
    return B


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
