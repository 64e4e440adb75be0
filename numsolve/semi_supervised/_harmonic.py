"""The harmonic solution of label propagation, solved by block coordinate descent on forests.

With affinity ``W`` (symmetric, non-negative), labelled nodes ``L`` clamped to their values
``Y_L`` and unlabelled nodes ``U``, the harmonic function minimises
``1/2 sum_ij W_ij ||F_i - F_j||^2``; its unlabelled rows solve the SPD system

    (D - W)[U, U] F_U = W[U, L] Y_L,      D = diag(row sums of W over all nodes),

one right-hand side per column of ``Y`` (one per class), all solved together by
Jacobi-preconditioned CG (:func:`numsolve.semi_supervised._krylov.jacobi_pcg`), by
forest-block CG (:func:`numsolve.linear_model._quadratic_bcd.quadratic_bcd`), or by a sparse
LU factorisation for graphs whose weights span too many orders of magnitude for an iterative
solver; :func:`choose_method` picks one by a measured rule. The system
is positive definite exactly when every connected component of the graph holds a labelled
node; the nodes of a component without one are left at zero (what scikit-learn's
propagation gives them), with a warning.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import splu

from .._array_api import array_namespace, require_backend
from .._result import HistoryRecorder, SolveResult
from .._validation import check_matrix, check_square
from ..linear_model._quadratic_bcd import locality_order, quadratic_bcd
from ._harmonic_system import fill_system
from ._krylov import jacobi_pcg

__all__ = ["METHODS", "UnreachedNodesWarning", "choose_method", "harmonic_solution",
           "harmonic_system", "solve_system",
           "label_propagation", "labelled_nodes", "reached_nodes"]

METHODS = ("auto", "jacobi-pcg", "bcd", "direct")
# Measured (CPU time under load, relative residual 1e-8; benchmarks/bench_label_propagation):
# compiled Jacobi-PCG beats forest-block CG with the default partition on every lattice and
# kNN graph from 300 to 10^6 unknowns (two moons 95,000: 0.50 s vs 0.54 s; lattice 500^2:
# 0.31 s vs 0.72 s) and sparse LU from 300 unknowns up (two moons 1,900: 7 ms vs 10 ms).
# Comb forests of a lattice (a partition passed as ``blocks``) cut the iterations 2.8-fold but
# lose too: 0.37 s at 500^2, 1.7-2.2 s against 1.4 s at 1000^2.
# off-diagonal weights spanning more than this ratio (an RBF graph with its backbone of exact
# nearest-neighbour weights: 1 down to 1e-200) defeat CG; sparse LU solves them exactly, as
# on digits (1,797 points) in 0.03 s, up to DIRECT_SOLVE_LIMIT unknowns
WEIGHT_SPREAD_LIMIT = 1e12
DIRECT_SOLVE_LIMIT = 20_000


class UnreachedNodesWarning(UserWarning):
    """Some nodes have no path to a labelled node: their values are left at zero."""


def _check_affinity(W):
    W = check_matrix(W, "W", accept_sparse=True, sparse_format="csr")
    check_square(W, "W")
    W = sp.csr_matrix(W) if not sp.issparse(W) else W
    if W.nnz and W.data.min() < 0:
        raise ValueError("W must be non-negative (an affinity matrix)")
    asym = abs(W - W.T)
    if asym.nnz and asym.max() > 1e-10 * max(W.data.max(), 1e-300):
        raise ValueError("W must be symmetric; use (W + W.T) / 2 or W.maximum(W.T)")
    if not W.has_sorted_indices:
        W = W.sorted_indices()
    return W


def _check_labelled(labelled, n):
    labelled = np.asarray(labelled)
    if labelled.dtype == np.bool_:
        if labelled.shape != (n,):
            raise ValueError(f"a boolean labelled mask must have shape ({n},)")
        labelled = np.flatnonzero(labelled)
    elif not np.issubdtype(labelled.dtype, np.integer) or labelled.ndim != 1:
        raise ValueError("labelled must be a boolean mask or a 1-D array of node indices")
    if labelled.size == 0:
        raise ValueError("no labelled node: label propagation needs at least one")
    if labelled.min() < 0 or labelled.max() >= n:
        raise ValueError(f"labelled indices must lie in [0, {n})")
    if np.unique(labelled).size != labelled.size:
        raise ValueError("labelled indices must be distinct")
    return labelled.astype(np.int64)


def _check_values(values, n_labelled):
    """``values`` as a float64 matrix, one finite row per labelled node."""
    values = np.asarray(values, dtype=np.float64)
    values = values.reshape(len(values), -1) if values.ndim == 1 else values
    if values.ndim != 2 or values.shape[0] != n_labelled:
        raise ValueError(f"values must have {n_labelled} rows (one per labelled node)")
    if not np.all(np.isfinite(values)):
        raise ValueError("values contains NaN or infinity")
    return values


def _check_problem(W, labelled, values):
    """The checked affinity (CSR, sorted indices), labelled node indices and values matrix."""
    W = _check_affinity(W)
    labelled = _check_labelled(labelled, W.shape[0])
    return W, labelled, _check_values(values, labelled.size)


def reached_nodes(W, labelled):
    """Boolean mask of the nodes whose connected component holds a labelled node.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from numsolve.semi_supervised._harmonic import reached_nodes
    >>> reached_nodes(sp.csr_matrix(([1.0, 1.0], ([0, 1], [1, 0])), shape=(3, 3)), [0])
    array([ True,  True, False])
    """
    n_components, component = connected_components(W, directed=False)
    reached = np.zeros(n_components, dtype=bool)
    reached[component[np.asarray(labelled)]] = True
    return reached[component]


def _warn_unreached(reached):
    orphans = int(np.count_nonzero(~reached))
    warnings.warn(
        f"{orphans} node(s) have no path to a labelled node; their values are left at zero "
        "(scikit-learn's label propagation gives them no label mass either). Label a node in "
        "each such component, or connect the graph (more neighbours, a larger radius, a "
        "smaller gamma)", UnreachedNodesWarning, stacklevel=3)


def harmonic_system(W, labelled, values):
    """The SPD system ``Q F_U = c`` of the harmonic solution, built in one pass over ``W``.

    Parameters
    ----------
    W : sparse matrix of shape (n, n)
        Symmetric non-negative affinity (the diagonal is ignored).
    labelled : ndarray of int or bool
        Indices (or mask) of the labelled nodes.
    values : ndarray of shape (n_labelled,) or (n_labelled, k)
        Their values (one-hot rows for classes), in the order of ``labelled``.

    Returns
    -------
    Q : scipy.sparse.csr_matrix of shape (n_unlabelled, n_unlabelled)
    c : ndarray of shape (n_unlabelled, k)
    unlabelled : ndarray of int
        The node of every row of ``Q``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from numsolve.semi_supervised import harmonic_system
    >>> path = sp.diags([[1.0] * 2, [1.0] * 2], [-1, 1], format="csr")
    >>> Q, c, unlabelled = harmonic_system(path, [0, 2], [0.0, 1.0])
    >>> Q.toarray(), c.ravel(), unlabelled
    (array([[2.]]), array([1.]), array([1]))
    """
    return _build_system(*_check_problem(W, labelled, values))


def _build_system(W, labelled, values):
    n = W.shape[0]
    is_labelled = np.zeros(n, dtype=bool)
    is_labelled[labelled] = True
    unlabelled = np.flatnonzero(~is_labelled)
    slot = np.empty(n, dtype=np.int64)
    slot[unlabelled] = np.arange(unlabelled.size)
    slot[labelled] = -np.arange(labelled.size) - 1
    dtype = W.dtype if W.dtype in (np.float32, np.float64) else np.float64
    rows = np.repeat(np.arange(n), np.diff(W.indptr))
    keep = (~is_labelled[rows]) & (~is_labelled[W.indices]) & (rows != W.indices)
    counts = np.bincount(slot[rows[keep]], minlength=unlabelled.size) + 1
    del rows, keep
    q_indptr = np.zeros(unlabelled.size + 1, dtype=np.int64)
    np.cumsum(counts, out=q_indptr[1:])
    index_dtype = np.int32 if q_indptr[-1] < np.iinfo(np.int32).max else np.int64
    q_indices = np.empty(q_indptr[-1], dtype=index_dtype)
    q_data = np.empty(q_indptr[-1], dtype=dtype)
    c = np.zeros((unlabelled.size, values.shape[1]), dtype=dtype)
    fill_system(W.indptr, W.indices, W.data.astype(dtype, copy=False), slot,
                np.ascontiguousarray(values, dtype=dtype), q_indptr, q_indices, q_data, c)
    Q = sp.csr_matrix((q_data, q_indices, q_indptr.astype(index_dtype)),
                      shape=(unlabelled.size, unlabelled.size))
    return Q, c, unlabelled


def harmonic_solution(W, labelled, values, *, blocks="forest", tol=1e-8, max_iter=1000,
                      method="auto", verbose=0):
    """Harmonic extension of ``values`` from the labelled nodes over the graph ``W``.

    Parameters
    ----------
    W : sparse matrix of shape (n, n)
        Symmetric non-negative affinity (the diagonal is ignored).
    labelled : ndarray of int or bool
        Indices (or mask) of the labelled nodes.
    values : ndarray of shape (n_labelled,) or (n_labelled, k)
        Their values, clamped in the solution.
    blocks : {"forest", "greedy-forest", "colour", "coordinate"} or ndarray, default="forest"
        Blocks of the BCD solver; an integer array of shape (n,) labels a forest partition of
        the whole graph (say :func:`~numsolve.linear_model._graph_blocks.lattice_forests`),
        restricted to the unlabelled nodes here. Fixed partitions are accelerated by conjugate
        gradients on the symmetric sweep. Used by ``method="bcd"``.
    tol : float, default=1e-8
        Relative residual ``||c - Q F_U|| / ||c||`` to reach, for every column.
    max_iter : int, default=1000
        Iteration budget of the iterative methods.
    method : {"auto", "jacobi-pcg", "bcd", "direct"}, default="auto"
        ``"jacobi-pcg"``: conjugate gradients preconditioned by the diagonal, all columns in
        one compiled loop. ``"bcd"``: block coordinate descent on ``blocks``, accelerated by
        CG. ``"direct"``: sparse LU factorisation of the system scaled to a unit diagonal;
        exact whatever the spread of the weights, for graphs small or sparse enough to
        factorise. ``"auto"``: :func:`choose_method`. The method used is ``extras["method"]``.
    verbose : int, default=0
        Progress bar when positive (``"bcd"`` only).

    Returns
    -------
    SolveResult
        ``x`` of shape (n,) or (n, k) (the solution on every node, labelled ones clamped, zero
        on nodes without a path to a labelled node) with the solver's ``n_iter``,
        ``converged``, ``history`` and extras ``residual``, ``method``, ``unlabelled``,
        ``reached``.

    Raises
    ------
    ValueError
        If no node is labelled.

    Warns
    -----
    UnreachedNodesWarning
        If a connected component holds no labelled node.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from numsolve.semi_supervised import harmonic_solution
    >>> path = sp.diags([[1.0] * 4, [1.0] * 4], [-1, 1], format="csr")
    >>> harmonic_solution(path, [0, 4], [0.0, 1.0]).x.round(3)
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    require_backend(array_namespace(W, values), {"compiled"}, "harmonic_solution")
    vector = np.ndim(values) == 1
    W, labelled, values = _check_problem(W, labelled, values)
    n = W.shape[0]
    if not isinstance(blocks, str):
        blocks = np.asarray(blocks)
        if blocks.shape != (n,):
            raise ValueError(f"blocks must be a string or a label array of shape ({n},)")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    reached = reached_nodes(W, labelled)
    if reached.all():
        result = _solve(W, labelled, values, blocks, tol, max_iter, method, verbose)
        F = result.x
    else:
        _warn_unreached(reached)
        nodes = np.flatnonzero(reached)
        position = np.cumsum(reached) - 1
        if not isinstance(blocks, str):
            blocks = blocks[nodes]
        subgraph = W[nodes][:, nodes].sorted_indices()
        result = _solve(subgraph, position[labelled], values, blocks, tol, max_iter, method,
                        verbose)
        F = np.zeros((n, values.shape[1]), dtype=result.x.dtype)
        F[nodes] = result.x
        result.extras["unlabelled"] = nodes[result.unlabelled]
    result.x = F[:, 0] if vector else F
    result.extras["reached"] = reached
    return result


def choose_method(Q):
    """The method ``"auto"`` takes for the harmonic system ``Q`` (see :data:`METHODS`).

    Sparse LU for weights spread over more than 12 orders of magnitude (up to 20,000
    unknowns), Jacobi-PCG otherwise: it beat forest-block CG (even with comb forests on
    lattices) and sparse LU on every benchmark problem (the figures are in the source).

    Examples
    --------
    >>> from numsolve.semi_supervised import choose_method, harmonic_system, lattice_graph
    >>> Q, c, _ = harmonic_system(lattice_graph(30, 30), [0, 899], [0.0, 1.0])
    >>> choose_method(Q)
    'jacobi-pcg'
    """
    n = Q.shape[0]
    magnitudes = np.abs(Q.data[Q.data != 0])
    spread = magnitudes.max() / magnitudes.min() if magnitudes.size else 1.0
    if spread > WEIGHT_SPREAD_LIMIT and n <= DIRECT_SOLVE_LIMIT:
        return "direct"
    return "jacobi-pcg"


def _solve(W, labelled, values, blocks, tol, max_iter, method, verbose):
    """The harmonic solution on a graph whose every component holds a labelled node."""
    Q, c, unlabelled = _build_system(W, labelled, values)
    F = np.zeros((W.shape[0], values.shape[1]), dtype=Q.dtype)
    F[labelled] = values
    if not isinstance(blocks, str):
        blocks = blocks[unlabelled]
    if unlabelled.size == 0:
        result = SolveResult(x=None, n_iter=0, converged=True, message="every node labelled",
                             extras={"residual": 0.0, "method": "none"})
    else:
        result = solve_system(Q, c, method=method, blocks=blocks, tol=tol, max_iter=max_iter,
                              verbose=verbose)
        F[unlabelled] = result.x
    result.x = F
    result.extras["unlabelled"] = unlabelled
    return result


def solve_system(Q, c, *, method="auto", blocks="forest", tol=1e-8, max_iter=1000, verbose=0):
    """Solve the harmonic system ``Q X = c`` (``c`` of shape (n, k)) by ``method``.

    Arguments as in :func:`harmonic_solution` (``blocks`` restricted to the rows of ``Q``);
    returns the solver's SolveResult, with ``extras["method"]`` the method used.

    Examples
    --------
    >>> from numsolve.semi_supervised import harmonic_system
    >>> from numsolve.semi_supervised._harmonic import solve_system
    >>> from numsolve.semi_supervised import lattice_graph
    >>> Q, c, _ = harmonic_system(lattice_graph(3, 3), [0, 8], [[0.0], [1.0]])
    >>> result = solve_system(Q, c)
    >>> result.method, result.x[3].round(3)
    ('jacobi-pcg', array([0.5]))
    """
    if method == "auto":
        method = choose_method(Q)
    if method == "direct":
        result = _direct_solve(Q, c)
    elif method == "jacobi-pcg":
        result = _renumbered_pcg(Q, c, tol, max_iter)
    else:
        acceleration = None if isinstance(blocks, str) and blocks == "greedy-forest" else "cg"
        result = quadratic_bcd(Q, c, blocks=blocks, acceleration=acceleration, tol=tol,
                               max_iter=max_iter, verbose=verbose)
    result.extras["method"] = method
    return result


def _renumbered_pcg(Q, c, tol, max_iter):
    """Jacobi-PCG, on the reverse Cuthill-McKee numbering of a large graph whose numbering
    scatters neighbours (a kNN graph of shuffled points): the products then hit the cache."""
    order = locality_order(Q)
    if order is None:
        return jacobi_pcg(Q, c, tol=tol, max_iter=max_iter)
    result = jacobi_pcg(Q[order][:, order].tocsr(), np.ascontiguousarray(c[order]), tol=tol,
                        max_iter=max_iter)
    x = np.empty_like(result.x)
    x[order] = result.x
    result.x = x
    result.extras["renumbered"] = True
    return result


def _direct_solve(Q, c):
    """``Q x = c`` by sparse LU of ``S Q S`` with ``S = diag(Q)^(-1/2)``.

    The scaling gives every row a unit diagonal, so a node whose weights are all tiny (1e-100)
    is solved to the same relative accuracy as the others; ``Q`` is a symmetric diagonally
    dominant M-matrix, for which LU needs no pivoting for stability.
    """
    recorder = HistoryRecorder()
    S = 1.0 / np.sqrt(Q.diagonal())
    scaled = sp.csc_matrix(Q.multiply(S[:, None]).multiply(S[None, :]))
    # a symmetric fill-reducing ordering with the diagonal as pivots (the matrix is symmetric)
    factor = splu(scaled, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0)
    x = factor.solve(np.ascontiguousarray(c * S[:, None])) * S[:, None]
    residual = float(np.max(np.linalg.norm(c - Q @ x, axis=0)
                            / np.maximum(np.linalg.norm(c, axis=0), 1e-300)))
    recorder.record(1, residual=residual)
    return SolveResult(x=x, n_iter=1, converged=True, message="solved by sparse LU",
                       history=recorder.as_dict(), extras={"residual": residual})


def labelled_nodes(y):
    """Indices of the labelled entries of ``y`` (-1 marks an unlabelled numeric entry)."""
    y = np.asarray(y)
    return np.flatnonzero(y != -1) if y.dtype.kind in "iuf" else np.arange(y.size)


def _check_labelled_classes(y, classes):
    """The classes (given or found in ``y``) and the labelled nodes; every class labelled."""
    labelled = labelled_nodes(y)
    if labelled.size == 0:
        raise ValueError("no labelled node: every entry of y is -1")
    present = np.unique(y[labelled])
    classes = present if classes is None else np.asarray(classes)
    missing = np.setdiff1d(classes, present)
    if missing.size:
        raise ValueError(f"classes {missing.tolist()} have no labelled node")
    extra = np.setdiff1d(present, classes)
    if extra.size:
        raise ValueError(f"y holds labels {extra.tolist()} that are not in classes")
    return classes, labelled


def class_indicators(labels, classes):
    """One-hot rows (float64): ``labels[i] == classes[j]``."""
    return (np.asarray(labels)[:, None] == classes[None, :]).astype(np.float64)


def label_propagation(W, y, *, classes=None, blocks="forest", tol=1e-8, max_iter=1000,
                      method="auto", verbose=0):
    """Label distributions of every node from the labelled ones (``y == -1``: unlabelled).

    Solves the harmonic solution with one right-hand side per class (all together); the
    rows of the result are probability vectors.

    Parameters
    ----------
    W : sparse matrix of shape (n, n)
        Symmetric non-negative affinity.
    y : ndarray of shape (n,)
        Class labels, -1 for unlabelled nodes.
    classes : ndarray, optional
        The classes expected (default: the distinct labels in ``y``); each needs a labelled
        node.
    blocks, tol, max_iter, method, verbose
        As in :func:`harmonic_solution`.

    Returns
    -------
    SolveResult
        ``x`` of shape (n, n_classes): the label distributions (rows of zeros for nodes
        without a path to a labelled node, as scikit-learn gives them); extras ``classes``,
        ``transduction`` (the most probable class of every node, the first class for a row of
        zeros, as in scikit-learn) and the solver's figures.

    Raises
    ------
    ValueError
        If no node is labelled, or a class has no labelled node.

    Warns
    -----
    UnreachedNodesWarning
        If a connected component holds no labelled node.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from numsolve.semi_supervised import label_propagation
    >>> path = sp.diags([[1.0] * 4, [1.0] * 4], [-1, 1], format="csr")
    >>> label_propagation(path, np.array([0, -1, -1, -1, 1])).transduction
    array([0, 0, 0, 1, 1])
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    classes, labelled = _check_labelled_classes(y, classes)
    values = class_indicators(y[labelled], classes)
    result = harmonic_solution(W, labelled, values, blocks=blocks, tol=tol, max_iter=max_iter,
                               method=method, verbose=verbose)
    F = result.x
    totals = F.sum(axis=1, keepdims=True)
    F /= np.where(totals > 0, totals, 1.0)
    result.extras["classes"] = classes
    result.extras["transduction"] = classes[np.argmax(F, axis=1)]
    return result
