"""The heap engine: greedy single-coordinate descent for least squares on the Gram matrix.

``bcd`` runs it for the greedy rules ``gs``, ``gsl`` and ``gs-q`` with ``block_size=1`` on
the Quadratic datafit (any penalty of the family) and NumPy/SciPy input. Every update is the
exact minimiser along the chosen coordinate; the gradient is kept up to date on the Gram
neighbours of that coordinate only and the scores sit in an indexed max-heap
(:mod:`._greedy_heap`), so an update costs ``O(nnz(H[:, i]) log p)`` instead of the block
engine's full gradient and full scan.

Every ``check_every`` updates the residual and gradient are recomputed from scratch, the
duality gap (or the KKT violation without a dual) is evaluated as in the block engine, and
the kernel restarts from the fresh gradient, so round-off drift of the incremental updates
never accumulates over more than one check period. A check costs about ``nnz(X) + p`` and an
update about ``nnz(H) / p`` (times ``log p``), so the default period
``ceil((nnz(X) + p) / (nnz(H) / p))`` (at most ``p``) spends about as much on checks as on
updates, up to the log factor.

The Gram matrix ``H = X'AX`` (``A``: normalised sample weights) is stored as CSC. It is formed
only when its size bound is at most :data:`GRAM_NNZ_LIMIT` entries: ``p^2`` for dense ``X``
and for sparse ``X`` with an intercept (the profiled Gram ``H - m m'``, ``m = X'a``, is dense);
for sparse ``X`` without intercept ``min(p^2, sum_i nnz(row_i)^2)`` over the rows with positive
weight (the number of products the sparse product forms, an upper bound on ``nnz(H)``).
"""

import numpy as np
import scipy.sparse as sp

from ._datafits import Quadratic
from ._greedy_heap import GREEDY_RULE_CODES, greedy_heap_updates
from ._objective import checkpoint, refine_intercept, stopping_scale

__all__ = ["GRAM_NNZ_LIMIT", "gram_operands", "gram_size_bound", "heap_unsupported",
           "solve_heap"]

GRAM_NNZ_LIMIT = 2 ** 24
_HEAP_UPDATES = ("auto", "lipschitz", "exact")


def heap_unsupported(datafit, rule, block_size, update, backend):
    """Why the heap engine cannot run these options (``None`` when it can)."""
    if backend != "compiled":
        return "the heap engine needs NumPy or SciPy sparse input"
    if not isinstance(datafit, Quadratic):
        return f"the heap engine needs the Quadratic datafit, got {datafit!r}"
    if rule not in GREEDY_RULE_CODES:
        return f"the heap engine runs the rules {tuple(GREEDY_RULE_CODES)}, got {rule!r}"
    if block_size != 1:
        return f"the heap engine needs block_size=1, got {block_size!r}"
    if update not in _HEAP_UPDATES:
        return f"the heap engine makes exact coordinate updates, got update={update!r}"
    return None


def gram_size_bound(X, a, fit_intercept):
    """Bound on the number of stored entries of the Gram matrix ``X'AX`` (see module notes).

    Parameters
    ----------
    X : array or sparse matrix of shape (n, p)
        Sparse input is read as CSC (``X.indices`` are row indices).
    a : ndarray of shape (n,)
        Sample weights; rows with ``a_i <= 0`` add nothing.
    fit_intercept : bool

    Returns
    -------
    int
        ``p^2`` for dense ``X`` or with an intercept, otherwise
        ``min(p^2, sum_i nnz(row_i)^2)``; the ``l2`` diagonal is not counted (at most ``p``
        more entries).
    """
    p = X.shape[1]
    if not sp.issparse(X) or fit_intercept:
        return p * p
    rows = np.bincount(X.indices, minlength=X.shape[0]).astype(np.int64)
    rows[a <= 0] = 0
    return min(p * p, int(np.sum(rows * rows)))


def gram_operands(X, a, l2, fit_intercept):
    """The kernel's view of the problem's curvature.

    Parameters
    ----------
    X : ndarray or CSC matrix of shape (n, p)
        Float64; dense ``X`` is already centred when an intercept is fitted.
    a : ndarray of shape (n,)
        Normalised sample weights.
    l2 : float
        Ridge level added to the diagonal.
    fit_intercept : bool
        For sparse ``X``, profile the intercept out: ``H - m m'`` with ``m = X'a``.

    Returns
    -------
    H : CSC matrix of shape (p, p)
        ``X'AX + l2 I`` (profiled as above), no stored zeros.
    indptr, indices : int32 ndarrays
        ``H``'s index arrays.
    data : float64 ndarray
        ``H``'s values, contiguous.
    lips : ndarray of shape (p,)
        Coordinate constants ``L_j``: the diagonal of ``H``, or 1 where that is at
        round-off level of the uncentred ``sum_i a_i x_ij^2 + l2`` (constant columns with an
        intercept, empty columns without ridge).
    """
    p = X.shape[1]
    if sp.issparse(X):
        AX = X.copy()
        AX.data *= a[AX.indices]
        H = (X.T @ AX).T  # (AX)'X: CSR times CSC, read back as CSC without a conversion
        norms = np.asarray(AX.multiply(X).sum(axis=0)).reshape(-1)
        m = np.asarray(X.T @ a).reshape(-1) if fit_intercept else np.zeros(p)
        if fit_intercept:
            H = H.toarray() - np.outer(m, m)
        diag = norms - m * m
    else:
        H = X.T @ (a[:, None] * X)
        m = a @ X  # zero up to round-off when the caller centred X for an intercept
        diag = np.diagonal(H).copy()
        norms = diag + m * m
    H = sp.csc_matrix(H)  # sparse products and conversions store no zeros
    if l2 > 0:
        H = sp.csc_matrix(H + l2 * sp.eye(p, format="csc"))
    lips = np.where(diag + l2 > 1e-12 * (norms + l2), diag + l2, 1.0)
    return (H, H.indptr.astype(np.int32, copy=False), H.indices.astype(np.int32, copy=False),
            np.ascontiguousarray(H.data, dtype=np.float64), lips)


def solve_heap(X, y, a, penalty, w, b, *, rule, tol, max_iter, fit_intercept, recorder, bar,
               check_every=None):
    """Greedy exact coordinate descent for ``Quadratic`` plus ``penalty`` on the Gram matrix.

    Parameters
    ----------
    X : ndarray or CSC matrix of shape (n, p)
        Float64; a dense ``X`` is Fortran-ordered and already centred when an intercept is
        fitted.
    y : ndarray of shape (n,)
        Float64 targets.
    a : ndarray of shape (n,)
        Normalised sample weights.
    penalty : penalty object
        Its ``l1``, ``l2`` and ``positive`` define the coordinate updates.
    w : ndarray of shape (p,)
        Starting coefficients, updated in place.
    b : float
        Starting intercept.
    rule : {"gs", "gsl", "gs-q"}
    tol : float
        Stop when the duality gap is at most ``tol`` times ``P(0)`` (see
        :func:`._objective.stopping_scale`; the KKT
        violation at most ``tol`` when the penalty has no dual).
    max_iter : int
        Most coordinate updates.
    fit_intercept : bool
    recorder : HistoryRecorder
        Gets one record per check.
    bar : progress bar
        Advanced by the number of updates.
    check_every : int, optional
        Updates between two checks; the default balances their costs (module notes).

    Returns
    -------
    w : ndarray of shape (p,)
        The same array, updated.
    b : float
    n_iter : int
        Coordinate updates made.
    converged : bool
    crit : float
        Criterion at the last check (gap, or KKT violation without a dual).
    primal : float
        Objective at the last check.
    threshold : float
        The stopping level of ``crit``.
    key_updates : int
        Heap scores recomputed, summed over the updates.
    """
    datafit = Quadratic()
    n, p = X.shape
    H, indptr, indices, data, lips = gram_operands(X, a, penalty.l2, fit_intercept)
    heap = np.empty(p, dtype=np.int64)
    pos = np.empty(p, dtype=np.int64)
    key = np.empty(p)
    no_trace = np.empty(0, dtype=np.int64)
    code = GREEDY_RULE_CODES[rule]
    if check_every is None:
        nnz_x = X.nnz if sp.issparse(X) else X.size
        check_every = min(p, -(-(nnz_x + p) * p // max(H.nnz, 1)))
    threshold = tol * stopping_scale(datafit, y, a, 1, fit_intercept, np) if penalty.has_dual \
        else tol
    col_means = np.asarray(X.T @ a).reshape(-1) if fit_intercept else None
    bias = np.array([b])
    converged = stalled = False
    crit = primal = float("inf")
    k = key_updates = 0
    while True:
        Z = np.asarray(X @ w).reshape(-1, 1) + bias
        if fit_intercept:
            Z, bias = refine_intercept(datafit, Z, y, a, bias, np)
        G = datafit.raw_gradient(Z, y, a, np)
        grad = np.asarray(X.T @ G).reshape(-1)
        primal, crit = checkpoint(datafit, penalty, w.reshape(-1, 1), Z, y, a,
                                  grad.reshape(-1, 1), G, np, col_means, iteration=k,
                                  recorder=recorder, bar=bar)
        if crit <= threshold:
            converged = True
            break
        if k >= max_iter or stalled:
            break
        h = grad + penalty.l2 * w
        done, stalled, touched = greedy_heap_updates(
            code, indptr, indices, data, lips, w, h, penalty.l1, penalty.positive,
            min(check_every, max_iter - k), True, heap, pos, key, no_trace)
        stalled = stalled and done == 0  # a fresh gradient could not move either
        k += done
        key_updates += touched
        bar.update(done)
    return w, float(bias[0]), k, converged, crit, primal, threshold, key_updates
