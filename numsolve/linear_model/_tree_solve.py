"""Exact block updates on forest blocks of a sparse SPD matrix: two-sweep Gaussian elimination.

When the sub-graph of ``Q`` induced by a block is a forest, ``Q_bb d = r`` is solved in
``O(|b|)`` by eliminating leaves first (no fill-in) and substituting back from the roots, which
is Gaussian belief propagation, exact on trees:

1. upward sweep, children before parents: ``piv_p -= Q_pi**2 / piv_i``,
   ``r_p -= Q_pi r_i / piv_i``;
2. downward sweep, parents before children: ``d_i = (r_i - Q_ip d_p) / piv_i``.

The pivots depend on ``Q`` only, so a fixed partition factors once. The compiled sweeps
(``_tree_sweeps``) work on the CSR arrays of ``Q`` in place, with one column per right-hand
side; the block solvers of :mod:`numsolve.linear_model._quadratic_bcd` use them too.
"""

import numpy as np
import scipy.sparse as sp

from ._graph_blocks import forest_order
from ._tree_sweeps import factor, solve_forest

__all__ = ["tree_solve"]


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
    factor(Q.data, Q.diagonal(), order, parent, parent_pos, pivot)
    work = np.array(b.reshape(n, -1), dtype=dtype, order="C")
    solve_forest(Q.data, order, parent, parent_pos, pivot, work)
    return work.reshape(b.shape)
