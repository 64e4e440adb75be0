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

from libc.math cimport fabs
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


def forest_sweep(const index_t[::1] cross_indptr, const index_t[::1] cross_indices,
                 const floating[::1] cross_data, const int64_t[::1] order,
                 const int64_t[::1] start, const int64_t[::1] up, const floating[::1] coef,
                 const floating[::1] inv, const int64_t[::1] sequence, floating[:, ::1] x,
                 floating[:, ::1] g, floating[:, ::1] work):
    """Exact updates of the fixed forest blocks listed in ``sequence``, in that order.

    Each block takes two passes over its nodes. The upward pass eliminates on ``g`` itself (the
    step solves ``Q_bb d = -g_b``, and elimination commutes with the sign); the downward pass
    substitutes, writing ``d`` to ``work`` (a parent's step is written before its children
    read it), updates ``x``, zeroes the block's gradient (exact after an exact block solve)
    and scatters ``d`` along the edges leaving the block: ``cross`` holds just those entries
    of ``Q``.
    """
    cdef int64_t k = x.shape[1]
    cdef int64_t s, b, lo, hi, t, i, p, q, j, c
    cdef floating f, d, w, a, r
    cdef floating* xp
    cdef floating* gp
    cdef floating* dp
    if x.shape[0] == 0:
        return
    xp = &x[0, 0]
    gp = &g[0, 0]
    dp = &work[0, 0]
    with nogil:
        for s in range(sequence.shape[0]):
            b = sequence[s]
            lo = start[b]
            hi = start[b + 1]
            for t in range(hi - 1, lo - 1, -1):
                p = up[t]
                if p >= 0:
                    i = order[t]
                    f = coef[t] * inv[t]
                    for c in range(k):
                        gp[p * k + c] -= f * gp[i * k + c]
            for t in range(lo, hi):
                i = order[t]
                p = up[t]
                a = coef[t]
                r = inv[t]
                for c in range(k):
                    d = -gp[i * k + c]
                    if p >= 0:
                        d -= a * dp[p * k + c]
                    d *= r
                    dp[i * k + c] = d
                    xp[i * k + c] += d
                    gp[i * k + c] = 0
                for q in range(cross_indptr[i], cross_indptr[i + 1]):
                    j = cross_indices[q]
                    w = cross_data[q]
                    for c in range(k):
                        gp[j * k + c] += w * dp[i * k + c]


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
