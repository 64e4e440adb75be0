"""``sor``: successive over-relaxation for one linear system, returning a SolveResult."""

import time

import numpy as np
import scipy.sparse as sp

from .._array_api import array_namespace, device_of, require_backend
from .._progress import progress
from .._result import SolveResult
from .._validation import check_vector, check_xp_array
from . import _sor
from ._checks import (
    DEFAULT_RTOL,
    check_matrix_entries,
    check_maxiter,
    check_omega,
    check_tol,
    default_rtol,
    warn_unconverged,
)
from ._coloring import color_rows, color_rows_dense, colour_blocks
from ._cupy import is_cupyx_sparse, sor_cupyx
from ._multicolor import multicolor_loop
from ._operator import split_matrix

__all__ = ["PreparedSystem", "prepare_sor", "quiet_sor", "sor"]

_DIRECTIONS = {"forward": 0, "backward": 1, "symmetric": 2}
_CHUNK = 100


def sor(A, b, *, omega=1.0, x0=None, rtol=None, maxiter=10000, symmetric=False,
        ordering=None, n_jobs=1, verbose=0):
    """Solve ``A x = b`` by successive over-relaxation (SOR / SSOR).

    Splitting ``A = D + L + U``, one forward sweep is ``x <- x + (D/omega + L)^{-1} (b - A x)``;
    with ``symmetric=True`` a backward sweep follows (SSOR). The iteration stops at the first
    iterate ``x_k`` with ``||b - A x_k|| <= rtol * ||b||``; ``n_iter`` is ``k``. For symmetric
    positive definite ``A`` it converges for every ``0 < omega < 2``.

    Parameters
    ----------
    A : array-like or sparse matrix of shape (n, n)
        Square matrix with a non-zero diagonal. NumPy arrays and SciPy sparse matrices run the
        Cython kernels; arrays of other Array API namespaces (CuPy, torch, array_api_strict)
        run multi-colour SOR in their own namespace and device. Unlike SciPy's Krylov
        solvers, a :class:`~scipy.sparse.linalg.LinearOperator` is refused (TypeError): a
        sweep needs the entries of ``A``, not only its products.
    b : array of shape (n,)
        Right-hand side.
    omega : float, default=1.0
        Relaxation parameter in (0, 2); 1 is Gauss-Seidel.
    x0 : array of shape (n,), optional
        Initial guess (zeros by default). Never modified.
    rtol : float, optional
        Relative residual tolerance, as SciPy's iterative solvers name it. By default 1e-8
        in float64 and 1e-5 in float32 (where the residual stalls well above 1e-8).
    maxiter : int, default=10000
        Maximum number of sweeps.
    symmetric : bool, default=False
        Forward then backward sweep per iteration (SSOR).
    ordering : {"natural", "multicolor"}, optional
        Row order of the sweeps. ``"natural"`` (default for NumPy/SciPy input) is the classic
        sequential SOR; ``"multicolor"`` (the only choice, and default, for other namespaces)
        updates independent sets of rows together, in parallel.
    n_jobs : int, default=1
        Threads for the multi-colour Cython kernel.
    verbose : int, default=0
        Show a progress bar.

    Returns
    -------
    SolveResult
        ``x``, ``n_iter`` (sweeps), ``converged``, ``history`` with ``"residual"`` (relative
        residual of each iterate ``x_0 .. x_n_iter``) and extras ``omega``, ``ordering``,
        ``residual``. The whole loop runs inside one compiled call, so ``history["elapsed"]``
        spreads its measured wall time evenly over the sweeps.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linalg import poisson_2d, sor
    >>> A = poisson_2d(10)
    >>> b = np.ones(A.shape[0])
    >>> res = sor(A, b, omega=1.5)
    >>> res.converged, bool(np.linalg.norm(b - A @ res.x) <= 1e-8 * np.linalg.norm(b))
    (True, True)
    """
    return warn_unconverged(quiet_sor(A, b, omega=omega, x0=x0, rtol=rtol, maxiter=maxiter,
                                      symmetric=symmetric, ordering=ordering,
                                      n_jobs=n_jobs, verbose=verbose), "sor")


def quiet_sor(A, b, *, omega=1.0, x0=None, rtol=None, maxiter=10000, symmetric=False,
              ordering=None, n_jobs=1, verbose=0):
    """:func:`sor` without its ConvergenceWarning: an unconverged result comes back with
    ``converged=False`` for the caller to judge (a cut-short trial expects that), with no
    process-wide warning filter, so it is safe in threads."""
    check_matrix_entries(A, "sor")
    omega = check_omega(omega)
    rtol = None if rtol is None else check_tol(rtol, "rtol")
    maxiter = check_maxiter(maxiter)
    n_jobs = check_maxiter(n_jobs, "n_jobs")
    if ordering not in (None, "natural", "multicolor"):
        raise ValueError(f"ordering must be 'natural' or 'multicolor', got {ordering!r}")
    if is_cupyx_sparse(A):
        if ordering == "natural":
            raise ValueError("ordering='natural' is sequential; CuPy input uses 'multicolor'")
        return sor_cupyx(A, b, x0, omega, default_rtol(
            rtol, _precision(np.result_type(A.dtype, getattr(b, "dtype", A.dtype)))), maxiter,
                         symmetric, _result)
    if not _host_input(A, b, x0):
        xp = array_namespace(A, b, x0)
        if require_backend(xp, {"compiled", "generic"}, "sor") == "generic":
            if ordering == "natural":
                raise ValueError(
                    "ordering='natural' is sequential and needs NumPy/SciPy input; arrays of "
                    f"{xp.__name__} use ordering='multicolor'"
                )
            return _sor_generic(xp, A, b, x0, omega, rtol, maxiter, symmetric)
    return PreparedSystem(A, b, rtol).solve(omega, x0, maxiter, symmetric,
                                            ordering or "natural", n_jobs, verbose)


def _host_input(A, b, x0):
    """Whether the inputs are plainly NumPy / SciPy (the common case, told apart without the
    namespace lookup, which costs as much as a small solve)."""
    return ((sp.issparse(A) or isinstance(A, np.ndarray)) and isinstance(b, np.ndarray)
            and (x0 is None or isinstance(x0, np.ndarray)))


def prepare_sor(A, b, rtol):
    """The :class:`PreparedSystem` of ``A x = b`` for the compiled kernels, or ``None`` where
    the input belongs to another array namespace (which :func:`quiet_sor` handles)."""
    check_matrix_entries(A, "sor")
    if is_cupyx_sparse(A):
        return None
    if not _host_input(A, b, None):
        xp = array_namespace(A, b)
        if require_backend(xp, {"compiled", "generic"}, "sor") == "generic":
            return None
    return PreparedSystem(A, b, rtol)


def _precision(dtype):
    """The working precision of ``dtype``: float32 stays float32, all else runs in float64."""
    return np.float32 if str(dtype).endswith("float32") else np.float64


class PreparedSystem:
    """``A x = b`` (NumPy / SciPy) validated and split once for the compiled kernels.

    It can then be solved at any omega from any start without checking or splitting ``A``
    again: the two phases of a cut-short trial share one.

    Parameters
    ----------
    A : array-like or sparse matrix of shape (n, n)
    b : array of shape (n,)
    rtol : float or None
        Relative residual tolerance, already checked (the dtype's default where None).
    """

    def __init__(self, A, b, rtol):
        self.dtype = np.float32 if (getattr(A, "dtype", None) == np.float32
                                    and getattr(b, "dtype", None) == np.float32) else np.float64
        self.A = A
        self.split = split_matrix(A, dtype=self.dtype)
        self.b = check_vector(b, self.split.n, "b", dtype=self.dtype)
        self.bnorm = float(np.linalg.norm(self.b))
        self.tol_abs = (DEFAULT_RTOL[np.dtype(self.dtype)] if rtol is None else rtol) * self.bnorm

    def start(self, x0):
        """A fresh copy of the start ``x0`` (zeros where None), in the working dtype."""
        if x0 is None:
            return np.zeros(self.split.n, dtype=self.dtype)
        return check_vector(x0, self.split.n, "x0", dtype=self.dtype, copy=True)

    def solve(self, omega, x0=None, maxiter=10000, symmetric=False, ordering="natural",
              n_jobs=1, verbose=0, *, own_start=False):
        """Solve from ``x0`` (used in place and returned as ``x`` with ``own_start``: the
        caller hands over an iterate it owns) at ``omega``; return the SolveResult."""
        x = x0 if own_start else self.start(x0)
        M = self.split
        d = np.zeros(M.n, dtype=self.dtype)
        b, tol_abs = self.b, self.tol_abs
        start = time.perf_counter()
        if ordering == "multicolor":
            order, bounds = colour_blocks(color_rows(sp.csr_matrix(self.A)))
            index = M.oind.dtype
            order, bounds = order.astype(index), bounds.astype(index)

            def run(steps, hist):
                return _sor.multicolor_solve(M.odata, M.oind, M.optr, M.diag, bounds, order, b,
                                             x, d, omega, int(bool(symmetric)), tol_abs, steps,
                                             hist, int(n_jobs))
        else:
            direction = _DIRECTIONS["symmetric" if symmetric else "forward"]

            def run(steps, hist):
                return _sor.sor_solve(*M.kernel_args(), b, x, d, omega, direction, tol_abs,
                                      steps, hist)
        residuals, n_iter = _chunked(run, maxiter, verbose)
        seconds = time.perf_counter() - start
        return _result(x, n_iter, residuals, self.bnorm, tol_abs, maxiter, seconds, omega,
                       ordering, symmetric)

    def solve_trial(self, trial_omega, budget, omega, x0=None, maxiter=10000, symmetric=False):
        """Sweep at ``trial_omega`` for at most ``budget`` sweeps, then at ``omega`` from that
        iterate; return ``(SolveResult, switch)``.

        ``omega`` is the omega to go on with, or a function that picks it from the first
        phase's relative residuals (its ``budget + 1`` values, as ``history["residual"]``
        will hold them). ``switch`` is ``budget`` where the hand-over happened and ``None``
        where the trial omega met the tolerance (or diverged) within its budget, or the
        budget was all of ``maxiter``. Both phases run in one residual buffer and return one
        result, whose ``history["residual"]`` runs through both and ``history["omega"]``
        gives each sweep's omega; the result's ``extras["omega"]`` is the omega that
        finished.
        """
        x = self.start(x0)
        d = np.zeros(self.split.n, dtype=self.dtype)
        direction = _DIRECTIONS["symmetric" if symmetric else "forward"]
        args = self.split.kernel_args()
        hist = np.empty(maxiter + 1)
        start = time.perf_counter()
        n_iter = _sor.sor_solve(*args, self.b, x, d, trial_omega, direction, self.tol_abs,
                                budget, hist)
        if n_iter < budget or hist[budget] <= self.tol_abs or budget == maxiter:
            result = _result(x, n_iter, hist[:n_iter + 1], self.bnorm, self.tol_abs, budget,
                             time.perf_counter() - start, trial_omega, "natural", symmetric)
            return result, None
        if callable(omega):
            omega = omega(hist[:budget + 1] / _scale(self.bnorm))
        # the second phase writes its starting residual where the first left its last one;
        # keep the first phase's own value there
        handover = hist[budget]
        d[:] = 0
        n_iter = budget + _sor.sor_solve(*args, self.b, x, d, omega, direction, self.tol_abs,
                                         maxiter - budget, hist[budget:])
        hist[budget] = handover
        result = _result(x, n_iter, hist[:n_iter + 1], self.bnorm, self.tol_abs, maxiter,
                         time.perf_counter() - start, omega, "natural", symmetric)
        result.history["omega"] = np.full(n_iter + 1, float(omega))
        result.history["omega"][:budget] = trial_omega
        return result, budget


def _chunked(run, maxiter, verbose):
    """Run the kernel in one call, or in chunks of sweeps when a progress bar is shown."""
    if not verbose:
        hist = np.empty(maxiter + 1)
        n_iter = run(maxiter, hist)
        return hist[: n_iter + 1], n_iter
    pieces, done = [], 0
    with progress(maxiter, verbose, desc="sor", unit="sweep") as bar:
        while done < maxiter:
            steps = min(_CHUNK, maxiter - done)
            hist = np.empty(steps + 1)
            k = run(steps, hist)
            pieces.append(hist[:k])
            done += k
            bar.update(k)
            bar.set_postfix(residual=f"{hist[k]:.2e}")
            if k < steps or not np.isfinite(hist[k]):
                break
        pieces.append(hist[k : k + 1])
    return np.concatenate(pieces), done


def _scale(bnorm):
    """What absolute residuals are divided by to make them relative: ``||b||`` (1 where
    ``b = 0``)."""
    return bnorm if bnorm > 0 else 1.0


def _result(x, n_iter, residuals, bnorm, tol_abs, maxiter, seconds, omega, ordering,
            symmetric):
    final = float(residuals[-1])
    converged = final <= tol_abs
    scale = _scale(bnorm)
    if converged:
        message = f"relative residual {final / scale:.3g} met the tolerance"
    elif not np.isfinite(final):
        message = "diverged: the residual is not finite (is A positive definite?)"
    else:
        message = f"maxiter={maxiter} reached; relative residual {final / scale:.3g}"
    iterations = np.arange(len(residuals), dtype=float)
    history = {
        "iteration": iterations,
        "elapsed": seconds * (iterations + 1) / len(residuals),
        "residual": np.asarray(residuals, dtype=float) / scale,
    }
    return SolveResult(
        x=x, n_iter=int(n_iter), converged=bool(converged), message=message, history=history,
        extras={"omega": omega, "ordering": ordering, "symmetric": bool(symmetric),
                "residual": final / scale},
    )


def _sor_generic(xp, A, b, x0, omega, rtol, maxiter, symmetric):
    device = device_of(A, b, x0)
    A = check_xp_array(A, xp, "A", ndim=2)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {tuple(A.shape)}")
    n = A.shape[0]
    b = check_xp_array(b, xp, "b", ndim=1, shape=(n,))
    dtype = xp.result_type(A.dtype, b.dtype)
    A, b = xp.astype(A, dtype), xp.astype(b, dtype)
    diag = xp.linalg.diagonal(A)
    if bool(xp.any(diag == 0)):
        raise ValueError("A has zero (or missing) diagonal entries; SOR divides by the diagonal")
    x = (xp.zeros(n, dtype=dtype, device=device) if x0 is None
         else xp.astype(check_xp_array(x0, xp, "x0", ndim=1, shape=(n,)), dtype, copy=True))
    start = time.perf_counter()
    colour = color_rows_dense(xp, A)
    order = xp.argsort(colour, stable=True)
    counts = [int(v) for v in xp.sum(xp.astype(colour[None, :] == xp.arange(
        int(xp.max(colour)) + 1, dtype=colour.dtype, device=device)[:, None], xp.int64),
        axis=1)]
    Ap = xp.take(xp.take(A, order, axis=0), order, axis=1)
    blocks, lo = [], 0
    for count in counts:
        blocks.append((lo, lo + count, Ap[lo : lo + count, :]))
        lo += count
    bp, xp0 = xp.take(b, order), xp.take(x, order)
    tol_abs = default_rtol(rtol, _precision(dtype)) * float(xp.linalg.vector_norm(b))
    xperm, n_iter, residuals = multicolor_loop(xp, Ap, blocks, xp.take(diag, order), bp, xp0,
                                               omega, symmetric, tol_abs, maxiter)
    inverse = xp.argsort(order)
    x = xp.take(xperm, inverse)
    return _result(x, n_iter, np.asarray(residuals), float(xp.linalg.vector_norm(b)), tol_abs,
                   maxiter, time.perf_counter() - start, omega, "multicolor", symmetric)
