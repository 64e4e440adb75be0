"""Exact block updates on forest blocks of a sparse SPD matrix: two-sweep Gaussian elimination.

When the sub-graph of ``Q`` induced by a block is a forest, ``Q_bb d = r`` is solved in
``O(|b|)`` by eliminating leaves first (no fill-in) and substituting back from the roots, which
is Gaussian belief propagation, exact on trees:

1. upward sweep, children before parents: ``piv_p -= Q_pi**2 / piv_i``,
   ``r_p -= Q_pi r_i / piv_i``;
2. downward sweep, parents before children: ``d_i = (r_i - Q_ip d_p) / piv_i``.

The pivots depend on ``Q`` only, so a fixed partition factors once. The kernels below work on
the CSR arrays of ``Q`` in place, with one column per right-hand side, and keep the gradient
``g = Q x - c`` up to date after every block update (``g += Q[:, b] d``).
"""

import numpy as np
import scipy.sparse as sp
from numba import njit

from ._graph_blocks import _greedy_forest_kernel, forest_order

__all__ = ["tree_solve"]


@njit(cache=True, nogil=True)
def _factor(data, diag, order, lo, hi, parent, parent_pos, pivot):
    """Pivots of the leaf-first elimination of block ``order[lo:hi]``."""
    for t in range(lo, hi):
        i = order[t]
        pivot[i] = diag[i]
    for t in range(hi - 1, lo - 1, -1):
        i = order[t]
        p = parent[i]
        if p >= 0:
            w = data[parent_pos[i]]
            pivot[p] -= w * w / pivot[i]


@njit(cache=True, nogil=True)
def _solve(data, order, lo, hi, parent, parent_pos, pivot, work):
    """Overwrite the rows ``work[order[lo:hi]]`` (right-hand sides) with the block solution."""
    k = work.shape[1]
    if k == 1:
        _solve_one(data, order, lo, hi, parent, parent_pos, pivot, work[:, 0])
        return
    for t in range(hi - 1, lo - 1, -1):
        i = order[t]
        p = parent[i]
        if p >= 0:
            f = data[parent_pos[i]] / pivot[i]
            for c in range(k):
                work[p, c] -= f * work[i, c]
    for t in range(lo, hi):
        i = order[t]
        p = parent[i]
        inv = 1.0 / pivot[i]
        if p >= 0:
            w = data[parent_pos[i]]
            for c in range(k):
                work[i, c] = (work[i, c] - w * work[p, c]) * inv
        else:
            for c in range(k):
                work[i, c] *= inv


@njit(cache=True, nogil=True)
def _solve_one(data, order, lo, hi, parent, parent_pos, pivot, work):
    """:func:`_solve` for a single right-hand side (a strided vector)."""
    for t in range(hi - 1, lo - 1, -1):
        i = order[t]
        p = parent[i]
        if p >= 0:
            work[p] -= data[parent_pos[i]] / pivot[i] * work[i]
    for t in range(lo, hi):
        i = order[t]
        p = parent[i]
        if p >= 0:
            work[i] = (work[i] - data[parent_pos[i]] * work[p]) / pivot[i]
        else:
            work[i] /= pivot[i]


@njit(cache=True, nogil=True)
def _apply(indptr, indices, data, order, lo, hi, x, g, work):
    """``x_b += d`` and ``g += Q[:, b] d`` for the step ``d`` held in ``work``'s block rows."""
    k = x.shape[1]
    if k == 1:
        x1 = x[:, 0]
        g1 = g[:, 0]
        w1 = work[:, 0]
        for t in range(lo, hi):
            i = order[t]
            d = w1[i]
            x1[i] += d
            for q in range(indptr[i], indptr[i + 1]):
                g1[indices[q]] += data[q] * d
        return
    for t in range(lo, hi):
        i = order[t]
        for c in range(k):
            x[i, c] += work[i, c]
        for q in range(indptr[i], indptr[i + 1]):
            j = indices[q]
            w = data[q]
            for c in range(k):
                g[j, c] += w * work[i, c]


@njit(cache=True, nogil=True)
def _exact_block(indptr, indices, data, order, lo, hi, parent, parent_pos, pivot, x, g, work):
    """Exact minimisation over block ``order[lo:hi]`` (a forest with factored pivots)."""
    k = x.shape[1]
    for t in range(lo, hi):
        i = order[t]
        for c in range(k):
            work[i, c] = -g[i, c]
    _solve(data, order, lo, hi, parent, parent_pos, pivot, work)
    _apply(indptr, indices, data, order, lo, hi, x, g, work)


@njit(cache=True, nogil=True)
def _prox_value(v, scale, l1, lower, upper):
    """argmin_z scale/2 (z - v)^2 + l1 |z| over lower <= z <= upper."""
    shrink = l1 / scale
    if v > shrink:
        z = v - shrink
    elif v < -shrink:
        z = v + shrink
    else:
        z = 0.0
    if z < lower:
        z = lower
    elif z > upper:
        z = upper
    return z


@njit(cache=True, nogil=True)
def _prox_block(indptr, indices, data, order, lo, hi, scale, l1, lower, upper, x, g, work):
    """Majorised proximal update of block ``order[lo:hi]`` with curvatures ``scale``.

    ``scale[i]`` bounds the block's Hessian by a diagonal (the absolute row sum of ``Q`` over
    the block; ``Q_ii`` itself for an independent set, where the update is exact).
    """
    k = x.shape[1]
    for t in range(lo, hi):
        i = order[t]
        s = scale[i]
        for c in range(k):
            z = _prox_value(x[i, c] - g[i, c] / s, s, l1, lower[i], upper[i])
            work[i, c] = z - x[i, c]
    _apply(indptr, indices, data, order, lo, hi, x, g, work)


@njit(cache=True, nogil=True)
def _positional(data, order, lo, hi, parent, parent_pos, pivot, up, coef, inv):
    """Factors of block ``order[lo:hi]`` by position: parent node, ``Q_ip`` and ``1/piv_i``.

    Stored in sweep order, they are read sequentially by :func:`_exact_block_cross`.
    """
    for t in range(lo, hi):
        i = order[t]
        up[t] = parent[i]
        coef[t] = data[parent_pos[i]] if parent[i] >= 0 else 0.0
        inv[t] = 1.0 / pivot[i]


@njit(cache=True, nogil=True)
def _exact_block_cross(cross_indptr, cross_indices, cross_data, order, lo, hi, up, coef, inv,
                       x, g, work):
    """Exact update of a fixed forest block from its positional factors (see
    :func:`_positional`), scattering only along edges leaving the block.

    After the exact block solve the block's own gradient is zero, so only the neighbours in
    other blocks need ``g += Q[:, b] d``: ``cross`` holds just those entries of ``Q``.
    """
    k = x.shape[1]
    if k == 1:
        x1 = x[:, 0]
        g1 = g[:, 0]
        w1 = work[:, 0]
        for t in range(lo, hi):
            w1[order[t]] = -g1[order[t]]
        for t in range(hi - 1, lo - 1, -1):
            p = up[t]
            if p >= 0:
                w1[p] -= coef[t] * inv[t] * w1[order[t]]
        for t in range(lo, hi):
            i = order[t]
            p = up[t]
            d = w1[i]
            if p >= 0:
                d -= coef[t] * w1[p]
            d *= inv[t]
            w1[i] = d
            x1[i] += d
            g1[i] = 0.0
            for q in range(cross_indptr[i], cross_indptr[i + 1]):
                g1[cross_indices[q]] += cross_data[q] * d
        return
    for t in range(lo, hi):
        i = order[t]
        for c in range(k):
            work[i, c] = -g[i, c]
    for t in range(hi - 1, lo - 1, -1):
        p = up[t]
        if p >= 0:
            i = order[t]
            f = coef[t] * inv[t]
            for c in range(k):
                work[p, c] -= f * work[i, c]
    for t in range(lo, hi):
        i = order[t]
        p = up[t]
        for c in range(k):
            d = work[i, c]
            if p >= 0:
                d -= coef[t] * work[p, c]
            d *= inv[t]
            work[i, c] = d
            x[i, c] += d
            g[i, c] = 0.0
        for q in range(cross_indptr[i], cross_indptr[i + 1]):
            j = cross_indices[q]
            w = cross_data[q]
            for c in range(k):
                g[j, c] += w * work[i, c]


@njit(cache=True, nogil=True)
def _sweep(cross_indptr, cross_indices, cross_data, order, start, up, coef, inv, sequence, x,
           g, work):
    """Exact updates of the fixed forest blocks listed in ``sequence``, in that order."""
    for s in range(sequence.shape[0]):
        b = sequence[s]
        _exact_block_cross(cross_indptr, cross_indices, cross_data, order, start[b],
                           start[b + 1], up, coef, inv, x, g, work)


@njit(cache=True, nogil=True)
def _prox_sweep(indptr, indices, data, order, start, sequence, scale, l1, lower, upper, x, g,
                work):
    """Proximal updates of the fixed blocks listed in ``sequence``, in that order."""
    for s in range(sequence.shape[0]):
        b = sequence[s]
        _prox_block(indptr, indices, data, order, start[b], start[b + 1], scale, l1, lower,
                    upper, x, g, work)


@njit(cache=True, nogil=True)
def _block_bfs(indptr, indices, in_block, order, parent, parent_pos):
    """Breadth-first order of the forest marked by ``in_block``; returns its size."""
    n = in_block.shape[0]
    seen = np.zeros(n, np.bool_)
    fill = 0
    for s in range(n):
        if not in_block[s] or seen[s]:
            continue
        head = fill
        order[fill] = s
        fill += 1
        seen[s] = True
        parent[s] = -1
        parent_pos[s] = -1
        while head < fill:
            i = order[head]
            head += 1
            for q in range(indptr[i], indptr[i + 1]):
                j = indices[q]
                if j == i or not in_block[j] or seen[j]:
                    continue
                seen[j] = True
                parent[j] = i
                lo = indptr[j]
                hi = indptr[j + 1]
                while lo < hi:
                    mid = (lo + hi) // 2
                    if indices[mid] < i:
                        lo = mid + 1
                    else:
                        hi = mid
                parent_pos[j] = lo
                order[fill] = j
                fill += 1
    return fill


@njit(cache=True, nogil=True)
def _greedy_step(indptr, indices, data, diag, scores, l1, lower, upper, penalised, x, g, work,
                 in_block, uf, roots, order, parent, parent_pos, pivot):
    """One greedy-forest iteration: grow the block from ``scores``, update it; return its size."""
    _greedy_forest_kernel(indptr, indices, scores, in_block, uf, roots)
    size = _block_bfs(indptr, indices, in_block, order, parent, parent_pos)
    if penalised:
        for t in range(size):
            i = order[t]
            s = 0.0
            for q in range(indptr[i], indptr[i + 1]):
                if in_block[indices[q]]:
                    s += abs(data[q])
            pivot[i] = s
        _prox_block(indptr, indices, data, order, 0, size, pivot, l1, lower, upper, x, g, work)
    else:
        _factor(data, diag, order, 0, size, parent, parent_pos, pivot)
        _exact_block(indptr, indices, data, order, 0, size, parent, parent_pos, pivot, x, g,
                     work)
    return size


def tree_solve(Q, b):
    """Solve ``Q x = b`` in linear time when the graph of ``Q`` is a forest.

    Parameters
    ----------
    Q : sparse matrix of shape (n, n)
        Symmetric positive definite, with a forest as its graph (off-diagonal pattern).
    b : ndarray of shape (n,) or (n, k)
        Right-hand side(s).

    Returns
    -------
    x : ndarray of the shape of ``b``

    Raises
    ------
    ValueError
        If the graph of ``Q`` has a cycle, or the shapes disagree.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from numsolve.linear_model import tree_solve
    >>> Q = sp.diags([[-1.0] * 3, [2.0] * 4, [-1.0] * 3], [-1, 0, 1], format="csr")
    >>> x = tree_solve(Q, np.ones(4))
    >>> bool(np.allclose(Q @ x, 1.0))
    True
    """
    if not sp.issparse(Q):
        raise TypeError(f"Q must be a SciPy sparse matrix, got {type(Q).__name__}")
    Q = sp.csr_matrix(Q)
    n = Q.shape[0]
    if Q.shape != (n, n):
        raise ValueError(f"Q must be square, got shape {Q.shape}")
    b = np.asarray(b)
    if b.shape[:1] != (n,) or b.ndim not in (1, 2):
        raise ValueError(f"b must have shape ({n},) or ({n}, k), got {b.shape}")
    dtype = np.result_type(Q.dtype, b.dtype, np.float32)
    Q = Q.astype(dtype).sorted_indices()
    order, start, parent, parent_pos = forest_order(Q, np.zeros(n, dtype=np.int64))
    pivot = np.empty(n, dtype=dtype)
    _factor(Q.data, Q.diagonal(), order, 0, n, parent, parent_pos, pivot)
    work = np.array(b.reshape(n, -1), dtype=dtype, order="C")
    _solve(Q.data, order, 0, n, parent, parent_pos, pivot, work)
    return work.reshape(b.shape)
