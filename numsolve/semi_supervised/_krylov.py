"""Iterative solvers of the label systems, all right-hand sides at once.

* :func:`jacobi_pcg`: conjugate gradients preconditioned by the diagonal, for the SPD systems
  (the harmonic system, label spreading on a symmetric graph). The columns run in lock-step,
  each with its own step lengths, so one sparse product serves every class;
* :func:`bicgstab`: BiCGSTAB, columns in lock-step too, for the non-symmetric system of label
  spreading on a directed kNN graph (its diagonal is one: no preconditioner is needed);
* :func:`fixed_point`: the iteration ``X <- X + (B - A X)``, scikit-learn's own for label
  spreading (``A = I - alpha S``, contracting by about ``alpha``): one product and four
  vector passes per iteration, a quarter of BiCGSTAB's, cheapest for a small ``alpha``;
* :func:`operator_pcg`: the same CG in NumPy for any operator with ``@`` (a dense matrix, the
  implicit label-spreading operator);
* :func:`defect_correction`: rounds of CG on a cheap operator close to the system's (a dense
  kernel's significant weights, sparse), one product with the system's own per round.

:func:`fixed_point`, :func:`operator_pcg` and :func:`bicgstab` take ``stop(X, R)``, asked after every iteration with
the iterate and its recursive residual ``R = B - A X``: a stopping rule of the caller's (label
spreading stops once its labels are certified) ended before ``tol`` is reached. Its attribute
``next_check`` is the Frobenius norm of ``R`` above which it answers no without looking: the
compiled fixed-point iteration runs on until then.
"""

import numpy as np
import scipy.sparse as sp

from .._result import HistoryRecorder, SolveResult
from ._jacobi_pcg import jacobi_pcg_run
from ._spreading_fixed_point import spreading_fixed_point_run

__all__ = ["bicgstab", "defect_correction", "fixed_point", "jacobi_pcg", "operator_pcg",
           "relative_residuals"]

MAX_RESTARTS = 3

# defect correction: the first round's relative residual where a stopping rule can look
# (rbf two moons certify there), and the smallest inner tolerance asked (round-off)
FIRST_ROUND = 1e-4
INNER_FLOOR = 1e-14


def _column_norms(B):
    """The norms of the columns of ``B``, 1 for a zero column (the residuals' scale)."""
    norms = np.linalg.norm(B, axis=0)
    return np.where(norms > 0, norms, 1.0)


def relative_residuals(A, X, B):
    """``||B - A X|| / ||B||`` per column (1 for a zero column's norm)."""
    return np.linalg.norm(B - A @ X, axis=0) / _column_norms(B)


def _largest_relative(R, norms):
    """The largest relative residual over the columns of ``R`` (0 without columns)."""
    return float((np.linalg.norm(R, axis=0) / norms).max(initial=0.0))


class _Iterations:
    """The loop the NumPy solvers share: count, residual, history and the caller's ``stop``.

    A solver asks :meth:`running` before each iteration and hands its iterate and residual
    to :meth:`advance` after it; :meth:`outcome` makes the result.
    """

    def __init__(self, R, norms, tol, max_iter, stop):
        self.norms, self.tol, self.max_iter, self.stop = norms, tol, max_iter, stop
        self.recorder = HistoryRecorder()
        self.n_iter = 0
        self.stopped = False
        self.residual = _largest_relative(R, norms)

    def running(self):
        """Neither converged, nor out of budget, nor stopped by the caller's rule."""
        return self.residual > self.tol and self.n_iter < self.max_iter and not self.stopped

    def advance(self, X, R, iterations=1):
        """Count ``iterations`` more, record the residual of ``R``, ask ``stop(X, R)``."""
        self.n_iter += iterations
        self.residual = _largest_relative(R, self.norms)
        self.recorder.record(self.n_iter, residual=self.residual)
        self.stopped = self.residual > self.tol and self.stop is not None and self.stop(X, R)

    def outcome(self, A, X, B, method, residual=None):
        """The result (see :func:`_outcome`)."""
        return _outcome(A, X, B, self.n_iter, self.tol, self.recorder, method, self.stopped,
                        residual)


def _start(B, tol, max_iter, stop):
    """A solve's start from ``X = 0``: its loop, ``X`` and the residual ``R = B``."""
    R = B.copy()
    return _Iterations(R, _column_norms(B), tol, max_iter, stop), np.zeros_like(B), R


def _outcome(A, X, B, n_iter, tol, recorder, method, stopped=False, residual=None):
    """The result; ``residual``: the largest relative residual of ``X`` where known."""
    if residual is None:
        residual = float(relative_residuals(A, X, B).max(initial=0.0))
    converged = stopped or residual <= tol
    if stopped:
        message = (f"stopped by the caller's rule after {n_iter} iterations (relative "
                   f"residual {residual:.2e})")
    elif converged:
        message = f"relative residual {residual:.2e} <= tol after {n_iter} iterations"
    else:
        message = (f"relative residual {residual:.2e} > tol after the budget of {n_iter} "
                   "iterations")
    return SolveResult(x=X, n_iter=n_iter, converged=converged, message=message,
                       history=recorder.as_dict(), extras={"residual": residual,
                                                           "method": method})


def jacobi_pcg(A, B, *, tol=1e-8, max_iter=1000):
    """Solve the SPD system ``A X = B`` by Jacobi-preconditioned CG, every column together.

    Parameters
    ----------
    A : scipy.sparse.csr_matrix or ndarray of shape (n, n)
        Symmetric positive definite, positive diagonal. A dense ``A`` runs the same
        iteration in NumPy (its products dominate).
    B : ndarray of shape (n, k)
    tol : float, default=1e-8
        Relative residual ``||b - A x|| / ||b||`` to reach in every column.
    max_iter : int, default=1000

    Returns
    -------
    SolveResult
        ``x`` of shape (n, k), the iterations, the relative residual per iteration (the
        recursive one, the largest over the columns) and extras ``residual`` (the true one,
        recomputed at the end) and ``method``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from numsolve.semi_supervised._krylov import jacobi_pcg
    >>> A = sp.diags([[-1.0] * 3, [3.0] * 4, [-1.0] * 3], [-1, 0, 1], format="csr")
    >>> result = jacobi_pcg(A, np.ones((4, 1)), tol=1e-12)
    >>> bool(np.allclose(A @ result.x, 1.0)), result.method
    (True, 'jacobi-pcg')
    """
    if not sp.issparse(A):
        return operator_pcg(A, B, tol=tol, max_iter=max_iter, inverse=1.0 / np.diag(A))
    recorder = HistoryRecorder()
    dtype = B.dtype
    A = A if A.dtype == dtype else A.astype(dtype)
    inverse = np.ascontiguousarray(1.0 / A.diagonal(), dtype=dtype)
    norms = _column_norms(B).astype(np.float64)
    # the kernel holds one column per row, each contiguous, as a single-column CG would
    X = np.zeros((B.shape[1], B.shape[0]), dtype=dtype)
    R = np.array(B.T, dtype=dtype, order="C")
    P, AP = np.zeros_like(X), np.zeros_like(X)
    residuals = np.empty(max_iter)
    n_iter = 0
    # the recursive residual drifts from the true one: restart from the true residual until
    # it meets tol too (round-off allowing)
    for _ in range(MAX_RESTARTS):
        made = jacobi_pcg_run(A.indptr, A.indices, A.data, inverse, norms, tol, X, R, P, AP,
                              residuals[n_iter:], max_iter - n_iter)
        for iteration in range(n_iter, n_iter + made):
            recorder.record(iteration + 1, residual=residuals[iteration])
        n_iter += made
        R = np.ascontiguousarray((B - A @ X.T).T)
        if n_iter >= max_iter or (np.linalg.norm(R, axis=1) / norms).max() <= tol:
            break
    return _outcome(A, np.ascontiguousarray(X.T), B, n_iter, tol, recorder, "jacobi-pcg")


def operator_pcg(A, B, *, tol=1e-8, max_iter=1000, inverse=None, stop=None):
    """Preconditioned CG in NumPy on any SPD operator ``A`` with ``A @ X``, columns together.

    Parameters
    ----------
    A : ndarray or object with ``@``
        Symmetric positive definite.
    B : ndarray of shape (n, k)
    tol, max_iter
        As in :func:`jacobi_pcg`.
    inverse : ndarray of shape (n,), optional
        Inverse of the diagonal preconditioner (default: none, for a unit diagonal).
    stop : callable, optional
        ``stop(X, R)`` ends the iteration when true (see the module's notes).

    Returns
    -------
    SolveResult
        As :func:`jacobi_pcg`; ``converged`` is also true when ``stop`` ended it.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.semi_supervised._krylov import operator_pcg
    >>> A = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> operator_pcg(A, np.ones((2, 1)), tol=1e-12).x.ravel()
    array([0.33333333, 0.33333333])
    """
    loop, X, R = _start(B, tol, max_iter, stop)
    inverse = np.ones(B.shape[0]) if inverse is None else inverse
    inverse = inverse[:, None]
    Z = inverse * R
    P = Z.copy()
    rz = np.einsum("ij,ij->j", R, Z)
    while loop.running():
        AP = A @ P
        curvature = np.einsum("ij,ij->j", P, AP)
        # a column already solved exactly has a zero direction: it takes no step
        step = np.divide(rz, curvature, out=np.zeros_like(rz), where=curvature > 0)
        X += step * P
        R -= step * AP
        Z = inverse * R
        rz_next = np.einsum("ij,ij->j", R, Z)
        P = Z + np.divide(rz_next, rz, out=np.zeros_like(rz), where=rz > 0) * P
        rz = rz_next
        loop.advance(X, R)
    return loop.outcome(A, X, B, "jacobi-pcg")


def defect_correction(A, B, *, inner, tol=1e-8, max_iter=1000, stop=None):
    """Solve the SPD system ``A X = B`` by rounds of CG on ``inner``, an SPD operator close
    to ``A`` and far cheaper to apply: each round solves ``inner D = R`` for the true
    residual ``R = B - A X`` and adds ``D`` to ``X``; one product with ``A`` per round.

    The rounds converge at the rate ``||inner^-1 (A - inner)||`` (near round-off for a
    dense kernel without its negligible weights). The first round stops at the relative
    residual ``FIRST_ROUND`` when ``stop`` may end the solve there, every later one aims at
    ``tol``. Arguments and result as in :func:`operator_pcg`; ``n_iter`` counts the CG
    iterations on ``inner``, the history holds the true residual after each round.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.semi_supervised._krylov import defect_correction
    >>> A = np.array([[2.0, 1e-17], [1e-17, 2.0]])
    >>> defect_correction(A, np.ones((2, 1)), inner=np.eye(2) * 2.0, tol=1e-12).x.ravel()
    array([0.5, 0.5])
    """
    loop, X, R = _start(B, tol, max_iter, stop)
    target = max(tol, FIRST_ROUND) if stop is not None else tol
    while loop.running():
        # the inner tolerance is relative to R, the target to B
        step = operator_pcg(inner, R, tol=max(target / loop.residual, INNER_FLOOR),
                            max_iter=max_iter - loop.n_iter)
        X += step.x
        R = B - A @ X
        loop.advance(X, R, max(step.n_iter, 1))
        target = tol
    return loop.outcome(A, X, B, "cg", loop.residual)


def _ratio(numerator, denominator):
    """Per-column ``numerator / denominator``, 0 where a solved column makes it 0 / 0."""
    return np.divide(numerator, denominator, out=np.zeros_like(numerator),
                     where=denominator != 0)


def bicgstab(A, B, *, tol=1e-8, max_iter=1000, stop=None):
    """Solve the non-symmetric system ``A X = B`` by BiCGSTAB, every column in lock-step.

    Unpreconditioned (the systems it serves have a unit diagonal); two products with ``A``
    per iteration, for all columns at once; ``A`` is a matrix or any object with ``@``.
    Arguments and result as in :func:`operator_pcg`.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from numsolve.semi_supervised._krylov import bicgstab
    >>> A = sp.csr_matrix(np.array([[2.0, -1.0], [0.0, 1.0]]))
    >>> bicgstab(A, np.ones((2, 1)), tol=1e-12).x.ravel()
    array([1., 1.])
    """
    loop, X, R = _start(B, tol, max_iter, stop)
    shadow = B.copy()
    P, V = np.zeros_like(B), np.zeros_like(B)
    ones = np.ones(B.shape[1], dtype=B.dtype)
    rho, alpha, omega = ones, ones, ones
    while loop.running():
        rho_next = np.einsum("ij,ij->j", shadow, R)
        beta = _ratio(rho_next, rho) * _ratio(alpha, omega)
        P = R + beta * (P - omega * V)
        V = A @ P
        alpha = _ratio(rho_next, np.einsum("ij,ij->j", shadow, V))
        S = R - alpha * V
        T = A @ S
        omega = _ratio(np.einsum("ij,ij->j", T, S), np.einsum("ij,ij->j", T, T))
        X += alpha * P + omega * S
        R = S - omega * T
        rho = rho_next
        loop.advance(X, R)
    return loop.outcome(A, X, B, "bicgstab")


def fixed_point(A, B, *, tol=1e-8, max_iter=1000, stop=None):
    """Solve ``A X = B`` by the fixed-point iteration ``X <- X + (B - A X)``.

    Converges when the spectral radius of ``I - A`` is below one (label spreading: at most
    ``alpha`` on a symmetric graph), at that rate; one product with ``A`` per iteration, and
    the residual it gives is the true one. Arguments and result as in :func:`operator_pcg`.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.semi_supervised._krylov import fixed_point
    >>> A = np.array([[1.0, -0.2], [-0.2, 1.0]])
    >>> fixed_point(A, np.ones((2, 1)), tol=1e-12).x.ravel()
    array([1.25, 1.25])
    """
    parts = getattr(A, "sparse_parts", None)
    if parts is not None:
        return _compiled_fixed_point(A, parts, B, tol, max_iter, stop)
    # from X = B, where the iteration from zero arrives after its first product
    X = np.array(B, dtype=np.float64)
    R = B - A @ X
    loop = _Iterations(R, _column_norms(B), tol, max_iter, stop)
    while loop.running():
        X += R
        R = B - A @ X
        loop.advance(X, R)
    return loop.outcome(A, X, B, "fixed-point")


def _compiled_fixed_point(A, parts, B, tol, max_iter, stop):
    """:func:`fixed_point` for an operator ``own * X + P X`` (``A.sparse_parts``: CSR ``P``
    and the vector ``own``), in one compiled pass over ``P`` per iteration; it returns to
    Python only where ``stop`` wants a look."""
    product, own = parts
    recorder = HistoryRecorder()
    norms = _column_norms(B)
    B = np.ascontiguousarray(B, dtype=np.float64)
    # from X = B, where the iteration from zero arrives after its first product
    X, X_next, R = B.copy(), np.empty_like(B), np.empty_like(B)
    residuals = np.empty(max_iter + 1)
    n_iter = 0
    stopped = False
    while True:
        pause = -1.0 if stop is None else stop.next_check
        made = spreading_fixed_point_run(product.indptr, product.indices, product.data, own,
                                         B, norms, tol, pause, X, X_next, R,
                                         residuals[n_iter:], max_iter - n_iter)
        for iteration in range(n_iter, n_iter + made):
            recorder.record(iteration + 1, residual=residuals[iteration])
        n_iter += made
        # the kernel's residual is that of X itself, not a recursion's
        residual = _largest_relative(R, norms)
        if residual <= tol or n_iter >= max_iter:
            break
        stopped = stop(X, R)
        if stopped:
            break
    return _outcome(A, X, B, n_iter, tol, recorder, "fixed-point", stopped, residual)
