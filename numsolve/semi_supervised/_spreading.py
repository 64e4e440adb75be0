"""Label spreading (Zhou et al., 2004) solved as a linear system instead of iterated.

With affinity ``W`` (diagonal ignored), ``D`` the diagonal of its column sums (1 for an
isolated node, as scikit-learn's normalised Laplacian) and ``S = D^(-1/2) W D^(-1/2)``,
scikit-learn iterates ``F <- alpha S F + (1 - alpha) Y`` towards its fixed point, the solution
of

    (I - alpha S) F = (1 - alpha) Y,

which is solved here directly: by conjugate gradients when ``W`` is symmetric (the matrix is
then SPD with eigenvalues in ``[1 - alpha, 1 + alpha]``: a handful of iterations), by BiCGSTAB
when it is not (scikit-learn's kNN graph is directed), or by sparse LU.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from .._result import SolveResult
from ._harmonic import _check_labelled_classes, class_indicators
from ._krylov import bicgstab, jacobi_pcg, relative_residuals

__all__ = ["SPREADING_METHODS", "label_spreading", "spreading_matrix"]

SPREADING_METHODS = ("auto", "cg", "bicgstab", "direct")


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


def _is_symmetric(W):
    if sp.issparse(W):
        transpose = W.T.tocsr()
        # a directed kNN graph has other in- than out-degrees: settled without a subtraction
        if not np.array_equal(np.diff(W.indptr), np.diff(transpose.indptr)):
            return False
    asym = abs(W - W.T)
    largest = asym.max() if asym.size and (not sp.issparse(asym) or asym.nnz) else 0.0
    return largest <= 1e-12 * max(abs(W).max(), 1e-300)


def label_spreading(W, y, *, alpha=0.2, classes=None, tol=1e-8, max_iter=1000, method="auto"):
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
    tol : float, default=1e-8
        Relative residual of the system to reach, per class.
    max_iter : int, default=1000
        Iteration budget of the iterative solvers.
    method : {"auto", "cg", "bicgstab", "direct"}, default="auto"
        ``"cg"`` (symmetric ``W`` only), ``"bicgstab"`` or ``"direct"`` (sparse LU); ``"auto"``
        takes ``"cg"`` for a symmetric ``W`` and ``"bicgstab"`` otherwise.

    Returns
    -------
    SolveResult
        ``x`` of shape (n, n_classes): label distributions, rows normalised to sum 1 (rows of
        zeros left as they are); extras ``classes``, ``transduction``, ``method`` (the solver
        used) and ``residual``.

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
    W = sp.csr_matrix(W) if sp.issparse(W) else np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got shape {W.shape}")
    entries = W.data if sp.issparse(W) else W
    if entries.size and not np.all(np.isfinite(entries)):
        raise ValueError("W contains NaN or infinity")
    if entries.size and entries.min() < 0:
        raise ValueError("W must be non-negative (an affinity matrix)")
    y = np.asarray(y)
    if y.shape != (W.shape[0],):
        raise ValueError(f"y must have shape ({W.shape[0]},), got {y.shape}")
    classes, labelled = _check_labelled_classes(y, classes)
    symmetric = _is_symmetric(W)
    if method == "cg" and not symmetric:
        raise ValueError("method='cg' needs a symmetric W; use 'bicgstab' or 'direct'")
    chosen = ("cg" if symmetric else "bicgstab") if method == "auto" else method
    A = spreading_matrix(W, alpha)
    B = np.zeros((W.shape[0], classes.size))
    B[labelled] = (1.0 - alpha) * class_indicators(y[labelled], classes)
    if chosen == "direct":
        X = splu(A.tocsc()).solve(B) if sp.issparse(A) else np.linalg.solve(A, B)
        residual = float(relative_residuals(A, X, B).max(initial=0.0))
        result = SolveResult(x=X, n_iter=1, converged=True, message="solved by sparse LU",
                             extras={"residual": residual})
    else:
        solve = jacobi_pcg if chosen == "cg" else bicgstab
        result = solve(A, B, tol=tol, max_iter=max_iter)
    F = result.x
    totals = F.sum(axis=1, keepdims=True)
    F /= np.where(totals != 0, totals, 1.0)
    result.extras.update(method=chosen, classes=classes,
                         transduction=classes[np.argmax(F, axis=1)])
    return result
