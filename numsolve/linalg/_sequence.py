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
        self._record(A, b, context, x0, omega, result)
        return result

    def solve_many(self, systems, client=None, batch_size=None):
        """Solve systems in batches, in parallel on a Dask cluster, with delayed feedback.

        Each batch draws its omegas from the current policy (:meth:`OmegaBandit.select_batch`),
        its systems are solved at once (one Dask task each on ``client``'s workers, or one
        after the other without a client), and the tuner learns from the batch's iteration
        counts when they come back.

        Regret and batch size: the learner updates once per batch, so with ``B`` systems per
        batch it plays ``B`` rounds on stale probabilities. For Tsallis-INF the regret bound
        grows from ``O(sqrt(d T))`` to about ``O(sqrt(d T) + sqrt(B T log d))`` (bandits with
        delayed feedback); on the paper's 5000-system task a batch of 2 (two workers) costs
        a few percent more iterations than the sequential learner (see
        ``benchmarks/bench_scale_out.py``).

        Parameters
        ----------
        systems : iterable of (A, b) or (A, b, context) or (A, b, context, x0)
        client : distributed.Client, optional
            Cluster to solve on; without one the systems are solved here.
        batch_size : int, optional
            Systems per batch; by default the number of workers (1 without a client).

        Returns
        -------
        list of SolveResult
            One per system, in order.
        """
        if batch_size is None:
            batch_size = len(client.scheduler_info()["workers"]) if client is not None else 1
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        systems = [(tuple(system) + (None, None))[:4] for system in systems]
        results = []
        for start in range(0, len(systems), int(batch_size)):
            batch = systems[start:start + int(batch_size)]
            omegas = self.tuner.select_batch([context for _, _, context, _ in batch])
            args = [(self.solver, A, b, omega, x0, self.tol, self.maxiter)
                    for (A, b, _, x0), omega in zip(batch, omegas)]
            try:
                if client is None:
                    solved = [run_solver(*arg) for arg in args]
                else:
                    solved = client.gather([client.submit(run_solver, *arg, pure=False)
                                            for arg in args])
            except Exception:
                self.tuner.discard()
                raise
            self.tuner.observe_batch([result.n_iter for result in solved])
            for (A, b, context, x0), omega, result in zip(batch, omegas, solved):
                self._record(A, b, context, x0, omega, result)
            results.extend(solved)
        return results

    def _record(self, A, b, context, x0, omega, result):
        self.omegas_.append(omega)
        self.iterations_.append(result.n_iter)
        self.contexts_.append(context)
        if self.evaluate:
            from ._tuning import iteration_table

            self._cost_rows.append(iteration_table(
                [(A, b, None, x0)], self.tuner.omegas_, solver=self.solver, tol=self.tol,
                maxiter=self.maxiter)[0])

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
