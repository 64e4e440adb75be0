"""``OmegaBandit``: online choice of the relaxation parameter from iteration counts alone."""

import bisect
import math

import numpy as np
from sklearn.base import BaseEstimator

from .._validation import check_random_state
from ._chebcb import ChebCB
from ._checks import check_omega, check_tol
from ._safe import SafeSearch
from ._smoothcb import SmoothCB
from ._trial import Trial, TrialOutcome
from ._tsallis import TsallisINF
from ._young import YoungModel

__all__ = ["DEFAULT_OMEGAS", "OmegaBandit"]

DEFAULT_OMEGAS = np.linspace(1.0, 1.95, 20)
_POLICIES = ("safe", "tsallis-inf", "tsallis-inf-cb", "chebcb", "smoothcb", "young")


class OmegaBandit(BaseEstimator):
    """Pick omega for each system of a sequence, learning from the iterations it costs.

    Which policy when:

    * ``"safe"`` (default): for any sequence, short or long, with or without a context. It
      starts at Gauss-Seidel (the lowest omega; for plain SOR the first solve goes on at the
      Young omega its first sweeps show) and probes omegas next to the incumbent in
      trials that are cut short after half the incumbent's usual cost and finished with the
      incumbent's omega (:meth:`propose` / :meth:`observe_trial`, which
      :class:`SequenceSolver` uses), so exploring never costs much more than not tuning, and
      every solve meets its tolerance. Where plain-SOR solves are long and converge at a
      steady rate, Young's model of the systems seen proposes each move instead, and a
      cut-short trial must confirm it; where Young's relation holds, a solve without a
      trial goes on after 60 sweeps at the Young omega they show. A context (scalar or vector, any range: it is scaled
      from the contexts seen) lets it learn how the best omega moves with the context: for
      plain SOR it reads each system's Young omega from its decay rate and regresses it on
      the context, which approaches the instance-optimal omega on shifted Laplacians
      (:class:`~numsolve.linalg._safe.SafeSearch`). Called through :meth:`select` /
      :meth:`observe` alone (counts only, no trials) it keeps its incumbent.
    * The paper's policies (Khodak, Chow, Balcan, Talwalkar, ICLR 2024) learn from whole
      counts and explore by solving whole systems at any grid omega, which pays off only on
      long sequences (thousands of systems) of cheap solves; ``"smoothcb"`` is the strongest
      of them with a context, ``"young"`` on short sequences of shifted Laplacians.

    * ``"tsallis-inf"``: non-contextual bandit over the grid; its total cost approaches that
      of the best fixed omega in hindsight. Uses a normaliser that cannot overshoot (see
      :func:`~numsolve.linalg._tsallis.tsallis_probabilities`).
    * ``"chebcb"``: contextual; per-omega Chebyshev regressions of the cost on the context
      (a scalar such as the diagonal shift, or a feature vector), inverse-gap weighting.
    * ``"tsallis-inf-cb"``: contextual; the (scalar) context range cut into ``n_bins`` bins,
      one Tsallis-INF per bin.
    * ``"smoothcb"``: contextual; one ridge regression of the log-cost on Chebyshev
      features of the context times Chebyshev features of omega, shared by all arms, so it
      learns from far fewer rounds than ``"chebcb"``; inverse-gap weighting
      (:class:`~numsolve.linalg._smoothcb.SmoothCB`). Works with any solver.
    * ``"young"``: for plain (forward) SOR on consistently ordered matrices such as shifted
      Laplacians. Still count-only feedback, but it exploits the structure of the cost:
      Young's theory gives the iterations at every omega from one unknown per system (the
      Jacobi spectral radius), which each observed count reveals (or bounds); it plays the
      grid omega with the least modelled total so far
      (:class:`~numsolve.linalg._young.YoungModel`). Deterministic, no context; useful on
      short sequences where pulling every arm once already costs too much.

    Parameters
    ----------
    policy : {"safe", "tsallis-inf", "chebcb", "tsallis-inf-cb", "smoothcb", "young"}, \
default="safe"
    omegas : array-like, optional
        Grid of candidate omegas in (0, 2); ``linspace(1, 1.95, 20)`` by default. ``"safe"``
        searches the interval from its least to its largest value.
    context_range : (float, float), default=(-0.15, 0.65)
        Range of the context (per coordinate) for ``"chebcb"``, ``"tsallis-inf-cb"`` and
        ``"smoothcb"``; contexts outside it are clipped. ``"safe"`` ignores it (it scales
        contexts from those seen).
    n_bins : int, default=5
        Bins of ``"tsallis-inf-cb"``.
    degree : int, optional
        Chebyshev polynomials per context coordinate for ``"chebcb"`` (6 by default),
        ``"smoothcb"`` (5 by default) and ``"safe"`` (3 by default).
    rtol : float, default=1e-8
        The solver's relative tolerance, which scales the iteration model of ``"young"``.
    random_state : int, RandomState or None
        Seed of the arm draws of the paper's policies (``"safe"`` and ``"young"`` draw
        nothing: the same sequence always gets the same omegas).

    Attributes
    ----------
    omegas_ : ndarray
        The grid.
    arms_ : list of int
        Index of the arm played in each round (for ``"safe"``: of the grid omega nearest the
        incumbent's).
    costs_ : list of float
        Observed costs.

    Examples
    --------
    >>> from numsolve.linalg import OmegaBandit
    >>> bandit = OmegaBandit(random_state=0)
    >>> omega = bandit.select()
    >>> bandit.observe(42)
    >>> len(bandit.costs_)
    1
    """

    def __init__(self, policy="safe", omegas=None, *, context_range=(-0.15, 0.65),
                 n_bins=5, degree=None, rtol=1e-8, random_state=None):
        if policy not in _POLICIES:
            raise ValueError(f"policy must be one of {', '.join(_POLICIES)}; got {policy!r}")
        grid = DEFAULT_OMEGAS if omegas is None else np.asarray(omegas, dtype=float).ravel()
        if grid.size < 1:
            raise ValueError("omegas must hold at least one value")
        for value in grid:
            check_omega(float(value), "omegas")
        low, high = (np.asarray(v, dtype=float) for v in context_range)
        if np.any(high <= low):
            raise ValueError(f"context_range must be (low, high) with low < high, got "
                             f"{context_range}")
        n_features = int({"smoothcb": 5, "safe": 3}.get(policy, 6) if degree is None
                         else degree)
        if int(n_bins) < 1 or n_features < 1:
            raise ValueError("n_bins and degree must be >= 1")
        checked_rtol = check_tol(rtol, "rtol")
        if not 0 < checked_rtol < 1:
            raise ValueError(f"rtol must lie in (0, 1), got {checked_rtol}")
        # The constructor's arguments are kept as given, so get_params, repr and clone see
        # them; the learner works from the checked copies.
        self.policy = policy
        self.omegas = omegas
        self.context_range = context_range
        self.n_bins = n_bins
        self.degree = degree
        self.rtol = rtol
        self.random_state = random_state
        self.omegas_ = grid
        self._context_range = (low, high)
        self._rng = check_random_state(random_state)
        self.arms_, self.costs_, self.contexts_ = [], [], []
        self._pending = None
        d = grid.size
        if policy == "safe":
            self._safe = SafeSearch(grid.min(), grid.max(), n_features)
            # the grid sorted, and the midpoints between neighbours, to find the grid omega
            # nearest each incumbent by bisection (an array search per system costs more)
            self._sorted_arms = np.argsort(grid, kind="stable").tolist()
            ordered = grid[self._sorted_arms]
            self._midpoints = ((ordered[1:] + ordered[:-1]) / 2).tolist()
        elif policy == "tsallis-inf":
            self._learners = [TsallisINF(d)]
        elif policy == "smoothcb":
            self._smooth = SmoothCB(grid, low, high, n_features)
        elif policy == "young":
            self._young = YoungModel(grid, checked_rtol)
        elif policy == "tsallis-inf-cb":
            self._learners = [TsallisINF(d) for _ in range(int(n_bins))]
        else:
            self._cheb = ChebCB(d, low, high, n_features)

    def _bin(self, context):
        low, high = self._context_range
        value = np.asarray(context, dtype=float)
        if value.size != 1:
            raise ValueError("policy 'tsallis-inf-cb' needs a scalar context")
        position = (float(value.ravel()[0]) - float(low)) / float(high - low)
        bins = int(self.n_bins)
        return min(max(int(position * bins), 0), bins - 1)

    def set_params(self, **params):
        """Set constructor parameters and start learning afresh (all rounds are forgotten).

        Returns
        -------
        OmegaBandit
            ``self``.
        """
        super().set_params(**params)
        self.__init__(**self.get_params())
        return self

    def select(self, context=None):
        """Draw the omega for the next system.

        Parameters
        ----------
        context : float or array-like, optional
            Required by ``"chebcb"``, ``"tsallis-inf-cb"`` and ``"smoothcb"``, used by
            ``"safe"`` when given, ignored by ``"tsallis-inf"`` and ``"young"``.

        Returns
        -------
        float
        """
        if self._pending is not None:
            raise RuntimeError("select() was called twice; call observe(cost) in between")
        self._pending = [self._draw(context, probe=False)]
        return self._pending[0][-1].omega

    def propose(self, context=None):
        """The :class:`~numsolve.linalg._trial.Trial` for the next system.

        ``"safe"`` may return a trial omega with an iteration budget; the other policies
        return their drawn omega alone. Solve it with
        :func:`~numsolve.linalg._trial.run_trial` and feed the outcome back with
        :meth:`observe_trial`.
        """
        if self._pending is not None:
            raise RuntimeError("propose() was called twice; call observe_trial() in between")
        self._pending = [self._draw(context, probe=True)]
        return self._pending[0][-1]

    def select_batch(self, contexts):
        """Draw omegas for a batch of systems solved before any of their costs is known.

        All draws use the current policy (delayed feedback); feed the costs back, in the same
        order, with :meth:`observe_batch`. With a batch of ``B`` systems the learner updates
        ``B`` times less often, which adds roughly ``sqrt(B)`` times the sequential
        learner's regret term to the total cost (see :meth:`SequenceSolver.solve_many`).

        Parameters
        ----------
        contexts : sequence
            One context per system (``None`` entries for ``"tsallis-inf"`` and ``"young"``).

        Returns
        -------
        list of float
        """
        return [trial.omega for trial in self._draw_batch(contexts, probe=False)]

    def propose_batch(self, contexts):
        """One :class:`~numsolve.linalg._trial.Trial` per context, as :meth:`select_batch`
        draws omegas; feed the outcomes back with :meth:`observe_trials`."""
        return self._draw_batch(contexts, probe=True)

    def _draw_batch(self, contexts, probe):
        if self._pending is not None:
            raise RuntimeError("a batch needs the previous selection observed first")
        contexts = list(contexts)
        if not contexts:
            raise ValueError("a batch needs at least one context")
        self._pending = [self._draw(context, probe) for context in contexts]
        return [entry[-1] for entry in self._pending]

    def _draw(self, context, probe):
        if context is not None and not np.all(np.isfinite(np.asarray(context, dtype=float))):
            raise ValueError("context contains NaN or infinity")
        if self.policy == "safe":
            phi = self._safe.features(context)
            trial = (self._safe.plan(phi, context) if probe
                     else Trial(self._safe.incumbent(phi, context)))
            arm = self._sorted_arms[bisect.bisect_left(self._midpoints, trial.omega)]
            return arm, 1.0, phi, context, trial
        if self.policy == "young":
            arm = self._young.choose()
            return arm, 1.0, None, context, Trial(float(self.omegas_[arm]))
        if self.policy != "tsallis-inf" and context is None:
            raise ValueError(f"policy {self.policy!r} needs a context")
        if self.policy == "chebcb":
            key = self._cheb.features(context)
            p = self._cheb.probabilities(key)
        elif self.policy == "smoothcb":
            key = self._smooth.features(context)
            p = self._smooth.probabilities(key)
        else:
            key = 0 if self.policy == "tsallis-inf" else self._bin(context)
            p = self._learners[key].probabilities()
        arm = int(self._rng.choice(p.size, p=p / p.sum()))
        return arm, p[arm], key, context, Trial(float(self.omegas_[arm]))

    def discard(self):
        """Forget the pending selections (their systems could not be solved)."""
        self._pending = None

    def observe_batch(self, costs):
        """Feed back the costs of the omegas of :meth:`select_batch`, in the same order."""
        self.observe_trials([TrialOutcome(self._check_cost(cost)) for cost in costs])

    def observe_trials(self, outcomes):
        """Feed back the outcomes of the trials of :meth:`propose_batch`, in the same order."""
        outcomes = list(outcomes)
        if self._pending is None or len(outcomes) != len(self._pending):
            raise RuntimeError("one cost per omega (outcome per trial) of the batch is needed")
        for outcome in outcomes:
            self._check_cost(outcome.n_iter)
        for pending, outcome in zip(self._pending, outcomes):
            self._update(pending, outcome)
        self._pending = None

    def observe(self, cost):
        """Feed back the cost (iterations) of the omega returned by :meth:`select`."""
        self.observe_trial(TrialOutcome(self._check_cost(cost)), "observe() needs a "
                           "preceding select()")

    def observe_trial(self, outcome, message="observe_trial() needs a preceding propose()"):
        """Feed back the :class:`~numsolve.linalg._trial.TrialOutcome` of :meth:`propose`."""
        if self._pending is None or len(self._pending) != 1:
            raise RuntimeError(message)
        self._check_cost(outcome.n_iter)
        pending = self._pending[0]
        self._pending = None
        self._update(pending, outcome)

    @staticmethod
    def _check_cost(cost):
        cost = float(cost)
        if not math.isfinite(cost) or cost < 0:
            raise ValueError(f"cost must be a finite number >= 0, got {cost}")
        return cost

    def _update(self, pending, outcome):
        arm, probability, key, context, trial = pending
        cost = float(outcome.n_iter)
        if self.policy == "safe":
            self._safe.update(key, trial, outcome, context)
        elif self.policy == "young":
            self._young.update(arm, cost)
        elif self.policy == "chebcb":
            self._cheb.update(arm, cost, key)
        elif self.policy == "smoothcb":
            self._smooth.update(arm, cost, key)
        else:
            self._learners[key].update(arm, cost, probability)
        self.arms_.append(arm)
        self.costs_.append(cost)
        self.contexts_.append(context)
