"""Graph-structured blocks for block coordinate descent on sparse quadratics.

The graph of a symmetric matrix ``Q`` has an edge ``(i, j)`` whenever ``Q[i, j] != 0``. Blocks
whose induced sub-graph has no edge (colour classes) make the exact block update a diagonal
solve; blocks whose induced sub-graph is a forest make it a linear-time two-sweep elimination
(:mod:`numsolve.linear_model._tree_solve`). This module builds such blocks:

* :func:`colour_partition`: greedy multi-colour partition (red-black on a lattice);
* :func:`forest_partition`: greedy first-fit partition of all nodes into forests;
* :func:`lattice_forests`: the two comb-shaped forests of a 2-D grid;
* :func:`greedy_forest_block`: the forest grown from the largest gradients (union-find);
* :func:`forest_order`: a rooted order of each block (parents first), input of the tree solve.

Partitions are integer label arrays: ``labels[i]`` is the block of node ``i``.
"""

import numpy as np
import scipy.sparse as sp
from numba import njit

__all__ = [
    "colour_partition",
    "forest_order",
    "forest_partition",
    "greedy_forest_block",
    "is_forest_partition",
    "lattice_forests",
]


@njit(cache=True, nogil=True)
def _find(uf, i):
    """Root of ``i`` in the union-find array ``uf`` (path halving)."""
    while uf[i] != i:
        uf[i] = uf[uf[i]]
        i = uf[i]
    return i


@njit(cache=True, nogil=True)
def _colour_kernel(indptr, indices, order):
    n = order.shape[0]
    colour = np.full(n, -1, np.int64)
    used = np.zeros(n + 1, np.int64)
    stamp = np.full(n + 1, -1, np.int64)
    n_colours = 0
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
    return colour


@njit(cache=True, nogil=True)
def _graph_bfs(indptr, indices):
    """Breadth-first order of the whole graph, components seeded by increasing index."""
    n = indptr.shape[0] - 1
    order = np.empty(n, np.int64)
    seen = np.zeros(n, np.bool_)
    fill = 0
    for s in range(n):
        if seen[s]:
            continue
        head = fill
        order[fill] = s
        fill += 1
        seen[s] = True
        while head < fill:
            i = order[head]
            head += 1
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                if not seen[j]:
                    seen[j] = True
                    order[fill] = j
                    fill += 1
    return order


@njit(cache=True, nogil=True)
def _joinable_roots(indptr, indices, i, label, f, uf, roots):
    """Tree roots of ``i``'s neighbours labelled ``f``, written to ``roots``; their count.

    Returns -1 when two of those neighbours share a tree: adding ``i`` would close a cycle.
    """
    m = 0
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


@njit(cache=True, nogil=True)
def _forest_kernel(indptr, indices, order):
    n = order.shape[0]
    label = np.full(n, -1, np.int64)
    uf = np.arange(n)
    roots = np.empty(n, np.int64)
    n_forests = 0
    for t in range(n):
        i = order[t]
        f = 0
        while True:
            if f == n_forests:
                n_forests += 1
                label[i] = f
                break
            m = _joinable_roots(indptr, indices, i, label, f, uf, roots)
            if m >= 0:
                label[i] = f
                for q in range(m):
                    uf[roots[q]] = i
                break
            f += 1
    return label


@njit(cache=True, nogil=True)
def _greedy_forest_kernel(indptr, indices, scores, in_block, uf, roots):
    """Grow one forest by scanning nodes by decreasing score; mark it in ``in_block``."""
    n = scores.shape[0]
    ranking = np.argsort(-scores)
    for i in range(n):
        in_block[i] = False
        uf[i] = i
    size = 0
    for t in range(n):
        i = ranking[t]
        m = _joinable_roots(indptr, indices, i, in_block, True, uf, roots)
        if m >= 0:
            in_block[i] = True
            size += 1
            for q in range(m):
                uf[roots[q]] = i
    return size


@njit(cache=True, nogil=True)
def _monotone_parents(indptr, indices, label, nodes, upward, parent, parent_pos):
    """Try the index order as elimination order of a block; False if some node has two parents.

    With ``upward`` the parent of a node is its unique larger-index neighbour in the block,
    otherwise its unique smaller-index one. Such an order exists for both comb forests of a
    lattice and keeps every sweep a sequential pass over memory.
    """
    for t in range(nodes.shape[0]):
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


@njit(cache=True, nogil=True)
def _bfs_parents(indptr, indices, label, nodes, order, parent, parent_pos):
    """Breadth-first rooted order of one block into ``order``; False on a cycle."""
    m = nodes.shape[0]
    if m == 0:
        return True
    b = label[nodes[0]]
    for t in range(m):
        parent[nodes[t]] = -2
    fill = 0
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


@njit(cache=True, nogil=True)
def _order_kernel(indptr, indices, label, start, order, parent, parent_pos):
    """Rooted order of every block of ``label``, parents before children; False on a cycle.

    Block ``b`` occupies ``order[start[b]:start[b+1]]``. A block whose index order is an
    elimination order (see :func:`_monotone_parents`) keeps it; others are rooted breadth-first
    and ordered by :func:`_near_ascending`.
    ``parent_pos[i]`` is the CSR position of ``Q[i, parent[i]]``.
    """
    n = label.shape[0]
    fill = start[:-1].copy()
    for i in range(n):
        order[fill[label[i]]] = i
        fill[label[i]] += 1
    for b in range(start.shape[0] - 1):
        nodes = order[start[b]:start[b + 1]]
        if _monotone_parents(indptr, indices, label, nodes, True, parent, parent_pos):
            nodes[:] = nodes[::-1].copy()
        elif not _monotone_parents(indptr, indices, label, nodes, False, parent, parent_pos):
            ascending = nodes.copy()
            if not _bfs_parents(indptr, indices, label, ascending, nodes, parent, parent_pos):
                return False
            _near_ascending(ascending, parent, nodes)
    return True


@njit(cache=True, nogil=True)
def _near_ascending(ascending, parent, order):
    """A parents-first order of a rooted forest that stays close to increasing index.

    Nodes are scanned by increasing index; a node is placed when scanned if its parent is
    placed, otherwise as soon as its parent is (with its own skipped descendants). Sweeps in
    this order walk memory almost sequentially.
    """
    m = ascending.shape[0]
    slot = {}
    for t in range(m):
        slot[ascending[t]] = t
    head = np.full(m, -1, np.int64)
    sibling = np.full(m, -1, np.int64)
    for t in range(m - 1, -1, -1):
        p = parent[ascending[t]]
        if p >= 0:
            sibling[t] = head[slot[p]]
            head[slot[p]] = t
    placed = np.zeros(m, np.bool_)
    stack = np.empty(m, np.int64)
    fill = 0
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
            placed[u] = True
            v = head[u]
            while v >= 0:
                if v < t:
                    stack[top] = v
                    top += 1
                v = sibling[v]


@njit(cache=True, nogil=True)
def _position(indptr, indices, row, col):
    """Position of entry ``(row, col)`` in sorted CSR arrays (binary search)."""
    lo = indptr[row]
    hi = indptr[row + 1]
    while lo < hi:
        mid = (lo + hi) // 2
        if indices[mid] < col:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _csr_structure(Q):
    """CSR index arrays of ``Q`` (sorted, symmetric pattern assumed)."""
    if not sp.issparse(Q):
        raise TypeError(f"Q must be a SciPy sparse matrix, got {type(Q).__name__}")
    Q = sp.csr_matrix(Q)
    if not Q.has_sorted_indices:
        Q = Q.sorted_indices()
    return Q.indptr, Q.indices


def _scan_order(Q, order):
    n = Q.shape[0]
    if order is None:
        return np.arange(n, dtype=np.int64)
    order = np.asarray(order, dtype=np.int64)
    if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
        raise ValueError(f"order must be a permutation of range({n})")
    return order


def colour_partition(Q, order=None):
    """Greedy multi-colour partition: every colour class is an independent set of the graph.

    Nodes are scanned in ``order``; each takes the least-used colour that none of its
    neighbours has, opening a new colour only when all are taken. The default order is
    breadth-first, so a bipartite graph (a lattice, with or without removed nodes) gets the
    red-black (checkerboard) partition.

    Parameters
    ----------
    Q : sparse matrix of shape (n, n)
        Symmetric matrix; its off-diagonal non-zeros are the graph's edges.
    order : array-like of shape (n,), optional
        Scan order (a permutation); breadth-first by default.

    Returns
    -------
    labels : ndarray of shape (n,), dtype int64
        The colour of every node, ``0 .. n_colours - 1``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from numsolve.linear_model import colour_partition
    >>> path = sp.diags([[-1.0] * 3, [2.0] * 4, [-1.0] * 3], [-1, 0, 1], format="csr")
    >>> colour_partition(path)
    array([0, 1, 0, 1])
    """
    indptr, indices = _csr_structure(Q)
    if order is None:
        return _colour_kernel(indptr, indices, _graph_bfs(indptr, indices))
    return _colour_kernel(indptr, indices, _scan_order(Q, order))


def forest_partition(Q, order=None):
    """Greedy partition of all nodes into forests (first fit, union-find).

    Nodes are scanned in ``order``; each joins the lowest-numbered forest in which its
    neighbours lie in distinct trees (so adding it closes no cycle), else opens a new forest.

    Parameters
    ----------
    Q : sparse matrix of shape (n, n)
        Symmetric matrix; its off-diagonal non-zeros are the graph's edges.
    order : array-like of shape (n,), optional
        Scan order (a permutation); natural order by default.

    Returns
    -------
    labels : ndarray of shape (n,), dtype int64
        The forest of every node.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from numsolve.linear_model import forest_partition
    >>> cycle = sp.csr_matrix(([1.0] * 6, ([0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2])), shape=(3, 3))
    >>> forest_partition(cycle)
    array([0, 0, 1])
    """
    indptr, indices = _csr_structure(Q)
    return _forest_kernel(indptr, indices, _scan_order(Q, order))


def lattice_forests(shape):
    """The two comb-shaped forests covering a 2-D grid graph (nodes in row-major order).

    Forest 0 is the first row (the spine) with the even columns hanging from it; forest 1 is
    the last row with the odd columns hanging from it. Each induces a tree on the 4-neighbour
    grid; removing nodes (labelled ones, say) keeps both forests.

    Parameters
    ----------
    shape : tuple of int
        ``(rows, columns)`` of the grid.

    Returns
    -------
    labels : ndarray of shape (rows * columns,), dtype int64

    Examples
    --------
    >>> from numsolve.linear_model import lattice_forests
    >>> lattice_forests((3, 4)).reshape(3, 4)
    array([[0, 0, 0, 0],
           [0, 1, 0, 1],
           [1, 1, 1, 1]])
    """
    rows, columns = (int(s) for s in shape)
    if rows < 1 or columns < 1:
        raise ValueError(f"shape must hold two positive sizes, got {shape}")
    column = np.arange(columns)[None, :]
    labels = np.where(column % 2 == 0, 0, 1) * np.ones((rows, 1), dtype=np.int64)
    labels[0, :] = 0
    if rows > 1:
        labels[rows - 1, :] = 1
    return labels.reshape(-1).astype(np.int64)


def forest_order(Q, labels):
    """Rooted order of every block of a forest partition (parents before children).

    Parameters
    ----------
    Q : sparse matrix of shape (n, n)
        Symmetric matrix with sorted CSR indices.
    labels : array-like of shape (n,)
        Block of every node, ``0 .. n_blocks - 1``.

    Returns
    -------
    order : ndarray of shape (n,)
        Nodes grouped by block, each after its parent: the index order (increasing or
        decreasing) where it roots the block's trees, a near-increasing order otherwise.
    start : ndarray of shape (n_blocks + 1,)
        Block ``b`` is ``order[start[b]:start[b + 1]]``.
    parent, parent_pos : ndarray of shape (n,)
        Parent of every node (-1 for roots) and the CSR position of ``Q[i, parent[i]]``.

    Raises
    ------
    ValueError
        If a block's induced sub-graph contains a cycle.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from numsolve.linear_model import forest_order
    >>> path = sp.diags([[-1.0] * 2, [2.0] * 3, [-1.0] * 2], [-1, 0, 1], format="csr")
    >>> order, start, parent, _ = forest_order(path, [0, 0, 0])
    >>> order, parent
    (array([2, 1, 0]), array([ 1,  2, -1]))
    """
    indptr, indices = _csr_structure(Q)
    labels = np.asarray(labels, dtype=np.int64)
    n = Q.shape[0]
    counts = np.bincount(labels, minlength=int(labels.max()) + 1 if n else 0)
    start = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    order = np.empty(n, dtype=np.int64)
    parent = np.empty(n, dtype=np.int64)
    parent_pos = np.empty(n, dtype=np.int64)
    if not _order_kernel(indptr, indices, labels, start, order, parent, parent_pos):
        raise ValueError("a block of the partition is not a forest: its sub-graph has a cycle")
    return order, start, parent, parent_pos


def is_forest_partition(Q, labels):
    """Whether every block of ``labels`` induces a forest in the graph of ``Q``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from numsolve.linear_model import is_forest_partition
    >>> cycle = sp.csr_matrix(([1.0] * 6, ([0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2])), shape=(3, 3))
    >>> is_forest_partition(cycle, [0, 0, 0]), is_forest_partition(cycle, [0, 0, 1])
    (False, True)
    """
    try:
        forest_order(Q, labels)
    except ValueError:
        return False
    return True


def greedy_forest_block(Q, scores):
    """The forest grown greedily from the largest scores (Gauss-Southwell tree, GSTree).

    Nodes are scanned by decreasing score; a node joins the block when its neighbours already
    in the block lie in distinct trees (union-find), so the block stays a forest.

    Parameters
    ----------
    Q : sparse matrix of shape (n, n)
        Symmetric matrix; its off-diagonal non-zeros are the graph's edges.
    scores : array-like of shape (n,)
        Priority of every node, typically ``|gradient_i| / sqrt(Q_ii)``.

    Returns
    -------
    block : ndarray of int64
        The nodes of the forest, in increasing order.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from numsolve.linear_model import greedy_forest_block
    >>> cycle = sp.csr_matrix(([1.0] * 6, ([0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2])), shape=(3, 3))
    >>> greedy_forest_block(cycle, np.array([3.0, 1.0, 2.0]))
    array([0, 2])
    """
    indptr, indices = _csr_structure(Q)
    n = Q.shape[0]
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (n,):
        raise ValueError(f"scores must have shape ({n},), got {scores.shape}")
    in_block = np.zeros(n, dtype=np.bool_)
    _greedy_forest_kernel(indptr, indices, scores, in_block, np.empty(n, np.int64),
                          np.empty(n, np.int64))
    return np.flatnonzero(in_block).astype(np.int64)
