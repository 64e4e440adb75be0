"""Solving a sequence of linear systems with an online-tuned omega."""

import time

import numpy as np

from .._progress import progress
from .._result import SolveResult
from ._bandit import OmegaBandit
from ._checks import check_maxiter, check_tol, warn_unconverged
from ._trial import run_solver, run_trial
from ._tuning import best_fixed_omega, iteration_table, regret_curve

__all__ = ["SequenceSolver", "solve_sequence"]

_SOLVERS = ("sor", "ssor", "ssor_cg")
_EVALUATE = (False, True, "omega-one")
_OMEGA_ONE = 1.0


class SequenceSolver:
    """Stateful solver for systems that arrive one at a time, each with a learned omega.

    For each system it asks the tuner for a trial (:meth:`OmegaBandit.propose`: an omega,
    possibly preceded by a cut-short trial omega), solves, and feeds what the solve revealed
    back. Every returned result meets ``rtol`` (or warns, as a single solve does). For
    evaluation only, it can also solve each system at omega = 1 (``evaluate="omega-one"``,
    one more solve per system) or at every omega of the tuner's grid (``evaluate=True``, one
    solve per grid point) and report the total against them (:meth:`summary`).

    Parameters
    ----------
    tuner : OmegaBandit, optional
        Default ``OmegaBandit()`` (the ``"safe"`` policy).
    solver : {"sor", "ssor", "ssor_cg"}, default="sor"
    rtol : float, optional
        Relative residual tolerance of every solve, as in :func:`sor`: by default 1e-8 in
        float64 and 1e-5 in float32.
    maxiter : int, default=10000
    evaluate : {False, "omega-one", True}, default=False

    Attributes
    ----------
    omegas_ : list of float
        Omega used for each system (the incumbent's, which finished the solve).
    trial_omegas_ : list of float or None
        The trial omega each system started with (``None`` where there was none).
    iterations_ : list of int
        Iterations each system took.
    costs_ : ndarray of shape (n_systems, n_omegas)
        Only with ``evaluate=True``: iterations at every grid omega.
    regret_ : ndarray of shape (n_systems,)
        Only with ``evaluate=True``: cumulative iterations minus those of the best fixed grid
        omega over the systems seen so far.
    omega_one_iterations_ : ndarray of shape (n_systems,)
        Only with ``evaluate``: iterations each system takes at omega = 1.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from numsolve.linalg import OmegaBandit, SequenceSolver, poisson_2d
    >>> solver = SequenceSolver(OmegaBandit(random_state=0), evaluate="omega-one")
    >>> A = poisson_2d(6)
    >>> for t in range(3):
    ...     res = solver.solve(A + 0.1 * t * sp.identity(36), np.ones(36))
    >>> len(solver.iterations_), sorted(solver.summary())
    (3, ['omega_one_total', 'over_omega_one', 'systems', 'total'])
    """

    def __init__(self, tuner=None, *, solver="sor", rtol=None, maxiter=10000, evaluate=False):
        if solver not in _SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(_SOLVERS)}; got {solver!r}")
        if not any(evaluate is option or (isinstance(evaluate, str) and evaluate == option)
                   for option in _EVALUATE):
            raise ValueError(f"evaluate must be False, True or 'omega-one'; got {evaluate!r}")
        self.tuner = OmegaBandit() if tuner is None else tuner
        self.solver = solver
        self.rtol = None if rtol is None else check_tol(rtol, "rtol")
        # checked once here: the solves of a sequence run on checked settings
        self.maxiter = check_maxiter(maxiter)
        self.evaluate = evaluate
        self.omegas_, self.trial_omegas_, self.iterations_, self.contexts_ = [], [], [], []
        self._cost_rows, self._omega_one = [], []

    def solve(self, A, b, context=None, x0=None):
        """Solve ``A x = b`` as the tuner proposes; return the SolveResult.

        With a trial omega, ``result.switch`` is the iteration where the solve handed over
        to the incumbent's omega (``None`` when the trial omega finished it).
        """
        trial = self.tuner.propose(context)
        try:
            result, outcome = run_trial(self.solver, A, b, trial, x0, self.rtol, self.maxiter)
        except Exception:
            self.tuner.discard()
            raise
        self.tuner.observe_trial(outcome)
        self._record(A, b, context, x0, trial, result)
        return warn_unconverged(result, self.solver)

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
            trials = self.tuner.propose_batch([context for _, _, context, _ in batch])
            args = [(self.solver, A, b, trial, x0, self.rtol, self.maxiter)
                    for (A, b, _, x0), trial in zip(batch, trials)]
            try:
                if client is None:
                    solved = [run_trial(*arg) for arg in args]
                else:
                    solved = client.gather([client.submit(run_trial, *arg, pure=False)
                                            for arg in args])
            except Exception:
                self.tuner.discard()
                raise
            self.tuner.observe_trials([outcome for _, outcome in solved])
            for (A, b, context, x0), trial, (result, _) in zip(batch, trials, solved):
                self._record(A, b, context, x0, trial, result)
                results.append(warn_unconverged(result, self.solver))
        return results

    def _record(self, A, b, context, x0, trial, result):
        if trial.young_limit is None:
            self.omegas_.append(trial.omega)
            self.trial_omegas_.append(trial.trial_omega)
        else:
            # the omega the solve handed over to is known only now
            self.omegas_.append(result.extras["omega"])
            self.trial_omegas_.append(result.extras["trial_omega"])
        self.iterations_.append(result.n_iter)
        self.contexts_.append(context)
        if self.evaluate is True:
            self._cost_rows.append(iteration_table(
                [(A, b, None, x0)], self.tuner.omegas_, solver=self.solver, rtol=self.rtol,
                maxiter=self.maxiter)[0])
        if self.evaluate:
            self._omega_one.append(run_solver(self.solver, A, b, _OMEGA_ONE, x0, self.rtol,
                                              self.maxiter).n_iter)

    def summary(self):
        """Total iterations, and with ``evaluate`` the totals to compare them with.

        Returns
        -------
        dict
            ``systems``, ``total``; with ``evaluate``: ``omega_one_total`` and
            ``over_omega_one`` (total / omega = 1's total); with ``evaluate=True`` also
            ``best_fixed_omega``, ``best_fixed_total`` and ``over_best_fixed``.
        """
        total = float(np.sum(self.iterations_))
        out = {"systems": len(self.iterations_), "total": total}
        if self.evaluate:
            one = float(np.sum(self._omega_one))
            out.update(omega_one_total=one, over_omega_one=total / max(one, 1.0))
        if self.evaluate is True and self._cost_rows:
            omega, best = best_fixed_omega(self.costs_, self.tuner.omegas_)
            out.update(best_fixed_omega=omega, best_fixed_total=best,
                       over_best_fixed=total / max(best, 1.0))
        return out

    @property
    def omega_one_iterations_(self):
        if not self.evaluate:
            raise AttributeError("omega_one_iterations_ is recorded only with evaluate")
        return np.asarray(self._omega_one, dtype=float)

    @property
    def costs_(self):
        if self.evaluate is not True:
            raise AttributeError("costs_ is recorded only with evaluate=True")
        return np.asarray(self._cost_rows, dtype=float)

    @property
    def regret_(self):
        if self.evaluate is not True:
            raise AttributeError("regret_ is recorded only with evaluate=True")
        return regret_curve(self.iterations_, self.costs_)


def solve_sequence(systems, tuner=None, *, solver="sor", rtol=None, maxiter=10000,
                   evaluate=False, verbose=0):
    """Solve a sequence of systems, choosing omega online with ``tuner``.

    Parameters
    ----------
    systems : iterable of (A, b) or (A, b, context) or (A, b, context, x0)
    tuner : OmegaBandit, optional
        Default ``OmegaBandit()`` (the ``"safe"`` policy).
    solver : {"sor", "ssor", "ssor_cg"}, default="sor"
    rtol : float, optional
        Relative residual tolerance of every solve (1e-8 in float64, 1e-5 in float32 by
        default).
    maxiter : int, default=10000
    evaluate : {False, "omega-one", True}, default=False
        Also solve every system at omega = 1 (``"omega-one"``) or at every grid omega
        (``True``, which also reports the regret) for comparison.
    verbose : int, default=0

    Returns
    -------
    SolveResult
        ``x`` the list of solutions, ``n_iter`` the total iterations, ``converged`` whether
        every system converged; ``history`` per system: ``omega``, ``cost`` (iterations) and,
        with ``evaluate``, ``regret``; extras ``omegas``, ``iterations``, ``solver`` (the
        :class:`SequenceSolver`), ``summary`` (:meth:`SequenceSolver.summary`) and, with
        ``evaluate=True``, ``best_fixed_omega``.

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
    seq = SequenceSolver(tuner, solver=solver, rtol=rtol, maxiter=maxiter, evaluate=evaluate)
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
    extras["summary"] = seq.summary()
    if evaluate is True:
        history["regret"] = seq.regret_
        extras["best_fixed_omega"] = best_fixed_omega(seq.costs_, seq.tuner.omegas_)[0]
    total = int(np.sum(seq.iterations_))
    return SolveResult(x=solutions, n_iter=total, converged=bool(converged),
                       message=f"{T} systems solved, {total} iterations in total",
                       history=history, extras=extras)
