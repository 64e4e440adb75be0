"""Label spreading (Zhou et al., 2004) solved as a linear system instead of iterated.

With affinity ``W`` (diagonal ignored), ``D`` the diagonal of its column sums (1 for an
isolated node, as scikit-learn's normalised Laplacian) and ``S = D^(-1/2) W D^(-1/2)``,
scikit-learn iterates ``F <- alpha S F + (1 - alpha) Y`` towards its fixed point, the solution
of

    (I - alpha S) F = (1 - alpha) Y,

which is solved here directly: by conjugate gradients when ``W`` is symmetric (the matrix is
then SPD with eigenvalues in ``[1 - alpha, 1 + alpha]``: a handful of iterations), by BiCGSTAB
when it is not (scikit-learn's kNN graph is directed), or by sparse LU. The iterative solvers
never form ``I - alpha S``: they apply it as ``F - alpha D^(-1/2) (W (D^(-1/2) F))`` with the
caller's ``W`` as it is, its diagonal taken out by a vector term (no copy of the graph, which
dominates the time on the small dense graphs of scikit-learn's RBF kernel).

By default they stop as soon as every label is certified (:mod:`._certify`: the error bound
of the iterate is below each point's margin between its two best classes), or else at the
relative residual ``CERTIFIED_BACKSTOP``.
"""

from functools import partial

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from .._result import SolveResult
from ._certify import certification_ratio
from ._harmonic import _check_labelled_classes, class_indicators
from ._significant_weights import significant_counts, significant_fill
from ._krylov import bicgstab, defect_correction, fixed_point, operator_pcg, relative_residuals

__all__ = ["CERTIFIED_BACKSTOP", "FIXED_POINT_ALPHA", "SELF_LOOP_RATIO", "SPREADING_METHODS", "SpreadingOperator", "label_spreading",
           "spread_labels", "spreading_matrix"]

SPREADING_METHODS = ("auto", "cg", "bicgstab", "fixed-point", "direct")

# largest alpha for which "auto" takes the fixed-point iteration on a directed graph: at
# alpha 0.2 (kNN, n = 2,000 and 20,000) it needs 14 products to BiCGSTAB's 12, at a third of
# the time per product; at 0.9, 141-224 products to 44-66
FIXED_POINT_ALPHA = 0.5

# self-loop weight, relative to a node's other weights, above which the diagonal is taken out
# of W instead of subtracted after the product (that loses this factor of the digits)
SELF_LOOP_RATIO = 100.0

# a dense kernel's weights kept for the inner solves of defect correction: S's entries at
# least this (with gamma 20, 2 % of the digits kernel), and the share of weights above which
# the dense products are kept (a sparse product costs about as much at a third)
SIGNIFICANT_WEIGHT = 1e-16
SIGNIFICANT_SHARE = 0.25
# points below which the dense products are kept (each costs well under a millisecond)
SIGNIFICANT_MIN_POINTS = 1000
# rows sampled for a first estimate of the share kept
SAMPLE_ROWS = 32

# the certifier's schedule: after a failed check, the next waits for the residual to shrink by
# the check's ratio times MARGIN_GROWTH (margins still move), but by no more than CHECK_SHRINK
MARGIN_GROWTH = 2.0
CHECK_SHRINK = 1e-3

# relative residual at which the default rule stops when some label cannot be certified (an
# exact tie, a point no label reaches); far from every label the distributions decay like
# alpha to the power of the distance, and this resolves them
CERTIFIED_BACKSTOP = 1e-10


def spreading_matrix(W, alpha):
    """``I - alpha D^(-1/2) W D^(-1/2)``, ``D`` the column sums of ``W`` off its diagonal.

    CSR for a sparse ``W``, an ndarray for a dense one (scikit-learn's full RBF kernel).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from numsolve.semi_supervised._spreading import spreading_matrix
    >>> spreading_matrix(sp.csr_matrix([[0.0, 2.0], [2.0, 0.0]]), 0.5).toarray()
    array([[ 1. , -0.5],
           [-0.5,  1. ]])
    """
    if not sp.issparse(W):
        A = np.array(W, dtype=np.float64)
        np.fill_diagonal(A, 0.0)
        scale = _inverse_root_degree(A.sum(axis=0))
        A *= -alpha * scale[:, None]
        A *= scale[None, :]
        A[np.diag_indices_from(A)] = 1.0
        return A
    W = sp.csr_matrix(W, dtype=np.float64, copy=True)
    W.setdiag(0)
    W.eliminate_zeros()
    scale = _inverse_root_degree(np.asarray(W.sum(axis=0)).ravel())
    rows = np.repeat(np.arange(W.shape[0]), np.diff(W.indptr))
    W.data *= -alpha * scale[rows] * scale[W.indices]
    A = sp.csr_matrix(W + sp.identity(W.shape[0], format="csr"))
    A.sort_indices()
    return A


def _inverse_root_degree(degree):
    return 1.0 / np.sqrt(np.where(degree > 0, degree, 1.0))


def _degrees(W, rows):
    """Column sums of ``W`` off its diagonal (summed without the diagonal: exact); ``rows``:
    the row of every stored entry of a sparse ``W``."""
    if not sp.issparse(W):
        return W.sum(axis=0)
    off = W.indices != rows
    return np.bincount(W.indices[off], weights=W.data[off], minlength=W.shape[0])


def _without_self_loops(W, overwrite):
    if sp.issparse(W):
        W = sp.csr_matrix(W, copy=True)
        W.setdiag(0)
        W.eliminate_zeros()
        return W
    W = W if overwrite else W.copy()
    np.fill_diagonal(W, 0.0)
    return W


class SpreadingOperator:
    """``I - alpha D^(-1/2) W D^(-1/2)`` applied without copying a dense ``W`` or the structure
    of a sparse one (a sparse ``W``'s weights are scaled once into a new array).

    Parameters
    ----------
    W : CSR matrix or ndarray of shape (n, n)
        Non-negative affinity; its diagonal is ignored: taken out of a dense ``W`` (in place
        with ``overwrite``, else from a copy); for a sparse ``W`` subtracted after each
        product, unless it outweighs a node's degree ``SELF_LOOP_RATIO`` times (the
        subtraction would cancel the digits of the other weights), then taken out of a copy.
    alpha : float
    overwrite : bool, default=False
        The caller's dense ``W`` may have its diagonal zeroed in place (no copy).

    Attributes
    ----------
    scale : ndarray of shape (n,)
        ``D^(-1/2)``, ``D`` the column sums of ``W`` off its diagonal (1 where zero).

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.semi_supervised._spreading import SpreadingOperator
    >>> W = np.array([[5.0, 2.0], [2.0, 5.0]])
    >>> SpreadingOperator(W, 0.5) @ np.eye(2)
    array([[ 1. , -0.5],
           [-0.5,  1. ]])
    """

    def __init__(self, W, alpha, overwrite=False, degree=None):
        self.alpha = alpha
        self_loops = W.diagonal()
        # a dense W loses its diagonal outright: one pass, and exact degrees however small the
        # other weights (an RBF kernel with a large gamma)
        if not sp.issparse(W) and self_loops.any():
            W, self_loops = _without_self_loops(W, overwrite), np.zeros(W.shape[0])
        rows = np.repeat(np.arange(W.shape[0]), np.diff(W.indptr)) if sp.issparse(W) else None
        degree = _degrees(W, rows) if degree is None else degree
        used = np.where(degree > 0, degree, 1.0)
        if np.any(self_loops > SELF_LOOP_RATIO * used):
            W, self_loops = _without_self_loops(W, overwrite), np.zeros(W.shape[0])
            rows = np.repeat(np.arange(W.shape[0]), np.diff(W.indptr))
        self.scale = 1.0 / np.sqrt(used)
        # the diagonal of W, taken out again after the product with W
        self._own = (1.0 + alpha * self_loops * self.scale ** 2)[:, None]
        self.shape = W.shape
        if sp.issparse(W):
            # -alpha S itself, on W's structure: scaling its nnz weights once costs less than
            # scaling the n x k iterate twice per product
            weights = -alpha * W.data * self.scale[rows] * self.scale[W.indices]
            self._product = sp.csr_matrix((weights, W.indices, W.indptr), shape=W.shape)
            self._dense = None
            # the compiled fixed-point iteration's view of the operator
            self.sparse_parts = (self._product, np.ascontiguousarray(self._own[:, 0]))
        else:
            self._dense = W
            self.sparse_parts = None

    def significant_part(self):
        """The operator on a dense ``W``'s significant weights only, sparse, with ``W``'s
        degrees: the entries of ``S`` it drops are below ``SIGNIFICANT_WEIGHT``. None for a
        sparse ``W``, below ``SIGNIFICANT_MIN_POINTS`` points, or where more than
        ``SIGNIFICANT_SHARE`` of the weights are kept."""
        if self._dense is None or self.shape[0] < SIGNIFICANT_MIN_POINTS:
            return None
        W = np.ascontiguousarray(self._dense)
        # a few rows' own criterion, a lower bound of the share kept, spares the passes over
        # a kernel that would stay dense (two moons at gamma 20: over half its weights)
        sample = W[::max(1, W.shape[0] // SAMPLE_ROWS)]
        floors = SIGNIFICANT_WEIGHT * sample.max(axis=1, keepdims=True)
        if np.mean((sample > 0) & (sample >= floors)) > SIGNIFICANT_SHARE:
            return None
        # W_ij < t min(m_i, m_j) <= t sqrt(d_i d_j) (m: row maxima, d: degrees): S_ij < t
        floors = SIGNIFICANT_WEIGHT * W.max(axis=1)
        indptr = significant_counts(W, floors)
        if indptr[-1] > SIGNIFICANT_SHARE * W.size:
            return None
        indices = np.empty(indptr[-1], dtype=np.int32)
        data = np.empty(indptr[-1])
        significant_fill(W, floors, indices, data)
        sparse = sp.csr_matrix((data, indices, indptr), shape=W.shape)
        return SpreadingOperator(sparse, self.alpha, degree=1.0 / self.scale ** 2)

    def propagate(self, v):
        """``alpha D^-1 W v`` for a vector ``v``, ``W`` without its diagonal: how far the
        errors of ``D^(-1/2) F`` spread in one step (see :mod:`._certify`)."""
        if self._dense is None:
            # P = -alpha D^(-1/2) W D^(-1/2) with W's diagonal, which own - 1 takes back out
            return -self.scale * (self._product @ (v / self.scale)) - (self._own[:, 0] - 1.0) * v
        return self.alpha * self.scale ** 2 * (self._dense @ v)

    def __matmul__(self, F):
        if self._dense is None:
            return self._own * F + self._product @ F
        scale = self.scale[:, None]
        return self._own * F - self.alpha * scale * (self._dense @ (scale * F))


def _is_symmetric(W):
    if sp.issparse(W):
        transpose = W.T.tocsr()
        # a directed kNN graph has other in- than out-degrees: settled without a subtraction
        if not np.array_equal(np.diff(W.indptr), np.diff(transpose.indptr)):
            return False
    asym = abs(W - W.T)
    largest = asym.max() if asym.size and (not sp.issparse(asym) or asym.nnz) else 0.0
    return largest <= 1e-12 * max(abs(W).max(), 1e-300)


def _check_affinity(W):
    W = sp.csr_matrix(W) if sp.issparse(W) else np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got shape {W.shape}")
    entries = W.data if sp.issparse(W) else W
    if entries.size and not np.all(np.isfinite(entries)):
        raise ValueError("W contains NaN or infinity")
    if entries.size and entries.min() < 0:
        raise ValueError("W must be non-negative (an affinity matrix)")
    return W


def label_spreading(W, y, *, alpha=0.2, classes=None, tol=None, max_iter=1000, method="auto"):
    """Label distributions of label spreading, the fixed point of scikit-learn's iteration.

    Parameters
    ----------
    W : sparse matrix or ndarray of shape (n, n)
        Non-negative affinity, symmetric or not (a directed kNN graph); the diagonal is
        ignored. A dense array is solved with dense products.
    y : ndarray of shape (n,)
        Class labels, -1 for unlabelled nodes.
    alpha : float in (0, 1), default=0.2
        Weight of the neighbours against the node's own label (soft clamping).
    classes : ndarray, optional
        The classes expected (default: the distinct labels in ``y``).
    tol : float or None, default=None
        None: stop once every label (``transduction``) is certified to be the exact
        solution's, or at the relative residual 1e-10 if some label cannot be (a tie);
        a float: the relative residual of the system to reach, per class (for distributions
        accurate to it, not only their labels).
    max_iter : int, default=1000
        Iteration budget of the iterative solvers.
    method : {"auto", "cg", "bicgstab", "fixed-point", "direct"}, default="auto"
        ``"cg"`` (symmetric ``W`` only), ``"bicgstab"``, ``"fixed-point"`` (scikit-learn's
        iteration, contracting by about ``alpha`` per product) or ``"direct"`` (sparse LU);
        ``"auto"`` takes ``"cg"`` for a symmetric ``W``, otherwise ``"fixed-point"`` up to
        ``alpha = 0.5`` and ``"bicgstab"`` above.

    Returns
    -------
    SolveResult
        ``x`` of shape (n, n_classes): label distributions, rows normalised to sum 1 (rows of
        zeros left as they are); extras ``classes``, ``transduction``, ``method`` (the solver
        used), ``residual`` and ``certified`` (whether the labels were certified).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from numsolve.semi_supervised import label_spreading
    >>> path = sp.diags([[1.0] * 4, [1.0] * 4], [-1, 1], format="csr")
    >>> result = label_spreading(path, np.array([0, -1, -1, -1, 1]))
    >>> result.transduction, result.method
    (array([0, 0, 0, 1, 1]), 'cg')
    """
    if not (isinstance(alpha, (int, float, np.floating)) and 0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be a number in the open interval (0, 1), got {alpha!r}")
    if method not in SPREADING_METHODS:
        raise ValueError(f"method must be one of {SPREADING_METHODS}, got {method!r}")
    W = _check_affinity(W)
    y = np.asarray(y)
    if y.shape != (W.shape[0],):
        raise ValueError(f"y must have shape ({W.shape[0]},), got {y.shape}")
    return spread_labels(W, y, alpha=alpha, symmetric=_is_symmetric(W), classes=classes, tol=tol,
                         max_iter=max_iter, method=method)


def spread_labels(W, y, *, alpha, symmetric, classes=None, tol=None, max_iter=1000,
                  method="auto", overwrite=False):
    """:func:`label_spreading` on a graph known to be valid: ``W`` square, finite and
    non-negative (CSR or ndarray), ``symmetric`` told; only the labels and the method are
    checked. ``overwrite``: a dense ``W`` may lose its diagonal in place.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.semi_supervised._spreading import spread_labels
    >>> W = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    >>> spread_labels(W, np.array([0, -1, 1]), alpha=0.5, symmetric=True).x.round(2)
    array([[0.88, 0.12],
           [0.5 , 0.5 ],
           [0.12, 0.88]])
    """
    if method == "cg" and not symmetric:
        raise ValueError("method='cg' needs a symmetric W; use 'bicgstab' or 'direct'")
    classes, labelled = _check_labelled_classes(y, classes)
    chosen = _choose(symmetric, alpha) if method == "auto" else method
    B = np.zeros((W.shape[0], classes.size))
    B[labelled] = (1.0 - alpha) * class_indicators(y[labelled], classes)
    if chosen == "direct":
        A = spreading_matrix(W, alpha)
        X = splu(A.tocsc()).solve(B) if sp.issparse(A) else np.linalg.solve(A, B)
        residual = float(relative_residuals(A, X, B).max(initial=0.0))
        result = SolveResult(x=X, n_iter=1, converged=True, message="solved by sparse LU",
                             extras={"residual": residual})
        certified = False
    else:
        A = SpreadingOperator(W, alpha, overwrite)
        inner = A.significant_part() if chosen == "cg" else None
        # the fixed point and defect correction give the true residual, CG a recursive one
        stop = None if tol is not None else _certifier(
            A, B, symmetric, exact_residual=chosen == "fixed-point" or inner is not None)
        if inner is not None:
            solve = partial(defect_correction, inner=inner)
        else:
            solve = {"cg": operator_pcg, "bicgstab": bicgstab, "fixed-point": fixed_point}[chosen]
        result = solve(A, B, tol=CERTIFIED_BACKSTOP if tol is None else tol,
                       max_iter=max_iter, stop=stop)
        certified = stop is not None and stop.certified
    F = result.x
    totals = F.sum(axis=1, keepdims=True)
    F /= np.where(totals != 0, totals, 1.0)
    result.extras.update(method=chosen, classes=classes, certified=certified,
                         transduction=classes[np.argmax(F, axis=1)])
    return result


def _choose(symmetric, alpha):
    if symmetric:
        return "cg"
    return "fixed-point" if alpha <= FIXED_POINT_ALPHA else "bicgstab"


def _certifier(A, B, symmetric, exact_residual):
    """The stopping rule of certified labels.

    A full check (the two best classes of every row) runs only once the residual has shrunk
    to where the last check's ratio says it could pass (with room for the margins to grow,
    and at least once per ``CHECK_SHRINK`` of residual), never where the residual backstop
    would stop the solver first, and a recursive residual that certifies is checked against
    the true one (they drift apart) before the solver stops, unless the solver's residual
    is the true one (``exact_residual``: the fixed-point iteration). On a sparse graph the
    bound is tightened row by row (a few single-vector products); a dense graph's product
    costs as much as a whole iteration.
    """
    propagate = A.propagate if A.sparse_parts is not None else None
    backstop = CERTIFIED_BACKSTOP * np.linalg.norm(B, axis=0).min(initial=np.inf)

    def stop(F, R):
        size = np.linalg.norm(R)
        if size > stop.next_check:
            return False
        ratio = certification_ratio(F, R, A.scale, A.alpha, symmetric, propagate)
        if ratio > 1.0 and not exact_residual:
            ratio = certification_ratio(F, B - A @ F, A.scale, A.alpha, symmetric, propagate)
        stop.certified = ratio > 1.0
        stop.next_check = size * min(max(MARGIN_GROWTH * ratio, CHECK_SHRINK), 1.0)
        if stop.next_check < backstop:
            stop.next_check = -1.0
        return stop.certified
    stop.certified = False
    # the first iterations leave points unreached (ratio 0): no look before a first shrink
    stop.next_check = CHECK_SHRINK * np.linalg.norm(B)
    return stop
