"""Evaluation helpers: iteration tables, best fixed and instance-optimal omegas."""

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._validation import check_matrix
from . import _sor
from ._bandit import DEFAULT_OMEGAS
from ._checks import check_maxiter, check_omega, check_tol
from ._operator import split_matrix
from ._trial import run_solver
from ._young import optimal_omega

__all__ = [
    "best_fixed_omega",
    "instance_optimal_omegas",
    "iteration_table",
    "regret_curve",
    "shifted_iteration_table",
    "young_omega",
]


def shifted_iteration_table(A, shifts, B, omegas=None, *, rtol=1e-8, maxiter=10000,
                            symmetric=False, n_jobs=1):
    """SOR iterations from ``x0 = 0`` for every system ``(A + shifts[t] I) x = B[t]`` and omega.

    One Cython call costs the whole table (in parallel over systems with ``n_jobs``).

    Parameters
    ----------
    A : sparse matrix or array of shape (n, n)
    shifts : array of shape (T,)
    B : array of shape (T, n)
    omegas : array of shape (m,), optional
        Default ``linspace(1, 1.95, 20)``.
    rtol : float, default=1e-8
        Relative residual tolerance (the kernel runs in float64).
    maxiter : int, default=10000
    symmetric : bool, default=False
    n_jobs : int, default=1

    Returns
    -------
    ndarray of int64, shape (T, m)
        ``maxiter`` where the tolerance was not met.

    Examples
    --------
    >>> from numsolve.linalg import shifted_laplacian_sequence, shifted_iteration_table
    >>> A, shifts, B = shifted_laplacian_sequence(4, random_state=0)
    >>> shifted_iteration_table(A, shifts, B, [1.0, 1.6]).shape
    (4, 2)
    """
    rtol, maxiter = check_tol(rtol, "rtol"), check_maxiter(maxiter)
    omegas = np.array([check_omega(float(w), "omegas") for w in
                       (DEFAULT_OMEGAS if omegas is None else np.ravel(omegas))])
    M = split_matrix(A, dtype=np.float64)
    shifts = np.ascontiguousarray(shifts, dtype=np.float64).ravel()
    B = np.ascontiguousarray(check_matrix(B, "B", dtype=np.float64))
    if B.shape != (shifts.size, M.n):
        raise ValueError(f"B has shape {B.shape}, expected ({shifts.size}, {M.n})")
    if np.any(M.diag[None, :] + shifts[:, None] == 0):
        raise ValueError("a shifted matrix has a zero diagonal entry")
    out = np.empty((shifts.size, omegas.size), dtype=np.int64)
    _sor.sor_cost_table(M.odata, M.oind, M.optr, M.ustart, M.diag, shifts, B, omegas, rtol,
                        maxiter,
                        2 if symmetric else 0, out, int(n_jobs))
    return out


def iteration_table(systems, omegas=None, *, solver="sor", rtol=None, maxiter=10000):
    """Iterations of ``solver`` for every system and every omega of the grid.

    Parameters
    ----------
    systems : iterable of (A, b), (A, b, context) or (A, b, context, x0)
    omegas : array of shape (m,), optional
    solver : {"sor", "ssor", "ssor_cg"}, default="sor"
    rtol : float, optional
        Relative residual tolerance, as in :func:`sor` (1e-8 in float64, 1e-5 in float32 by
        default).
    maxiter : int, default=10000

    Returns
    -------
    ndarray of int64, shape (T, m)
        ``maxiter`` where the tolerance was not met (no warning: the table is for
        comparison).
    """
    omegas = DEFAULT_OMEGAS if omegas is None else np.ravel(omegas)
    rtol = None if rtol is None else check_tol(rtol, "rtol")
    rows = []
    for system in systems:
        A, b, _, x0 = (tuple(system) + (None, None))[:4]
        rows.append([run_solver(solver, A, b, float(w), x0, rtol, maxiter).n_iter
                     for w in omegas])
    return np.asarray(rows, dtype=np.int64)


def best_fixed_omega(table, omegas=None):
    """The grid omega with the least total cost over the sequence (best fixed in hindsight).

    Parameters
    ----------
    table : array of shape (T, m)
        Costs, as from :func:`iteration_table`.
    omegas : array of shape (m,), optional

    Returns
    -------
    omega : float
    total : float
        Its total cost.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linalg import best_fixed_omega
    >>> best_fixed_omega(np.array([[5, 3], [5, 4]]), [1.0, 1.5])
    (1.5, 7.0)
    """
    table = np.asarray(table, dtype=float)
    omegas = DEFAULT_OMEGAS if omegas is None else np.ravel(omegas)
    totals = table.sum(axis=0)
    arm = int(np.argmin(totals))
    return float(omegas[arm]), float(totals[arm])


def regret_curve(costs, table):
    """Cumulative ``costs`` minus the best fixed column of ``table`` over each prefix.

    Examples
    --------
    >>> from numsolve.linalg._tuning import regret_curve
    >>> regret_curve([5, 3], [[4, 6], [4, 2]]).tolist()
    [1.0, 0.0]
    """
    costs = np.asarray(costs, dtype=float)
    table = np.asarray(table, dtype=float)
    if costs.size == 0:
        return np.zeros(0)
    return np.cumsum(costs) - np.cumsum(table, axis=0).min(axis=1)



def instance_optimal_omegas(table, omegas=None):
    """Per-instance best grid omega and its cost (the instance-optimal policy on the grid).

    Returns
    -------
    omegas : ndarray of shape (T,)
    costs : ndarray of shape (T,)
    """
    table = np.asarray(table, dtype=float)
    omegas = DEFAULT_OMEGAS if omegas is None else np.ravel(omegas)
    arms = np.argmin(table, axis=1)
    return np.asarray(omegas)[arms], table[np.arange(table.shape[0]), arms]


def young_omega(A=None, *, beta=None):
    """Young's asymptotically optimal SOR omega ``1 + (beta / (1 + sqrt(1 - beta^2)))^2``.

    ``beta`` is the spectral radius of the Jacobi iteration matrix ``I - D^{-1} A`` (computed
    with ARPACK from symmetric ``A`` when not given). Optimal for consistently ordered
    matrices such as the 5-point Laplacian, where ``beta = cos(pi / (N + 1))``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linalg import poisson_2d, young_omega
    >>> round(young_omega(poisson_2d(10)), 4), round(young_omega(beta=np.cos(np.pi / 11)), 4)
    (1.5604, 1.5604)
    """
    if beta is None:
        if A is None:
            raise ValueError("give A or beta")
        M = split_matrix(A)
        scale = 1.0 / np.sqrt(np.abs(M.diag))
        off = sp.csr_matrix((M.odata, M.oind, M.optr), shape=(M.n, M.n))
        jacobi = sp.diags(scale) @ off @ sp.diags(scale)
        if M.n <= 64:
            beta = float(np.max(np.abs(np.linalg.eigvalsh(jacobi.toarray()))))
        else:
            beta = float(np.abs(spla.eigsh(jacobi, k=1, which="LM",
                                           return_eigenvectors=False)[0]))
    beta = float(beta)
    if not 0 <= beta < 1:
        raise ValueError(f"beta must lie in [0, 1) (Jacobi convergent), got {beta}")
    return float(optimal_omega(beta))
