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

from ._graph_partition import (
    breadth_first_order,
    colour_labels,
    forest_labels,
    grow_forest,
    rooted_order,
)

__all__ = [
    "colour_partition",
    "forest_order",
    "forest_partition",
    "greedy_forest_block",
    "is_forest_partition",
    "lattice_forests",
]


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
        return colour_labels(indptr, indices, breadth_first_order(indptr, indices))
    return colour_labels(indptr, indices, _scan_order(Q, order))


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
    return forest_labels(indptr, indices, _scan_order(Q, order))


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
    if not rooted_order(indptr, indices, labels, start, order, parent, parent_pos):
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
    in_block = np.zeros(n, dtype=np.int64)
    grow_forest(indptr, indices, ranking(scores), in_block, np.empty(n, np.int64),
                np.empty(n, np.int64))
    return np.flatnonzero(in_block).astype(np.int64)


def ranking(scores):
    """Nodes by decreasing score, ties by increasing index (the scan order of a greedy forest)."""
    return np.argsort(-scores, kind="stable").astype(np.int64, copy=False)
