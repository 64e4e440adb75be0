"""Solving one system with a cut-short trial omega that hands over to the incumbent's omega.

Both phases of a hand-over (to a given omega, or to the Young omega read from the first
phase) run in one :meth:`PreparedSystem.solve_trial`: one residual buffer and one result. Two
solves joined afterwards cost 16 us more per solve on the paper's 10 x 10 systems (11 % of the
task's time). The Young omega is read in Python between the two kernel calls: a kernel call
costs 1.7 us, and a reading in C (libm's ``log`` for ``np.log``) moves the omega in its last
bit for 0.2-0.4 % of the rates, hence every later iterate.
"""

from typing import NamedTuple, Optional

import math

import numpy as np

from .._result import SolveResult
from ._radius_model import jacobi_radius
from ._sor_solver import prepare_sor, quiet_sor
from ._ssor_cg import quiet_ssor_cg
from ._young import optimal_omega

__all__ = ["Trial", "TrialOutcome", "handover_omega", "run_solver", "run_trial"]

# Sweeps after the hand-over that are left out of the incumbent's rate: the error left by the
# trial omega needs a few sweeps to settle into the incumbent's slowest modes.
_SETTLE = 2
# A phase reads its system's Young omega only where it decays more slowly than
# ``sqrt(omega - 1)`` per iteration (half the log-rate of ``omega - 1``): at or above their
# Young omega pyamg's meshes decay at log-rates about 1.75 times slower than ``omega - 1``
# (``_radius_model._ABOVE``), which says nothing of the Young omega; below it, far slower
# (0.979 at omega 1.76 on pyamg's shifted unit_square, whose Young omega is 1.90). Factors
# 1/1.75 to 1/2.5 kept every line of issue 17's table.
_READABLE = 0.5


class Trial(NamedTuple):
    """What to run on one system.

    ``omega`` is the incumbent's; with a ``trial_omega`` the solve starts with it for at
    most ``budget`` iterations, then continues from that iterate with ``omega``.
    ``model_check``: the trial omega is a move a model proposes, which the incumbent takes
    only if the trial beats it. ``reading``: the trial omega sits below the modelled best
    omega so that its decay rate shows the system's Young omega. ``young_limit`` (plain SOR,
    no trial omega): the solve runs at ``omega`` for at most ``budget`` iterations, then
    continues from that iterate at the Young omega their decay rate shows
    (:func:`handover_omega`, at most ``young_limit``; ``omega`` itself where they decayed
    too fast to show one).
    """

    omega: float
    trial_omega: Optional[float] = None
    budget: int = 0
    model_check: bool = False
    reading: bool = False
    young_limit: Optional[float] = None


class TrialOutcome(NamedTuple):
    """What one solve revealed to the learner.

    ``n_iter``: the system's total iterations. ``trial_rate`` / ``incumbent_rate``: slopes of
    the log relative residual per iteration in the trial's second half and in the
    incumbent's phase after the hand-over (``nan`` where the phase is missing or too short).
    Without a trial, ``incumbent_rate`` is the slope over the second half of the solve.
    ``tail_rate``: the slope over the last quarter of the incumbent's phase (its distance
    from ``incumbent_rate`` shows whether the decay has settled). ``censored``: the trial was
    cut short (its own count is only known to exceed ``budget``). ``solver``: which solver
    ran. ``handover_omega``: the Young omega a ``young_limit`` trial handed over to.
    """

    n_iter: int
    trial_rate: float = float("nan")
    incumbent_rate: float = float("nan")
    censored: bool = False
    solver: Optional[str] = None
    tail_rate: float = float("nan")
    handover_omega: Optional[float] = None


def handover_omega(rate, omega, limit):
    """Young's omega ``optimal_omega(mu)`` for a phase at ``omega`` whose log relative residual
    fell by ``-rate`` per iteration, ``mu`` being the Jacobi radius that Young's relation
    gives for the rate ``rho = exp(rate)`` (``sqrt(rho)`` at ``omega`` = 1, Gauss-Seidel),
    within ``[omega, limit]``; ``omega`` where the phase did not decay or decayed too fast
    to read one (``rho <= sqrt(omega - 1)``, see ``_READABLE``).

    Examples
    --------
    >>> import math
    >>> from numsolve.linalg._trial import handover_omega
    >>> round(handover_omega(math.log(0.81), 1.0, 1.95), 4)
    1.3929
    >>> handover_omega(math.log(0.8), 1.7, 1.95)  # faster than sqrt(1.7 - 1) = 0.84
    1.7
    """
    if not (math.isfinite(rate) and rate < 0):
        return float(omega)
    if omega > 1.0 and rate <= _READABLE * math.log(omega - 1.0):
        return float(omega)
    rho = math.exp(rate)
    # at omega = 1 what jacobi_radius gives, without its rounding (the first solve's reading)
    mu = math.sqrt(rho) if omega == 1.0 else min(jacobi_radius(omega, rho), 1.0 - 1e-12)
    return float(min(max(optimal_omega(mu), omega), limit))


def run_solver(solver, A, b, omega, x0, rtol, maxiter):
    """Solve one system with ``solver`` in {"sor", "ssor", "ssor_cg"}; return its SolveResult.

    Never warns: the caller reports an unconverged result (or, for a cut-short trial,
    expects one).
    """
    if solver == "ssor_cg":
        return quiet_ssor_cg(A, b, omega=omega, x0=x0, rtol=rtol, maxiter=maxiter)
    return quiet_sor(A, b, omega=omega, x0=x0, rtol=rtol, maxiter=maxiter,
                     symmetric=solver == "ssor")


def _slope(residuals, start):
    """Mean decrease of ``log(residual)`` per iteration from ``start`` to the end."""
    steps = len(residuals) - 1 - start
    if steps < 1:
        return float("nan")
    # Python floats: NumPy scalars cost 0.15 us more a call (four calls a solve)
    first, last = float(residuals[start]), float(residuals[-1])
    if first <= 0 or last <= 0:
        return float("nan")
    return float(np.log(last / first) / steps)


def run_trial(solver, A, b, trial, x0, rtol, maxiter):
    """Solve ``A x = b`` as ``trial`` says; return ``(SolveResult, TrialOutcome)``.

    Without a trial omega this is one solve at ``trial.omega``. Otherwise the trial omega
    runs for at most ``trial.budget`` iterations; if it has not met ``rtol`` by then, the
    solve continues from its iterate with the incumbent's omega until ``rtol`` (or
    ``maxiter`` iterations in all). A ``young_limit`` trial (plain SOR) runs ``trial.omega``
    first and continues at the Young omega read from that phase. The result's
    ``history["residual"]`` runs through both phases, and its extras ``trial_omega`` and
    ``switch`` (the iteration of the hand-over, or ``None``) show where the omega changed;
    ``extras["omega"]`` is the omega that finished. Like :func:`run_solver` it never warns.

    Plain SOR and SSOR on NumPy / SciPy input check and split ``A`` once for both phases
    (:class:`~numsolve.linalg._sor_solver.PreparedSystem`).
    """
    system = prepare_sor(A, b, rtol) if solver != "ssor_cg" else None
    reads_young = trial.young_limit is not None and solver == "sor"
    if trial.budget < 1 or (trial.trial_omega is None and not reads_young):
        result = (run_solver(solver, A, b, trial.omega, x0, rtol, maxiter) if system is None
                  else system.solve(trial.omega, x0, maxiter, solver == "ssor"))
        return _whole(result, solver)
    budget = min(int(trial.budget), maxiter)
    if reads_young:
        first_omega, next_omega = trial.omega, _young_reader(trial, budget)
    else:
        first_omega, next_omega = trial.trial_omega, trial.omega
    if system is None:
        result, switch = _two_solves(solver, A, b, first_omega, budget, next_omega, x0, rtol,
                                     maxiter)
    else:
        result, switch = system.solve_trial(first_omega, budget, next_omega, x0, maxiter,
                                            solver == "ssor")
    if reads_young:
        if switch is None:
            return _whole(result, solver)
        trial = Trial(result.extras["omega"], trial.omega, budget)
    result.extras.update(trial_omega=trial.trial_omega, switch=switch)
    residuals = result.history["residual"]
    if switch is None:
        return result, TrialOutcome(result.n_iter, trial_rate=_slope(
            residuals, len(residuals) // 2), solver=solver)
    result.message = (f"trial omega {trial.trial_omega:g} cut short after {budget} "
                      f"iterations, then omega {trial.omega:g}: {result.message}")
    trial_residuals, rest = residuals[:budget + 1], residuals[budget:]
    trial_rate = _slope(trial_residuals, len(trial_residuals) // 2)
    incumbent_rate = _slope(rest, min(_SETTLE, max(len(rest) - 2, 0)))
    return result, TrialOutcome(result.n_iter, trial_rate, incumbent_rate, censored=True,
                                solver=solver, tail_rate=_slope(rest, 3 * len(rest) // 4),
                                handover_omega=trial.omega if reads_young else None)


def _whole(result, solver):
    """The outcome of a solve at one omega (its rates from its second half and last
    quarter)."""
    result.extras.update(trial_omega=None, switch=None)
    residuals = result.history["residual"]
    return result, TrialOutcome(result.n_iter, incumbent_rate=_slope(
        residuals, len(residuals) // 2), solver=solver,
        tail_rate=_slope(residuals, 3 * len(residuals) // 4))


def _young_reader(trial, budget):
    """The hand-over omega of a ``young_limit`` trial, as a function of the relative residuals
    of its ``budget`` iterations at ``trial.omega``: the Young omega their second half's decay
    rate shows (the reading :meth:`SafeSearch.update` takes of a whole first solve)."""
    def young(residuals):
        return handover_omega(_slope(residuals, budget // 2), trial.omega, trial.young_limit)
    return young


def _two_solves(solver, A, b, first_omega, budget, next_omega, x0, rtol, maxiter):
    """:meth:`PreparedSystem.solve_trial` done with two calls of :func:`run_solver` (SSOR-PCG,
    other array namespaces): the same ``(SolveResult, switch)``."""
    first = run_solver(solver, A, b, first_omega, x0, rtol, budget)
    if first.converged or budget == maxiter or first.n_iter < budget:
        return first, None
    omega = next_omega(first.history["residual"]) if callable(next_omega) else next_omega
    second = run_solver(solver, A, b, omega, first.x, rtol, maxiter - budget)
    return _joined(first, second, first_omega, omega, budget), budget


def _joined(first, second, first_omega, omega, budget):
    """One SolveResult for ``budget`` iterations at ``first_omega`` followed by ``second``
    (from the first's iterate, at ``omega``)."""
    n_iter = budget + second.n_iter
    history = {
        "iteration": np.arange(n_iter + 1, dtype=float),
        "elapsed": np.concatenate([first.history["elapsed"],
                                   first.history["elapsed"][-1] + second.history["elapsed"][1:]]),
        "residual": np.concatenate([first.history["residual"],
                                    second.history["residual"][1:]]),
        "omega": np.concatenate([np.full(budget, first_omega),
                                 np.full(second.n_iter + 1, omega)]),
    }
    extras = dict(second.extras)
    extras["omega"] = omega
    return SolveResult(x=second.x, n_iter=n_iter, converged=second.converged,
                       message=second.message, history=history, extras=extras)
