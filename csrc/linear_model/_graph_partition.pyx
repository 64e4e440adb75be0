# cython: language_level=3
"""Graph partitions of a sparse symmetric matrix: colour classes, forests, rooted block orders.

The kernels read the CSR structure ``(indptr, indices)`` of ``Q`` (sorted indices, symmetric
pattern; int32 or int64) and write int64 label and order arrays. Every check (shapes,
permutations, sorted indices) is done by the Python caller
(:mod:`numsolve.linear_model._graph_blocks`) before a kernel is entered.
"""

import numpy as np

from libc.stdint cimport int64_t

include "_graph_types.pxi"


cdef inline int64_t _find(int64_t* uf, int64_t i) noexcept nogil:
    """Root of ``i`` in the union-find array ``uf`` (path halving)."""
    while uf[i] != i:
        uf[i] = uf[uf[i]]
        i = uf[i]
    return i


cdef inline int64_t _position(const index_t* indptr, const index_t* indices, int64_t row,
                              int64_t col) noexcept nogil:
    """Position of entry ``(row, col)`` in sorted CSR arrays (binary search)."""
    cdef int64_t lo = indptr[row]
    cdef int64_t hi = indptr[row + 1]
    cdef int64_t mid
    while lo < hi:
        mid = (lo + hi) // 2
        if indices[mid] < col:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int64_t _joinable_roots(const index_t* indptr, const index_t* indices, int64_t i,
                             const int64_t* label, int64_t f, int64_t* uf,
                             int64_t* roots) noexcept nogil:
    """Tree roots of ``i``'s neighbours labelled ``f``, written to ``roots``; their count.

    Returns -1 when two of those neighbours share a tree: adding ``i`` would close a cycle.
    """
    cdef int64_t m = 0
    cdef int64_t k, j, r, q
    for k in range(indptr[i], indptr[i + 1]):
        j = indices[k]
        if j == i or label[j] != f:
            continue
        r = _find(uf, j)
        for q in range(m):
            if roots[q] == r:
                return -1
        roots[m] = r
        m += 1
    return m


cdef bint _try_join(const index_t* indptr, const index_t* indices, int64_t i,
                    const int64_t* label, int64_t f, int64_t* uf, int64_t* roots) noexcept nogil:
    """Join ``i`` to the forest labelled ``f`` (union of its trees) unless it closes a cycle."""
    cdef int64_t m = _joinable_roots(indptr, indices, i, label, f, uf, roots)
    cdef int64_t q
    if m < 0:
        return False
    for q in range(m):
        uf[roots[q]] = i
    return True


def colour_labels(const index_t[::1] indptr, const index_t[::1] indices,
                  const int64_t[::1] order):
    """Greedy least-used colouring of the nodes scanned in ``order``."""
    cdef int64_t n = order.shape[0]
    colour_array = np.full(n, -1, dtype=np.int64)
    used_array = np.zeros(n + 1, dtype=np.int64)
    stamp_array = np.full(n + 1, -1, dtype=np.int64)
    cdef int64_t[::1] colour = colour_array
    cdef int64_t[::1] used = used_array
    cdef int64_t[::1] stamp = stamp_array
    cdef int64_t n_colours = 0
    cdef int64_t t, i, k, j, c, best
    with nogil:
        for t in range(n):
            i = order[t]
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                if j != i and colour[j] >= 0:
                    stamp[colour[j]] = i
            best = -1
            for c in range(n_colours):
                if stamp[c] != i and (best < 0 or used[c] < used[best]):
                    best = c
            if best < 0:
                best = n_colours
                n_colours += 1
            colour[i] = best
            used[best] += 1
    return colour_array


def breadth_first_order(const index_t[::1] indptr, const index_t[::1] indices):
    """Breadth-first order of the whole graph, components seeded by increasing index."""
    cdef int64_t n = indptr.shape[0] - 1
    order_array = np.empty(n, dtype=np.int64)
    seen_array = np.zeros(n, dtype=np.uint8)
    cdef int64_t[::1] order = order_array
    cdef unsigned char[::1] seen = seen_array
    cdef int64_t fill = 0
    cdef int64_t s, head, i, k, j
    with nogil:
        for s in range(n):
            if seen[s]:
                continue
            head = fill
            order[fill] = s
            fill += 1
            seen[s] = 1
            while head < fill:
                i = order[head]
                head += 1
                for k in range(indptr[i], indptr[i + 1]):
                    j = indices[k]
                    if not seen[j]:
                        seen[j] = 1
                        order[fill] = j
                        fill += 1
    return order_array


def forest_labels(const index_t[::1] indptr, const index_t[::1] indices,
                  const int64_t[::1] order):
    """First-fit partition into forests of the nodes scanned in ``order`` (union-find)."""
    cdef int64_t n = order.shape[0]
    label_array = np.full(n, -1, dtype=np.int64)
    uf_array = np.arange(n, dtype=np.int64)
    roots_array = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] label = label_array
    cdef int64_t[::1] uf = uf_array
    cdef int64_t[::1] roots = roots_array
    cdef int64_t n_forests = 0
    cdef int64_t t, i, f
    if n == 0:
        return label_array
    with nogil:
        for t in range(n):
            i = order[t]
            f = 0
            while f < n_forests and not _try_join(&indptr[0], &indices[0], i, &label[0], f,
                                                  &uf[0], &roots[0]):
                f += 1
            if f == n_forests:
                n_forests += 1
            label[i] = f
    return label_array


def grow_forest(const index_t[::1] indptr, const index_t[::1] indices,
                const int64_t[::1] ranking, int64_t[::1] in_block, int64_t[::1] uf,
                int64_t[::1] roots):
    """Grow one forest by scanning nodes in ``ranking``; mark it (1) in ``in_block``.

    Returns the size of the forest.
    """
    cdef int64_t n = ranking.shape[0]
    cdef int64_t size = 0
    cdef int64_t t, i
    if n == 0:
        return 0
    with nogil:
        for i in range(n):
            in_block[i] = 0
            uf[i] = i
        for t in range(n):
            i = ranking[t]
            if _try_join(&indptr[0], &indices[0], i, &in_block[0], 1, &uf[0], &roots[0]):
                in_block[i] = 1
                size += 1
    return size


cdef bint _monotone_parents(const index_t* indptr, const index_t* indices, const int64_t* label,
                            const int64_t* nodes, int64_t m, bint upward, int64_t* parent,
                            int64_t* parent_pos) noexcept nogil:
    """Try the index order as elimination order of a block; False if some node has two parents.

    With ``upward`` the parent of a node is its unique larger-index neighbour in the block,
    otherwise its unique smaller-index one. Such an order exists for both comb forests of a
    lattice and keeps every sweep a sequential pass over memory.
    """
    cdef int64_t t, i, b, k, j
    for t in range(m):
        i = nodes[t]
        b = label[i]
        parent[i] = -1
        parent_pos[i] = -1
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            if j == i or label[j] != b or (j > i) != upward:
                continue
            if parent[i] >= 0:
                return False
            parent[i] = j
            parent_pos[i] = k
    return True


cdef bint _bfs_parents(const index_t* indptr, const index_t* indices, const int64_t* label,
                       const int64_t* nodes, int64_t m, int64_t* order, int64_t* parent,
                       int64_t* parent_pos) noexcept nogil:
    """Breadth-first rooted order of one block into ``order``; False on a cycle."""
    if m == 0:
        return True
    cdef int64_t b = label[nodes[0]]
    cdef int64_t t, s, root, head, i, k, j
    cdef int64_t fill = 0
    for t in range(m):
        parent[nodes[t]] = -2
    for s in range(m):
        root = nodes[s]
        if parent[root] != -2:
            continue
        head = fill
        order[fill] = root
        fill += 1
        parent[root] = -1
        parent_pos[root] = -1
        while head < fill:
            i = order[head]
            head += 1
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                if j == i or label[j] != b or j == parent[i]:
                    continue
                if parent[j] != -2:
                    return False
                parent[j] = i
                parent_pos[j] = _position(indptr, indices, j, i)
                order[fill] = j
                fill += 1
    return True


cdef struct Scratch:
    # buffers of _near_ascending, each of the graph's size, indexed by slot or by node
    int64_t* slot
    int64_t* head
    int64_t* sibling
    int64_t* placed
    int64_t* stack


cdef void _near_ascending(const int64_t* ascending, int64_t m, const int64_t* parent,
                          int64_t* order, Scratch* scratch) noexcept nogil:
    """A parents-first order of a rooted forest that stays close to increasing index.

    Nodes are scanned by increasing index; a node is placed when scanned if its parent is
    placed, otherwise as soon as its parent is (with its own skipped descendants). Sweeps in
    this order walk memory almost sequentially.
    """
    cdef int64_t* slot = scratch.slot
    cdef int64_t* head = scratch.head
    cdef int64_t* sibling = scratch.sibling
    cdef int64_t* placed = scratch.placed
    cdef int64_t* stack = scratch.stack
    cdef int64_t t, p, top, u, v
    cdef int64_t fill = 0
    for t in range(m):
        slot[ascending[t]] = t
        head[t] = -1
        sibling[t] = -1
        placed[t] = 0
    for t in range(m - 1, -1, -1):
        p = parent[ascending[t]]
        if p >= 0:
            sibling[t] = head[slot[p]]
            head[slot[p]] = t
    for t in range(m):
        if placed[t]:
            continue
        p = parent[ascending[t]]
        if p >= 0 and not placed[slot[p]]:
            continue
        top = 0
        stack[top] = t
        top += 1
        while top > 0:
            top -= 1
            u = stack[top]
            order[fill] = ascending[u]
            fill += 1
            placed[u] = 1
            v = head[u]
            while v >= 0:
                if v < t:
                    stack[top] = v
                    top += 1
                v = sibling[v]


def rooted_order(const index_t[::1] indptr, const index_t[::1] indices,
                 const int64_t[::1] label, const int64_t[::1] start, int64_t[::1] order,
                 int64_t[::1] parent, int64_t[::1] parent_pos):
    """Rooted order of every block of ``label``, parents before children; False on a cycle.

    Block ``b`` occupies ``order[start[b]:start[b+1]]``. A block whose index order is an
    elimination order (see :func:`_monotone_parents`) keeps it; others are rooted breadth-first
    and ordered by :func:`_near_ascending`. ``parent_pos[i]`` is the CSR position of
    ``Q[i, parent[i]]``.
    """
    cdef int64_t n = label.shape[0]
    cdef int64_t n_blocks = start.shape[0] - 1
    if n == 0:
        return True
    fill_array = np.array(start[:n_blocks], dtype=np.int64)
    buffers = np.empty((6, n), dtype=np.int64)
    cdef int64_t[::1] fill = fill_array
    cdef int64_t[:, ::1] work = buffers
    cdef Scratch scratch
    scratch.slot = &work[0, 0]
    scratch.head = &work[1, 0]
    scratch.sibling = &work[2, 0]
    scratch.placed = &work[3, 0]
    scratch.stack = &work[4, 0]
    cdef int64_t* ascending = &work[5, 0]
    cdef const index_t* ip = &indptr[0]
    cdef const index_t* ix = &indices[0]
    cdef int64_t i, b, lo, m, t, swap
    cdef int64_t* nodes
    cdef bint ok = True
    with nogil:
        for i in range(n):
            order[fill[label[i]]] = i
            fill[label[i]] += 1
        for b in range(n_blocks):
            lo = start[b]
            m = start[b + 1] - lo
            if m == 0:
                continue
            nodes = &order[lo]
            if _monotone_parents(ip, ix, &label[0], nodes, m, True, &parent[0],
                                 &parent_pos[0]):
                for t in range(m // 2):
                    swap = nodes[t]
                    nodes[t] = nodes[m - 1 - t]
                    nodes[m - 1 - t] = swap
            elif not _monotone_parents(ip, ix, &label[0], nodes, m, False, &parent[0],
                                       &parent_pos[0]):
                for t in range(m):
                    ascending[t] = nodes[t]
                if not _bfs_parents(ip, ix, &label[0], ascending, m, nodes, &parent[0],
                                    &parent_pos[0]):
                    ok = False
                    break
                _near_ascending(ascending, m, &parent[0], nodes, &scratch)
    return ok


def order_block(const index_t[::1] indptr, const index_t[::1] indices,
                const int64_t[::1] in_block, int64_t[:, ::1] tree):
    """Breadth-first rooted order of the forest marked (1) in ``in_block``; return its size.

    ``tree`` holds four int64 rows of the graph's size: the order, the parents, the CSR
    positions of ``Q[i, parent[i]]`` and scratch for the block's nodes.
    """
    cdef int64_t n = in_block.shape[0]
    cdef int64_t m = 0
    cdef int64_t i
    if n == 0:
        return 0
    with nogil:
        for i in range(n):
            if in_block[i] == 1:
                tree[3, m] = i
                m += 1
        _bfs_parents(&indptr[0], &indices[0], &in_block[0], &tree[3, 0], m, &tree[0, 0],
                     &tree[1, 0], &tree[2, 0])
    return m
