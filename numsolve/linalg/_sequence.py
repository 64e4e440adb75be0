"""Solving a sequence of linear systems with an online-tuned omega."""

import time

import numpy as np

from .._progress import progress
from .._result import SolveResult
from ._bandit import OmegaBandit
from ._sor_solver import sor
from ._ssor_cg import ssor_cg

__all__ = ["SequenceSolver", "run_solver", "solve_sequence"]

_SOLVERS = ("sor", "ssor", "ssor_cg")


def run_solver(solver, A, b, omega, x0, tol, maxiter):
    """Solve one system with ``solver`` in {"sor", "ssor", "ssor_cg"}; return its SolveResult."""
    if solver == "ssor_cg":
        return ssor_cg(A, b, omega=omega, x0=x0, tol=tol, maxiter=maxiter)
    return sor(A, b, omega=omega, x0=x0, tol=tol, maxiter=maxiter,
               symmetric=solver == "ssor")


class SequenceSolver:
    """Stateful solver for systems that arrive one at a time, each with a learned omega.

    For each system it asks the tuner for omega, solves, and feeds the iteration count back.
    With ``evaluate=True`` it also solves each system at every omega of the tuner's grid (for
    evaluation only: that costs one solve per grid point) and records the regret against the
    best fixed omega in hindsight.

    Parameters
    ----------
    tuner : OmegaBandit, optional
        Default ``OmegaBandit("tsallis-inf")``.
    solver : {"sor", "ssor", "ssor_cg"}, default="sor"
    tol : float, default=1e-8
    maxiter : int, default=10000
    evaluate : bool, default=False

    Attributes
    ----------
    omegas_ : list of float
        Omega used for each system.
    iterations_ : list of int
        Iterations each system took.
    costs_ : ndarray of shape (n_systems, n_omegas)
        Only with ``evaluate=True``: iterations at every grid omega.
    regret_ : ndarray of shape (n_systems,)
        Only with ``evaluate=True``: cumulative iterations minus those of the best fixed grid
        omega over the systems seen so far.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from numsolve.linalg import OmegaBandit, SequenceSolver, poisson_2d
    >>> solver = SequenceSolver(OmegaBandit(random_state=0))
    >>> A = poisson_2d(6)
    >>> for t in range(3):
    ...     res = solver.solve(A + 0.1 * t * sp.identity(36), np.ones(36))
    >>> len(solver.iterations_)
    3
    """

    def __init__(self, tuner=None, *, solver="sor", tol=1e-8, maxiter=10000, evaluate=False):
        if solver not in _SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(_SOLVERS)}; got {solver!r}")
        self.tuner = OmegaBandit() if tuner is None else tuner
        self.solver = solver
        self.tol = tol
        self.maxiter = maxiter
        self.evaluate = evaluate
        self.omegas_, self.iterations_, self.contexts_ = [], [], []
        self._cost_rows = []

    def solve(self, A, b, context=None, x0=None):
        """Solve ``A x = b`` with the tuner's omega; return the SolveResult."""
        omega = self.tuner.select(context)
        try:
            result = run_solver(self.solver, A, b, omega, x0, self.tol, self.maxiter)
        except Exception:
            self.tuner.discard()
            raise
        self.tuner.observe(result.n_iter)
        self.omegas_.append(omega)
        self.iterations_.append(result.n_iter)
        self.contexts_.append(context)
        if self.evaluate:
            from ._tuning import iteration_table

            self._cost_rows.append(iteration_table(
                [(A, b, None, x0)], self.tuner.omegas_, solver=self.solver, tol=self.tol,
                maxiter=self.maxiter)[0])
        return result

    @property
    def costs_(self):
        if not self.evaluate:
            raise AttributeError("costs_ is recorded only with evaluate=True")
        return np.asarray(self._cost_rows, dtype=float)

    @property
    def regret_(self):
        if not self.evaluate:
            raise AttributeError("regret_ is recorded only with evaluate=True")
        return regret_curve(self.iterations_, self.costs_)


def regret_curve(costs, table):
    """Cumulative ``costs`` minus the best fixed column of ``table`` over each prefix."""
    costs = np.asarray(costs, dtype=float)
    table = np.asarray(table, dtype=float)
    if costs.size == 0:
        return np.zeros(0)
    return np.cumsum(costs) - np.cumsum(table, axis=0).min(axis=1)


def solve_sequence(systems, tuner=None, *, solver="sor", tol=1e-8, maxiter=10000,
                   evaluate=False, verbose=0):
    """Solve a sequence of systems, choosing omega online with ``tuner``.

    Parameters
    ----------
    systems : iterable of (A, b) or (A, b, context) or (A, b, context, x0)
    tuner : OmegaBandit, optional
        Default ``OmegaBandit("tsallis-inf")``.
    solver : {"sor", "ssor", "ssor_cg"}, default="sor"
    tol : float, default=1e-8
    maxiter : int, default=10000
    evaluate : bool, default=False
        Also cost every grid omega on every system and report the regret.
    verbose : int, default=0

    Returns
    -------
    SolveResult
        ``x`` the list of solutions, ``n_iter`` the total iterations, ``converged`` whether
        every system converged; ``history`` per system: ``omega``, ``cost`` (iterations) and,
        with ``evaluate``, ``regret``; extras ``omegas``, ``iterations``, ``solver`` (the
        :class:`SequenceSolver`) and, with ``evaluate``, ``best_fixed_omega``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from numsolve.linalg import OmegaBandit, shifted_laplacian_sequence, solve_sequence
    >>> A, shifts, B = shifted_laplacian_sequence(20, random_state=0)
    >>> systems = [(A + c * sp.identity(100), b, c) for c, b in zip(shifts, B)]
    >>> res = solve_sequence(systems, OmegaBandit("chebcb", random_state=0))
    >>> res.converged, len(res.omegas)
    (True, 20)
    """
    seq = SequenceSolver(tuner, solver=solver, tol=tol, maxiter=maxiter, evaluate=evaluate)
    solutions, converged = [], True
    start = time.perf_counter()
    elapsed = []
    with progress(None, verbose, desc="solve_sequence", unit="system") as bar:
        for system in systems:
            A, b, context, x0 = (tuple(system) + (None, None))[:4]
            result = seq.solve(A, b, context=context, x0=x0)
            solutions.append(result.x)
            converged &= result.converged
            elapsed.append(time.perf_counter() - start)
            bar.update(1)
    T = len(seq.iterations_)
    history = {"iteration": np.arange(T, dtype=float), "elapsed": np.asarray(elapsed),
               "omega": np.asarray(seq.omegas_, dtype=float),
               "cost": np.asarray(seq.iterations_, dtype=float)}
    extras = {"omegas": np.asarray(seq.omegas_), "iterations": np.asarray(seq.iterations_),
              "solver": seq}
    if evaluate:
        history["regret"] = seq.regret_
        from ._tuning import best_fixed_omega

        extras["best_fixed_omega"] = best_fixed_omega(seq.costs_, seq.tuner.omegas_)[0]
    total = int(np.sum(seq.iterations_))
    return SolveResult(x=solutions, n_iter=total, converged=bool(converged),
                       message=f"{T} systems solved, {total} iterations in total",
                       history=history, extras=extras)
