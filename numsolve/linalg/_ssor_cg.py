"""``ssor_cg``: conjugate gradients preconditioned by symmetric SOR, for SPD systems."""

import time

import numpy as np

from .._array_api import array_namespace, require_backend
from .._progress import progress
from .._result import SolveResult
from .._validation import check_vector
from . import _sor
from ._checks import (
    check_matrix_entries,
    check_maxiter,
    check_omega,
    check_tol,
    default_rtol,
    warn_unconverged,
)
from ._operator import split_matrix

__all__ = ["quiet_ssor_cg", "ssor_cg"]


def ssor_cg(A, b, *, omega=1.0, x0=None, rtol=None, maxiter=None, verbose=0):
    """Solve SPD ``A x = b`` by CG with the SSOR preconditioner.

    The preconditioner is ``M = (D + omega L) D^{-1} (D + omega U) / (omega (2 - omega))``
    (one forward and one backward triangular sweep per application). The whole iteration
    runs in one Cython call; it stops when ``||b - A x_k|| <= rtol * ||b||`` (the recursively
    updated residual, as in :func:`scipy.sparse.linalg.cg`).

    Parameters
    ----------
    A : array-like or sparse matrix of shape (n, n)
        Symmetric positive definite, NumPy or SciPy sparse. A
        :class:`~scipy.sparse.linalg.LinearOperator` is refused (TypeError): the
        preconditioner's sweeps need the entries of ``A``.
    b : array of shape (n,)
    omega : float, default=1.0
        Relaxation parameter in (0, 2).
    x0 : array of shape (n,), optional
        Initial guess (zeros by default); never modified.
    rtol : float, optional
        Relative residual tolerance, as in :func:`scipy.sparse.linalg.cg`. By default 1e-8
        in float64 and 1e-5 in float32.
    maxiter : int, optional
        Iteration cap, ``10 * n`` by default.
    verbose : int, default=0
        Show a progress bar. The iteration runs in one compiled call (splitting it would
        restart CG), so the bar advances once, when the call returns, with the final
        residual.

    Returns
    -------
    SolveResult
        ``x``, ``n_iter``, ``converged``, ``history["residual"]`` (relative) and extras
        ``omega`` and ``residual``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linalg import poisson_2d, ssor_cg
    >>> A = poisson_2d(20)
    >>> res = ssor_cg(A, np.ones(400), omega=1.7)
    >>> res.converged
    True
    """
    return warn_unconverged(quiet_ssor_cg(A, b, omega=omega, x0=x0, rtol=rtol,
                                          maxiter=maxiter, verbose=verbose), "ssor_cg")


def quiet_ssor_cg(A, b, *, omega=1.0, x0=None, rtol=None, maxiter=None, verbose=0):
    """:func:`ssor_cg` without its ConvergenceWarning (see
    :func:`~numsolve.linalg._sor_solver.quiet_sor`)."""
    check_matrix_entries(A, "ssor_cg")
    omega = check_omega(omega)
    rtol = None if rtol is None else check_tol(rtol, "rtol")
    xp = array_namespace(A, b, x0)
    require_backend(xp, {"compiled"}, "ssor_cg")
    dtype = np.float32 if (getattr(A, "dtype", None) == np.float32
                           and getattr(b, "dtype", None) == np.float32) else np.float64
    M = split_matrix(A, dtype=dtype)
    maxiter = check_maxiter(10 * M.n if maxiter is None else maxiter)
    b = check_vector(b, M.n, "b", dtype=dtype)
    x = (np.zeros(M.n, dtype=dtype) if x0 is None
         else check_vector(x0, M.n, "x0", dtype=dtype, copy=True))
    bnorm = float(np.linalg.norm(b))
    tol_abs = default_rtol(rtol, dtype) * bnorm
    work = [np.empty(M.n, dtype=dtype) for _ in range(4)]
    hist = np.empty(maxiter + 1)
    start = time.perf_counter()
    with progress(maxiter, verbose, desc="ssor_cg", unit="it") as bar:
        n_iter = _sor.ssor_pcg_solve(*M.kernel_args(), b, x, *work, omega, tol_abs, maxiter,
                                     hist)
        seconds = time.perf_counter() - start
        residuals = hist[: n_iter + 1]
        scale = bnorm if bnorm > 0 else 1.0
        bar.update(n_iter)
        bar.set_postfix(residual=f"{residuals[-1] / scale:.2e}")
    final = float(residuals[-1])
    converged = final <= tol_abs
    if converged:
        message = f"relative residual {final / scale:.3g} met the tolerance"
    else:
        message = f"stopped after {n_iter} iterations; relative residual {final / scale:.3g}"
    iterations = np.arange(n_iter + 1, dtype=float)
    return SolveResult(
        x=x, n_iter=int(n_iter), converged=bool(converged), message=message,
        history={"iteration": iterations,
                 "elapsed": seconds * (iterations + 1) / (n_iter + 1),
                 "residual": residuals / scale},
        extras={"omega": omega, "residual": final / scale},
    )
