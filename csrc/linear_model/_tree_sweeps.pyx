# cython: language_level=3
"""Exact and proximal block updates on forest blocks of a sparse SPD matrix ``Q``.

A forest block's system ``Q_bb d = r`` is solved in ``O(|b|)`` by the two-sweep elimination
of :mod:`numsolve.linear_model._tree_solve`: leaves first (children before parents) to
eliminate, then parents before children to substitute. Blocks are stored as a rooted order
``order[start[b]:start[b+1]]`` (parents first); ``parent[i]`` and ``parent_pos[i]`` give the
parent of node ``i`` and the CSR position of ``Q[i, parent[i]]``.

Right-hand sides are the columns of C-contiguous ``(n, k)`` arrays: ``x`` (the iterate),
``g = Q x - c`` (kept up to date after every block) and ``work`` (the step). All kernels release
the GIL and allocate nothing; shapes and dtypes are checked by the Python callers.
"""

import numpy as np

from libc.math cimport fabs, sqrt
from libc.stdint cimport int64_t

include "_graph_types.pxi"


cdef void _factor(const floating* data, const floating* diag, const int64_t* order, int64_t lo,
                  int64_t hi, const int64_t* parent, const int64_t* parent_pos,
                  floating* pivot) noexcept nogil:
    """Pivots of the leaf-first elimination of the forest ``order[lo:hi]`` (parents first)."""
    cdef int64_t t, i, p
    cdef floating w
    for t in range(lo, hi):
        i = order[t]
        pivot[i] = diag[i]
    for t in range(hi - 1, lo - 1, -1):
        i = order[t]
        p = parent[i]
        if p >= 0:
            w = data[parent_pos[i]]
            pivot[p] -= w * w / pivot[i]


def factor(const floating[::1] data, const floating[::1] diag, const int64_t[::1] order,
           const int64_t[::1] parent, const int64_t[::1] parent_pos, floating[::1] pivot):
    """Pivots of the leaf-first elimination of every block of ``order``.

    Blocks are disjoint and each is ordered parents first, so one reverse pass over the whole
    order eliminates every block.
    """
    if order.shape[0] == 0:
        return
    with nogil:
        _factor(&data[0], &diag[0], &order[0], 0, order.shape[0], &parent[0], &parent_pos[0],
                &pivot[0])


def positional(const floating[::1] data, const int64_t[::1] order, const int64_t[::1] parent,
               const int64_t[::1] parent_pos, const floating[::1] pivot, int64_t[::1] up,
               floating[::1] coef, floating[::1] inv):
    """Factors by position in ``order``: parent node, ``Q_ip`` and ``1/piv_i``.

    Stored in sweep order, they are read sequentially by :func:`forest_sweep`.
    """
    cdef int64_t n = order.shape[0]
    cdef int64_t t, i
    with nogil:
        for t in range(n):
            i = order[t]
            up[t] = parent[i]
            coef[t] = data[parent_pos[i]] if parent[i] >= 0 else 0
            inv[t] = 1 / pivot[i]


cdef void _solve(const floating* data, const int64_t* order, int64_t lo, int64_t hi,
                 const int64_t* parent, const int64_t* parent_pos, const floating* pivot,
                 floating* work, int64_t k) noexcept nogil:
    """Overwrite the rows ``work[order[lo:hi]]`` (right-hand sides) with the block solution."""
    cdef int64_t t, i, p, c
    cdef floating f, w, inv
    for t in range(hi - 1, lo - 1, -1):
        i = order[t]
        p = parent[i]
        if p >= 0:
            f = data[parent_pos[i]] / pivot[i]
            for c in range(k):
                work[p * k + c] -= f * work[i * k + c]
    for t in range(lo, hi):
        i = order[t]
        p = parent[i]
        if p >= 0:
            w = data[parent_pos[i]]
            for c in range(k):
                work[i * k + c] = (work[i * k + c] - w * work[p * k + c]) / pivot[i]
        else:
            for c in range(k):
                work[i * k + c] /= pivot[i]


def solve_forest(const floating[::1] data, const int64_t[::1] order, const int64_t[::1] parent,
                 const int64_t[::1] parent_pos, const floating[::1] pivot,
                 floating[:, ::1] work):
    """Overwrite ``work`` (one right-hand side per column) with the solution of the forest."""
    if order.shape[0] == 0:
        return
    with nogil:
        _solve(&data[0], &order[0], 0, order.shape[0], &parent[0], &parent_pos[0], &pivot[0],
               &work[0, 0], work.shape[1])


cdef void _apply(const index_t* indptr, const index_t* indices, const floating* data,
                 const int64_t* order, int64_t lo, int64_t hi, floating* x, floating* g,
                 const floating* work, int64_t k) noexcept nogil:
    """``x_b += d`` and ``g += Q[:, b] d`` for the step ``d`` held in ``work``'s block rows."""
    cdef int64_t t, i, q, j, c
    cdef floating w
    for t in range(lo, hi):
        i = order[t]
        for c in range(k):
            x[i * k + c] += work[i * k + c]
        for q in range(indptr[i], indptr[i + 1]):
            j = indices[q]
            w = data[q]
            for c in range(k):
                g[j * k + c] += w * work[i * k + c]


cdef struct ForestBlocks:
    # a fixed partition into forests, factored (see ``positional``), and the block sequence
    # of one sweep; the entries of Q between blocks, the factors and the iterates are passed
    # beside it, typed
    const int64_t* order
    const int64_t* start
    const int64_t* up
    const int64_t* sequence
    int64_t n_sequence


cdef void _forest_sweep(const ForestBlocks* blocks, const index_t* cross_indptr,
                        const index_t* cross_indices, const floating* cross_data,
                        const floating* coef, const floating* inv, floating* x, floating* g,
                        floating* work, int64_t k) noexcept nogil:
    """Exact updates of the blocks of ``blocks.sequence``, in that order.

    Each block takes two passes over its nodes. The upward pass eliminates on ``g`` itself (the
    step solves ``Q_bb d = -g_b``, and elimination commutes with the sign); the downward pass
    substitutes, writing ``d`` to ``work`` (a parent's step is written before its children
    read it), updates ``x``, zeroes the block's gradient (exact after an exact block solve)
    and scatters ``d`` along the edges leaving the block: ``cross`` holds just those entries
    of ``Q``.
    """
    cdef const int64_t* order = blocks.order
    cdef const int64_t* up = blocks.up
    cdef int64_t s, b, lo, hi, t, i, p, q, j, c
    cdef floating f, d, w, a, r
    for s in range(blocks.n_sequence):
        b = blocks.sequence[s]
        lo = blocks.start[b]
        hi = blocks.start[b + 1]
        for t in range(hi - 1, lo - 1, -1):
            p = up[t]
            if p >= 0:
                i = order[t]
                f = coef[t] * inv[t]
                for c in range(k):
                    g[p * k + c] -= f * g[i * k + c]
        for t in range(lo, hi):
            i = order[t]
            p = up[t]
            a = coef[t]
            r = inv[t]
            for c in range(k):
                d = -g[i * k + c]
                if p >= 0:
                    d -= a * work[p * k + c]
                d *= r
                work[i * k + c] = d
                x[i * k + c] += d
                g[i * k + c] = 0
            for q in range(cross_indptr[i], cross_indptr[i + 1]):
                j = cross_indices[q]
                w = cross_data[q]
                for c in range(k):
                    g[j * k + c] += w * work[i * k + c]


cdef ForestBlocks _blocks(const int64_t[::1] order, const int64_t[::1] start,
                          const int64_t[::1] up, const int64_t[::1] sequence):
    cdef ForestBlocks blocks
    blocks.order = &order[0]
    blocks.start = &start[0]
    blocks.up = &up[0]
    blocks.sequence = &sequence[0]
    blocks.n_sequence = sequence.shape[0]
    return blocks


def forest_sweep(const index_t[::1] cross_indptr, const index_t[::1] cross_indices,
                 const floating[::1] cross_data, const int64_t[::1] order,
                 const int64_t[::1] start, const int64_t[::1] up, const floating[::1] coef,
                 const floating[::1] inv, const int64_t[::1] sequence, floating[:, ::1] x,
                 floating[:, ::1] g, floating[:, ::1] work):
    """Exact updates of the fixed forest blocks listed in ``sequence``, in that order."""
    if x.shape[0] == 0 or sequence.shape[0] == 0:
        return
    cdef ForestBlocks blocks = _blocks(order, start, up, sequence)
    with nogil:
        _forest_sweep(&blocks, &cross_indptr[0], &cross_indices[0], &cross_data[0], &coef[0],
                      &inv[0], &x[0, 0], &g[0, 0], &work[0, 0], x.shape[1])


cdef enum:
    # rows of the (5, n, k) array of a forest-preconditioned CG run
    PRECONDITIONED = 0   # z = M^-1 r
    PRECONDITIONED_GRADIENT = 1   # Q z - r, kept by the sweep
    STEP = 2   # the sweep's block steps
    DIRECTION = 3   # p
    PRODUCT = 4   # Q p


def forest_pcg(const index_t[::1] cross_indptr, const index_t[::1] cross_indices,
               const floating[::1] cross_data, const int64_t[::1] order,
               const int64_t[::1] start, const int64_t[::1] up, const floating[::1] coef,
               const floating[::1] inv, const int64_t[::1] sequence,
               const double[::1] c_norms, double tol, floating[:, ::1] x, floating[:, ::1] r,
               floating[:, :, ::1] buffers, double[::1] rho, double[::1] residuals,
               int64_t n_iter, int64_t max_iter):
    """Conjugate gradients preconditioned by the symmetric forest sweep, one run per column.

    Continues a run from iteration ``n_iter``: each iteration preconditions ``r`` and renews
    the direction (a run starts with ``p = q = rho = 0``, so its first direction is ``z``;
    the caller may replace ``r`` by the true residual between calls), then steps. Every iteration writes its relative residual
    (largest over the columns, ``||r|| / c_norms``) to ``residuals[n_iter]``; the run stops
    after the iteration that meets ``tol`` or reaches ``max_iter``, and returns ``n_iter``.
    The preconditioner's product ``Q z`` falls out of the sweep, so ``q = Q p`` needs no
    product with ``Q``. All in one call without the GIL; no allocation per iteration.
    """
    cdef int64_t n = x.shape[0]
    cdef int64_t k = x.shape[1]
    if n == 0 or n_iter >= max_iter:
        return n_iter
    cdef ForestBlocks blocks = _blocks(order, start, up, sequence)
    scratch_array = np.zeros((3, k))
    cdef double[:, ::1] scratch = scratch_array
    cdef double* step = &scratch[0, 0]   # alpha, then beta
    cdef double* total = &scratch[1, 0]   # a dot product per column
    cdef double* curvature = &scratch[2, 0]
    cdef floating* xp = &x[0, 0]
    cdef floating* rp = &r[0, 0]
    cdef floating* z = &buffers[PRECONDITIONED, 0, 0]
    cdef floating* gz = &buffers[PRECONDITIONED_GRADIENT, 0, 0]
    cdef floating* work = &buffers[STEP, 0, 0]
    cdef floating* p = &buffers[DIRECTION, 0, 0]
    cdef floating* q = &buffers[PRODUCT, 0, 0]
    cdef int64_t i, row, c, e, m = n * k
    cdef double residual
    with nogil:
        while True:
            for i in range(m):
                z[i] = 0
                gz[i] = -rp[i]
            _forest_sweep(&blocks, &cross_indptr[0], &cross_indices[0], &cross_data[0],
                          &coef[0], &inv[0], z, gz, work, k)
            for c in range(k):
                total[c] = 0
                curvature[c] = 0
            for row in range(n):
                for c in range(k):
                    e = row * k + c
                    total[c] += rp[e] * z[e]
            for c in range(k):
                step[c] = total[c] / rho[c] if rho[c] > 0 else 0
                rho[c] = total[c]
            for row in range(n):
                for c in range(k):
                    e = row * k + c
                    p[e] = z[e] + step[c] * p[e]
                    q[e] = gz[e] + rp[e] + step[c] * q[e]
                    curvature[c] += p[e] * q[e]
            for c in range(k):
                step[c] = rho[c] / curvature[c] if curvature[c] > 0 else 0
                total[c] = 0
            for row in range(n):
                for c in range(k):
                    e = row * k + c
                    xp[e] += step[c] * p[e]
                    rp[e] -= step[c] * q[e]
                    total[c] += rp[e] * rp[e]
            n_iter += 1
            residual = 0
            for c in range(k):
                residual = max(residual, sqrt(total[c]) / c_norms[c])
            residuals[n_iter] = residual
            if residual <= tol or n_iter >= max_iter:
                break
    return n_iter


cdef struct Penalty:
    # l1 weight and box of the proximal updates
    double l1
    const void* lower
    const void* upper


cdef inline double _prox_value(double v, double scale, double l1, double lower,
                               double upper) noexcept nogil:
    """argmin_z scale/2 (z - v)^2 + l1 |z| over lower <= z <= upper."""
    cdef double shrink = l1 / scale
    cdef double z
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


cdef void _prox_block(const index_t* indptr, const index_t* indices, const floating* data,
                      const int64_t* order, int64_t lo, int64_t hi, const floating* scale,
                      const Penalty* penalty, floating* x, floating* g, floating* work,
                      int64_t k) noexcept nogil:
    """Majorised proximal update of block ``order[lo:hi]`` with curvatures ``scale``.

    ``scale[i]`` bounds the block's Hessian by a diagonal (the absolute row sum of ``Q`` over
    the block; ``Q_ii`` itself for an independent set, where the update is exact).
    """
    cdef const floating* lower = <const floating*> penalty.lower
    cdef const floating* upper = <const floating*> penalty.upper
    cdef int64_t t, i, c
    cdef floating s
    cdef double z
    for t in range(lo, hi):
        i = order[t]
        s = scale[i]
        for c in range(k):
            z = _prox_value(x[i * k + c] - g[i * k + c] / s, s, penalty.l1, lower[i], upper[i])
            work[i * k + c] = <floating> (z - x[i * k + c])
    _apply(indptr, indices, data, order, lo, hi, x, g, work, k)


def prox_sweep(const index_t[::1] indptr, const index_t[::1] indices,
               const floating[::1] data, const int64_t[::1] order, const int64_t[::1] start,
               const int64_t[::1] sequence, const floating[::1] scale, double l1,
               const floating[::1] lower, const floating[::1] upper, floating[:, ::1] x,
               floating[:, ::1] g, floating[:, ::1] work):
    """Proximal updates of the fixed blocks listed in ``sequence``, in that order."""
    cdef Penalty penalty
    cdef int64_t s, b
    if x.shape[0] == 0:
        return
    penalty.l1 = l1
    penalty.lower = &lower[0]
    penalty.upper = &upper[0]
    with nogil:
        for s in range(sequence.shape[0]):
            b = sequence[s]
            _prox_block(&indptr[0], &indices[0], &data[0], &order[0], start[b], start[b + 1],
                        &scale[0], &penalty, &x[0, 0], &g[0, 0], &work[0, 0], x.shape[1])


def greedy_update(const index_t[::1] indptr, const index_t[::1] indices,
                  const floating[::1] data, const floating[::1] diag,
                  const int64_t[::1] in_block, const int64_t[:, ::1] tree, int64_t size,
                  bint penalised, double l1, const floating[::1] lower,
                  const floating[::1] upper, floating[::1] pivot, floating[:, ::1] x,
                  floating[:, ::1] g, floating[:, ::1] work):
    """Update the forest marked (1) in ``in_block``: exact two-sweep step, or proximal step
    with the block's absolute row sums as curvatures when ``penalised``.

    ``tree`` holds the block's rooted order (``size`` nodes), parents and parent positions in
    its first three rows (see ``_graph_partition.order_block``).
    """
    cdef int64_t k = x.shape[1]
    cdef int64_t t, i, q, c
    cdef double s
    cdef Penalty penalty
    cdef const int64_t* order
    if size == 0:
        return
    order = &tree[0, 0]
    penalty.l1 = l1
    penalty.lower = &lower[0]
    penalty.upper = &upper[0]
    with nogil:
        if penalised:
            for t in range(size):
                i = order[t]
                s = 0.0
                for q in range(indptr[i], indptr[i + 1]):
                    if in_block[indices[q]]:
                        s += fabs(data[q])
                pivot[i] = <floating> s
            _prox_block(&indptr[0], &indices[0], &data[0], order, 0, size, &pivot[0],
                        &penalty, &x[0, 0], &g[0, 0], &work[0, 0], k)
        else:
            _factor(&data[0], &diag[0], order, 0, size, &tree[1, 0], &tree[2, 0], &pivot[0])
            for t in range(size):
                i = order[t]
                for c in range(k):
                    work[i, c] = -g[i, c]
            _solve(&data[0], order, 0, size, &tree[1, 0], &tree[2, 0], &pivot[0], &work[0, 0],
                   k)
            _apply(&indptr[0], &indices[0], &data[0], order, 0, size, &x[0, 0], &g[0, 0],
                   &work[0, 0], k)
