"""The default omega learner: cut-short probes next to the incumbent, a stochastic descent."""

import math

import numpy as np

from ._chebcb import chebyshev_features
from ._context_model import ContextYoungModel
from ._radius_model import MIN_ITERATIONS, RadiusModel, jacobi_radius
from ._trial import Trial, TrialOutcome, handover_omega
from ._young import sor_rate

__all__ = ["ContextScaler", "SafeSearch"]

# Largest |log cost ratio| one probe may report: a probe that diverged or stalled says "much
# worse", not "infinitely worse", so one system cannot throw the search far off.
_MAX_LOG_RATIO = 1.0
# A system costing more than this many times the running mean weighs no more than that.
_MAX_WEIGHT = 5.0
_MIN_BUDGET = 4
_MEMORY = 256
_RIDGE = 1e-3
# Step adaptation of the descent (as in Rprop): grow while the slope keeps its sign.
_GROW, _SHRINK = 1.3, 0.5
_MIN_RATE, _MAX_RATE = 0.1, 0.15
# Least probe distance: probes closer than this differ from the incumbent by less than the
# noise of two decay rates measured on a few iterations.
_MIN_STEP = 0.025
# Sequences whose solves take fewer iterations than this (running mean) are not explored:
# a trial cut short at half of them runs a few iterations, whose decay rate is transient
# noise, while one iteration lost costs a tenth of a solve (pyamg's unit_cube: 10 at
# omega = 1 and 1.1, 8 at 1.05); Young's start from the first plain-SOR solve is kept
# (without one, as for SSOR-PCG, the probes go on).
_SHORTEST = 12
# The first system's solve at omega = 1 hands over to Young's omega after this many
# iterations (the decay rate of their second half gives it), instead of running to the end
# at omega = 1 (231 iterations against 47 at the best omega on pyamg's airfoil shifts).
# Their reading is 0.01-0.09 below the whole solve's on pyamg's shift and stiff heat
# sequences and the shifted Laplacians (after 40 iterations up to 0.15 below, on the paper's
# task; of 30-80 iterations, 60 left the fewest sequences over 1.10x the best fixed omega),
# and a long phase after the hand-over corrects it (see ``_as_whole_solve``). Where Young's
# relation holds for the sequence, every solve at the incumbent's omega (no trial) hands over
# after as many iterations to the Young omega they read, where they decay slowly enough to
# read one: a hard system met below its Young omega is finished near it (pyamg's shifted
# unit_square, 1.131x -> 0.925x the best fixed omega: its hard systems decayed at 0.979 at
# omega 1.76, Young omega 1.90; bar 1.120x -> 1.070x; knot 1.049x -> 0.990x; paper-high
# and -low 1.005x / 1.018x -> 0.808x / 0.936x; shifted-150 1.047x -> 1.018x; no other
# sequence of issue 17's table changed). After 50 or 80 iterations every line still held.
_FIRST_READING = 60
# The most the phase after the hand-over may raise that reading: on random sparse SPD
# matrices, far from consistently ordered, it read Young omegas 0.2 higher (the rise with
# the omega played that refutes Young's relation), and starting there cost 3x omega = 1.
_MOST_CORRECTION = 0.1
_DECAY_PROBES = 50.0
# Moves toward the Young-modelled centre: the least worth a check, the most one check
# makes, and the rounds without checks after the first refused one (doubling while refused).
_MIN_MOVE = 0.01
_MAX_MOVE = 0.15
# A solve at or above its Young omega (rate near omega - 1) cannot say how far above it is,
# and one played up to 0.06 below a Young omega of 1.80 decays about as fast (0.905 per
# iteration at 1.74, within 30 % of 0.74): where the model knows only such bounds, they
# pin its centre to the omega played (all 100 remembered systems on the paper's task read
# bounds at 1.75, whose best fixed omega is 1.80), and checks this far away, up and down in
# turn, test on which side of the omega played the best one lies.
_BOUND_CHECK = 0.05
# A downward model check's win counts only on a system costing at least this share of the
# running mean cost: the check runs first, from the start, where a lower omega decays
# faster on the cheap systems even where the costly ones (which set the best fixed omega)
# need the higher.
_DOWN_COSTLY = 0.7
_HOLD = 4
# Young's relation counts as holding for the sequence while the two phases of the systems
# read twice (the latest, up to this many, at least two) read Young omegas at most this far
# apart on average.
_AGREEMENTS = 8
_AGREE = 0.02
# The model leads while more than this share of the recent solves (a running mean with
# this memory per solve) were long and steady enough to read a Jacobi radius from.
_STEADY_SHARE = 0.5
_STEADY_MEMORY = 0.8
# With a context, plain SOR plays the modelled Young omega of each system this far up (the
# cost rises slowly above Young's omega and steeply below it), and reading trials go this
# far below it; a trial phase shorter than this says nothing.
_ABOVE_YOUNG = 0.01
_READ_BELOW = 0.05
_MIN_READ = 10
# Young's model is refuted for the sequence once this many reading trials in a row beat the
# incumbent by at least this log cost ratio (on shifted Laplacians about one in four wins,
# mostly by less, from its fast start; on pyamg's bar and dG matrices nearly all win by
# 0.13-0.34).
_REFUTING_WINS = 4
_CLEAR_WIN = -0.1
# Young's start is refuted for the sequence (omega goes back to 1) where, within the warmup
# rounds, the two phases of cut-short plain-SOR solves whose incumbent phase ran at least 40
# iterations and decayed less than this share as fast as Young's rate ``omega - 1`` read
# Young omegas that rise with the omega played by more than this on average (between the
# two omegas of a trial, 0.1 or 0.05 apart: 0.05 median on random sparse SPD matrices, at
# most 0.011 on the long phases of pyamg's meshes and shifted Laplacians; short heat-step
# phases, which rise by up to 0.09, are not read).
_SUSPECT_SPEED = 0.5
_RISING = 0.03
# The features of "no context", shared and read-only (the learner runs once per system, on
# solves that may take only tens of microseconds).
_NO_CONTEXT = np.ones(1)
_NO_CONTEXT.flags.writeable = False


class ContextScaler:
    """Maps contexts to [-1, 1] per coordinate from the range of the contexts seen so far.

    There is no preset range: a context outside the range seen widens it (nothing is
    clipped), and :meth:`observe` says so, so that the caller can re-express what it learned
    in the new coordinates.
    """

    def __init__(self):
        self.low = self.high = None

    def observe(self, context):
        """Widen the range to cover ``context``; return whether it changed."""
        z = np.atleast_1d(np.asarray(context, dtype=float)).ravel()
        if self.low is None:
            self.low, self.high = z.copy(), z.copy()
            return True
        if z.shape != self.low.shape:
            raise ValueError(f"context has {z.size} coordinates, earlier ones had "
                             f"{self.low.size}")
        low, high = np.minimum(self.low, z), np.maximum(self.high, z)
        changed = bool(np.any(low < self.low) or np.any(high > self.high))
        self.low, self.high = low, high
        return changed

    def features(self, context, degree):
        """Chebyshev features ``T_0 .. T_{degree-1}`` of each scaled coordinate (one row per
        context for a 2-D array of contexts)."""
        low, high = self.low, self.high
        span = np.where(high > low, high - low, 1.0)
        centre = np.where(high > low, low, low - 0.5)
        return chebyshev_features(context, centre, centre + span, degree)


class SafeSearch:
    """Omega as a smooth function of the context, tuned by paired probes that cost little.

    The incumbent omega is ``theta . phi(context)`` (a constant without a context). The first
    system is solved at the lowest candidate (1, Gauss-Seidel, by default); for plain SOR its
    decay rate then gives Young's omega, where the search starts, and the solve itself hands
    over to that omega after 60 iterations (from its iterate, as a cut-short trial does)
    instead of finishing at omega = 1; within the ``warmup``
    rounds, where the two phases of long, slow cut-short solves read Young omegas that rise
    with the omega played (on matrices far from consistently ordered), the search goes back
    to omega = 1 and starts over. On a probe round the solve
    starts at ``omega +- step`` and is cut short after ``budget`` iterations (half the
    incumbent's running mean cost); it then continues from that iterate with the
    incumbent's omega, so a bad probe wastes at most the progress of ``budget`` iterations.
    The residual decay rates of the two phases, measured on the same system, estimate
    ``log(cost(probe) / cost(incumbent))`` free of the system-to-system variation that makes
    counts from different systems hard to compare; probes alternate up and down and the
    central difference of the latest pair cancels the bias of the trial running first.
    A probe that lost while the other side has no probe yet only bounds the best omega
    (iterations against omega are unimodal for SOR on SPD matrices) and moves nothing;
    where probes lost on every side there is, the probe distance halves (to 0.025 at
    least; not where Young's relation is refuted, see below). The slope, weighted by the
    system's cost relative to the running mean (the costly systems count most in the
    total), drives a normalised momentum step on ``theta`` whose
    length grows while the slope keeps its sign and shrinks when it flips, never exceeds
    the probe distance and decays with the number of probes. Probes become rarer as the
    sequence goes on (every round at first, then at the rate ``sqrt(warmup / t)``, at
    least ``min_rate``, on the rounds where the accumulated rate passes a whole number: no
    random draw, so the omegas depend on the sequence alone). Sequences of solves shorter
    than 12 iterations are not explored where Young's start was taken (plain SOR).

    Where solves are long enough to decay at their asymptotic rate (most recent plain-SOR
    solves of at least 40 iterations with a settled rate, no context), Young's model leads
    instead of the probes: each such solve reveals its system's Jacobi radius
    (:class:`~numsolve.linalg._radius_model.RadiusModel`); omega moves up to the modelled
    best fixed omega at once (at most 0.15 per round) where Young's relation holds (the two
    phases of the latest cut-short trials read the same Young omega of their system); any
    other move only after a cut-short trial there (at most 0.15 away) beat the incumbent
    on the same system, for a move down on a system costing at least 0.7 of the running
    mean (on the cheap ones any lower omega starts faster); a refused move is retried
    after 4, 8, 16, ... rounds. Where every remembered solve decayed at about
    ``omega - 1`` (at or above its Young omega, which it only bounds, or a little below it,
    which decays about as fast) the checks go 0.05 above and 0.05 below in turn, and a
    winning one drops the bounds it showed wrong; where Young's relation is refuted (the
    model's centre then sits too high) they go 0.05 below. Where Young's relation holds,
    every solve without a trial hands over, as the first does, after 60 iterations to the
    Young omega they read: a hard system met below its Young omega is finished near it,
    while one at or above it (decaying faster than ``sqrt(omega - 1)``) goes on at the
    incumbent's omega; the learner is fed the whole solve at the incumbent's omega that
    the read Jacobi radius implies.
    Short solves (heat steps of 20-50 iterations, whose rates are still transient) keep the
    probes.

    With a context and plain SOR, each system's own Young omega is read instead: a phase
    played below it decays at a rate that gives it exactly on consistently ordered matrices,
    one at or above it only bounds it (:class:`~numsolve.linalg._context_model.ContextYoungModel`).
    The readings come from the trusted incumbent phases and from reading trials, cut short
    like the probes, 0.05 below the modelled omega (a reading trial that reads nothing
    lowers the model there). Once five readings exist each system is finished 0.01 above
    the Young omega modelled at its context (the cost rises slowly above it and steeply
    below). Where reading trials win against the incumbent four times in a row by a clear
    margin (matrices whose best omega lies well below the one Young's relation reads),
    the model is refuted and the descent sets omega for the rest of the sequence.

    Parameters
    ----------
    low, high : float
        Range of omega.
    degree : int
        Chebyshev features per context coordinate.
    step : float, default=0.1
        Distance of a probe from the incumbent.
    probe_fraction : float, default=0.5
        Probe budget as a fraction of the incumbent's running mean cost.
    learning_rate : float, default=0.08
        Step of the descent on ``theta`` (omega moves about this much per probe at first).
    warmup : int, default=8
        Rounds probed every time.
    min_rate : float, default=0.1
        Least probe rate.
    """

    def __init__(self, low, high, degree, *, step=0.1, probe_fraction=0.5,
                 learning_rate=0.08, warmup=8, min_rate=0.1):
        self.low, self.high, self.degree = float(low), float(high), degree
        self.step = min(step, (self.high - self.low) / 2)
        self.probe_fraction, self.learning_rate = probe_fraction, learning_rate
        self.warmup, self.min_rate = warmup, min_rate
        self.scaler = ContextScaler()
        self.theta = None
        self.mean_cost = None
        self.rounds = self.probes = 0
        self.recent = []
        self._last_probe = -1.0
        self._credit = 0.0
        self._young_started = False
        self._rises = []
        self._young_refuted = False
        self._disagreements = []
        self._ratios = {1.0: None, -1.0: None}
        self.model = RadiusModel(self.low, self.high)
        self.context_model = ContextYoungModel(self.low, self.high)
        self._hold = _HOLD
        self._next_check = 0
        self._bound_check = None
        self._bound_check_up = False
        self._steady = 0.0
        self._below_wins = 0

    def features(self, context):
        """Features of ``context`` (``[1]`` without one); re-expresses ``theta`` when the
        range of contexts seen widens, so that the omegas chosen so far stay the same."""
        if context is None:
            if self.theta is None:
                self._reset(np.array([self.low]))
            return _NO_CONTEXT
        old = None if self.theta is None else (self.scaler.low, self.scaler.high)
        if self.scaler.observe(context) or self.theta is None:
            self._rescale(old)
        self.recent = (self.recent + [np.asarray(context, dtype=float)])[-_MEMORY:]
        return self.scaler.features(context, self.degree)

    def _reset(self, theta):
        self.theta = theta
        self._moment = np.zeros_like(theta)
        self._square = 0.0
        self._updates = 0
        self._last_sign = 0.0
        self.rate = self.learning_rate

    def _rescale(self, old):
        size = self.scaler.features(self.scaler.low, self.degree).size
        if old is None or self.theta.size != size:
            theta = np.zeros(size)
            theta[0] = self.low
            self._reset(theta)
            return
        previous = ContextScaler()
        previous.low, previous.high = old
        # all remembered contexts at once, one row each (this runs whenever the range widens)
        recent = np.asarray(self.recent).reshape(len(self.recent), -1)
        omegas = np.clip(previous.features(recent, self.degree) @ self.theta, self.low,
                         self.high)
        theta = np.zeros(size)
        theta[0] = omegas.mean()
        if len(self.recent) > 2 * size:
            # a ridge fit to the omegas played so far (not to the unclipped polynomial, which
            # may run far outside the omega range between the contexts seen)
            rows = self.scaler.features(recent, self.degree)
            gram = rows.T @ rows + _RIDGE * len(self.recent) * np.eye(size)
            theta = theta + np.linalg.solve(gram, rows.T @ (omegas - rows @ theta))
        self._reset(theta)

    def omega(self, phi):
        """The incumbent omega at features ``phi``."""
        # without a context theta has one entry: read it without an array product
        value = float(self.theta[0]) if phi.size == 1 else float(self.theta @ phi)
        return min(max(value, self.low), self.high)

    def incumbent(self, phi, context=None):
        """The omega to finish the system at ``context`` (features ``phi``) with."""
        if self._context_regime(phi):
            return float(np.clip(self.context_model.predict(
                context, self.scaler.low, self.scaler.high) + _ABOVE_YOUNG,
                self.low, self.high))
        return self.omega(phi)

    def _context_regime(self, phi):
        """Whether the context model, not the descent, sets omega: it has readings, and
        reading trials below its omegas have not kept beating them."""
        return (phi.size > 1 and self.context_model.ready()
                and self._below_wins < _REFUTING_WINS)

    def _check_young(self, outcome):
        """Count the reading trials in a row (below the modelled omega) that decayed clearly
        faster than the incumbent did after them. Where Young's model holds, below its omega the cost rises
        steeply and such trials lose; on matrices far from consistently ordered the reading
        overshoots the best omega and they win. After a run of clear wins the descent takes
        over for good (no more reading trials are made)."""
        ratio = self._log_cost_ratio(outcome) if outcome.censored else None
        if ratio is not None:
            self._below_wins = self._below_wins + 1 if ratio < _CLEAR_WIN else 0

    def plan(self, phi, context=None):
        """The :class:`~numsolve.linalg._trial.Trial` for the next system. Where Young's
        relation holds for the sequence (no context), a solve at the incumbent's omega above
        the lowest hands over after ``_FIRST_READING`` iterations to the Young omega their
        decay rate reads (:func:`~numsolve.linalg._trial.handover_omega`)."""
        trial = self._plan(phi, context)
        if (trial.trial_omega is None and trial.young_limit is None and phi.size == 1
                and trial.omega > self.low and self._young_holds()):
            return Trial(trial.omega, budget=_FIRST_READING, young_limit=self.high)
        return trial

    def _plan(self, phi, context):
        omega = self.incumbent(phi, context)
        self.rounds += 1
        if self.mean_cost is None:
            self._first = phi
            if omega == 1.0 and self.step > 0:
                return Trial(omega, budget=_FIRST_READING, young_limit=self.high)
        if (self.mean_cost is None or self.step <= 0
                or (self._young_started and self.mean_cost < _SHORTEST)):
            return Trial(omega)
        budget = max(_MIN_BUDGET, math.ceil(self.probe_fraction * self.mean_cost))
        if self._model_regime(phi):
            return self._model_trial(phi, omega, budget)
        # probes thinned deterministically (a probe each time the accumulated rate passes a
        # whole number), so that the same sequence always gets the same omegas
        self._credit += max(self.min_rate, math.sqrt(self.warmup / self.rounds))
        if self.rounds > self.warmup and self._credit < 1.0:
            return Trial(omega)
        self._credit -= math.floor(self._credit)
        if self._context_regime(phi):
            below = max(omega - _ABOVE_YOUNG - _READ_BELOW, self.low)
            return Trial(omega, below, budget, reading=True) if below < omega else Trial(omega)
        up = omega + self.step <= self.high
        down = omega - self.step >= self.low
        sign = -self._last_probe if up and down else (1.0 if up else -1.0)
        self._last_probe = sign
        return Trial(omega, omega + sign * self.step, budget)

    def _model_regime(self, phi):
        """Whether the model, not the probes, moves omega: most recent solves are long and
        steady, and there is no context (the centre of the whole sequence says nothing
        about how the best omega moves with it)."""
        return (phi.size == 1 and self.model.known()
                and self._steady > _STEADY_SHARE)

    def _model_trial(self, phi, omega, budget):
        """The trial where the model leads: a move up to the modelled centre is made at once
        where Young's relation holds (above the best omega the cost rises slowly, and the
        model puts the centre where the costly systems, which a check on one system rarely
        meets, need it); any other move is a check that must win first (on matrices far
        from consistently ordered the relation reads too high)."""
        if self.rounds < self._next_check:
            return Trial(omega)
        centre = self.model.centre()
        if centre > omega + _MIN_MOVE and self._young_holds():
            self.theta[0] += min(centre - omega, _MAX_MOVE)
            return Trial(self.omega(phi))
        target = self._model_target(omega)
        if target is None:
            return Trial(omega)
        return Trial(omega, target, budget, model_check=True)

    def _young_holds(self):
        """Whether Young's relation held on the latest systems read twice (``None`` before
        two were): a cut-short trial and the incumbent's phase after it, at two omegas on
        one system, must read the same Young omega (within 0.01-0.02 on shifted
        Laplacians and pyamg's meshes, 0.04-0.09 apart on random sparse SPD matrices,
        where the model reads too high)."""
        if self._young_refuted:
            return False
        if len(self._disagreements) < 2:
            return None
        return sum(self._disagreements) / len(self._disagreements) <= _AGREE

    def _compare_readings(self, trial, outcome):
        """Remember how far apart the Young omegas read by the two phases of a cut-short
        plain-SOR trial are, where both phases read one."""
        if not (outcome.censored and outcome.solver == "sor"):
            return
        first = self.context_model.reading(trial.trial_omega, outcome.trial_rate)
        second = self.context_model.reading(trial.omega, outcome.incumbent_rate)
        if first is not None and second is not None:
            self._disagreements = (self._disagreements + [abs(first - second)])[-_AGREEMENTS:]

    def _model_target(self, omega):
        """The omega a model check tries next: toward the Young-modelled centre, at most
        ``_MAX_MOVE`` away; at the centre ``_BOUND_CHECK`` below where Young's relation is
        refuted (the model's centre then sits too high), or above and below in turn where
        the model knows only bounds; ``None`` where there is no check to make."""
        move = self.model.centre() - omega
        self._bound_check = None
        if abs(move) >= _MIN_MOVE:
            return float(np.clip(omega + np.clip(move, -_MAX_MOVE, _MAX_MOVE), self.low,
                                 self.high))
        if self._young_holds() is False:
            up = False
        elif self.model.only_bounds():
            # the bounds say nothing of the side: up and down in turn, up first
            self._bound_check_up = up = not self._bound_check_up
        else:
            return None
        self._bound_check = float(np.clip(omega + (_BOUND_CHECK if up else -_BOUND_CHECK),
                                          self.low, self.high))
        return self._bound_check

    def _observe_model(self, trial, outcome):
        """Feed the model the phase that finished a plain-SOR solve if it was long and
        steady (:meth:`RadiusModel.trusted`), and track how often solves are."""
        if outcome.solver != "sor" or (trial.trial_omega is not None and not outcome.censored):
            return
        length = outcome.n_iter - (trial.budget if outcome.censored else 0)
        steady = RadiusModel.trusted(outcome.incumbent_rate, outcome.tail_rate, length)
        self._steady = _STEADY_MEMORY * self._steady + (1 - _STEADY_MEMORY) * steady
        if not steady:
            return
        self.model.observe(trial.omega, outcome.incumbent_rate, outcome.n_iter)

    def _settle_check(self, trial, outcome):
        """The incumbent moves to a model check's omega only if the check beat it on the
        same system (it finished the system within its budget, or decayed faster); a
        downward check that won on a cheap system is made again on the next one."""
        ratio = self._log_cost_ratio(outcome) if outcome.censored else -np.inf
        won = ratio is not None and ratio < 0
        bound_check = trial.trial_omega == self._bound_check
        self._bound_check = None
        lower = trial.trial_omega < trial.omega
        if won and lower and outcome.n_iter < _DOWN_COSTLY * self.mean_cost:
            self._next_check = self.rounds + 1
        elif won:
            self.theta[0] += trial.trial_omega - trial.omega
            if bound_check:
                self.model.drop_bounds(trial.trial_omega, trial.omega)
            self._hold = _HOLD
            self._next_check = self.rounds + 1
        else:
            self._next_check = self.rounds + self._hold
            self._hold *= 2

    def _observe_context(self, context, trial, outcome):
        """Feed the context model what a plain-SOR solve at ``context`` showed: the Young
        omega its trial phase or its trusted incumbent phase read, and the bound a reading
        trial that failed to read one sets."""
        if trial.trial_omega is not None and min(trial.budget, outcome.n_iter) >= _MIN_READ:
            young = self.context_model.reading(trial.trial_omega, outcome.trial_rate)
            if young is not None:
                self.context_model.observe(context, young)
            elif trial.reading and math.isfinite(outcome.trial_rate):
                self.context_model.observe(context, trial.trial_omega)
        length = outcome.n_iter - (trial.budget if outcome.censored else 0)
        if (trial.trial_omega is None or outcome.censored) and RadiusModel.trusted(
                outcome.incumbent_rate, outcome.tail_rate, length):
            young = self.context_model.reading(trial.omega, outcome.incumbent_rate)
            if young is not None:
                self.context_model.observe(context, young)

    def update(self, phi, trial, outcome, context=None):
        """Learn from the ``outcome`` of ``trial`` played at features ``phi``."""
        if trial.young_limit is not None:
            if outcome.censored:
                outcome = self._as_whole_solve(trial, outcome)
            trial = Trial(trial.omega)
        cost = float(outcome.n_iter)
        if self.mean_cost is None and outcome.solver == "sor" and trial.omega == 1.0:
            self._young_start(outcome.incumbent_rate)
        self.mean_cost = cost if self.mean_cost is None else 0.9 * self.mean_cost + 0.1 * cost
        if phi.size == 1:
            self._observe_model(trial, outcome)
            self._compare_readings(trial, outcome)
            if self._watch_young_start(trial, outcome):
                self._refute_young(phi)
                return
        elif context is not None and outcome.solver == "sor":
            self._observe_context(context, trial, outcome)
        if trial.model_check:
            self._settle_check(trial, outcome)
            return
        if trial.reading:
            self._check_young(outcome)
            return
        if not outcome.censored:
            return
        ratio = self._log_cost_ratio(outcome)
        if ratio is None:
            return
        weight = min(cost / self.mean_cost, _MAX_WEIGHT)
        side = 1.0 if trial.trial_omega > trial.omega else -1.0
        self._ratios[side] = (weight * ratio, trial.omega)
        other = self._ratios[-side]
        if other is None or abs(other[1] - trial.omega) > self.step / 2:
            # one-sided until a probe on the other side exists (at omega = 1: only upward).
            # A probe that lost only bounds the best omega (the cost is unimodal in omega):
            # it is no evidence that the other side is better (a lower probe that lost
            # pushed omega up to 1.89-1.95 on shifted Poisson systems), so it moves nothing
            if ratio < 0:
                self._descend(side * weight * ratio / self.step, phi)
            if ratio > 0 and not self.low + self.step <= trial.omega <= self.high - self.step:
                self._narrow()
        else:
            # central difference: the trial runs first, from x0, where the error decays
            # faster than later on; that favours every trial alike and cancels here
            self._descend(side * (weight * ratio - other[0]) / (2 * self.step), phi)
            # where Young's relation is refuted, the decay rates that compare the two
            # phases mislead as well, and the probes keep their distance
            if ratio > 0 and other[0] > 0 and self._young_holds() is not False:
                self._narrow()

    def _as_whole_solve(self, trial, outcome):
        """What the whole solve at ``trial.omega`` (1 on the first system) would have shown,
        from the solve that handed over to Young's omega: Young's rate at ``trial.omega``
        (the Gauss-Seidel rate ``mu^2`` at 1) for the Jacobi radius ``mu`` that the phase
        at Young's omega reads (where long and steady, below
        the system's Young omega and reading one at most 0.1 above its own; the first
        phase's own rate otherwise: its first iterations from the start decay at a transient
        rate, which reads a lower Young omega: 1.557 on pyamg's shifted airfoil, whose whole
        omega = 1 solve reads 1.599),
        and the iterations that rate needs for the decrease of the residual the solve made.
        The search goes on as after that solve (its start, running mean cost and model)."""
        rate = outcome.trial_rate
        length = outcome.n_iter - trial.budget
        if RadiusModel.trusted(outcome.incumbent_rate, outcome.tail_rate, length):
            omega = outcome.handover_omega
            young = self.context_model.reading(omega, outcome.incumbent_rate)
            if young is not None and young <= omega + _MOST_CORRECTION:
                mu = jacobi_radius(omega, math.exp(outcome.incumbent_rate))
                rate = math.log(sor_rate(trial.omega, min(mu, 1.0 - 1e-12)))
        if not (math.isfinite(rate) and rate < 0):
            return TrialOutcome(outcome.n_iter, solver=outcome.solver)
        n_iter = trial.budget + round(length * outcome.incumbent_rate / rate)
        return TrialOutcome(n_iter, incumbent_rate=rate, solver=outcome.solver, tail_rate=rate)

    def _narrow(self):
        """Halve the probe distance (down to ``_MIN_STEP``) after probes lost on every side
        there is: the incumbent sits within a step of the best omega."""
        self.step = max(self.step * _SHRINK, _MIN_STEP)
        self._ratios = {1.0: None, -1.0: None}

    def _young_start(self, rate):
        """Start the search at Young's omega ``2 / (1 + sqrt(1 - rho))`` for the Gauss-Seidel
        rate ``rho`` the first (plain SOR, omega = 1) solve showed: exact for consistently
        ordered matrices, within 0.1 of the best fixed omega on pyamg's meshes, and the
        probes correct it where it is off."""
        if np.isfinite(rate) and rate < 0:
            self._young_started = True
            young = handover_omega(rate, self.low, self.high)
            self.theta[0] += young - self.omega(self._first)

    def _watch_young_start(self, trial, outcome):
        """Whether this solve refutes Young's start, from evidence within one system: a
        cut-short plain-SOR probe whose incumbent phase was long and decayed far slower than
        ``omega - 1`` (Young's rate at Young's omega) adds how much higher the phase at the
        higher omega read the system's Young omega (where Young's relation holds both
        phases read the same); refuted once these rises average more than 0.03."""
        if (self._young_refuted or not self._young_started or self.rounds > self.warmup
                or trial.model_check or not outcome.censored or outcome.solver != "sor"
                or trial.omega <= 1.0
                or not outcome.incumbent_rate > _SUSPECT_SPEED * np.log(trial.omega - 1.0)):
            return False
        length = outcome.n_iter - trial.budget
        if length < MIN_ITERATIONS:
            return False
        first = self.context_model.reading(trial.trial_omega, outcome.trial_rate)
        second = self.context_model.reading(trial.omega, outcome.incumbent_rate)
        if first is None or second is None:
            return False
        self._rises.append((first - second) * np.sign(trial.trial_omega - trial.omega))
        self._young_refuted = bool(np.mean(self._rises) > _RISING)
        return self._young_refuted

    def _refute_young(self, phi):
        """Go back to omega = 1 and start the descent over: on this sequence Young's
        relation reads too high an omega."""
        theta = self.theta.copy()
        theta[0] += self.low - self.omega(phi)
        self._reset(theta)
        self._ratios = {1.0: None, -1.0: None}

    @staticmethod
    def _log_cost_ratio(outcome):
        """``log(cost at the probe / cost at the incumbent)`` from the two decay rates."""
        probe, incumbent = outcome.trial_rate, outcome.incumbent_rate
        if not math.isfinite(incumbent) or incumbent >= 0 or math.isnan(probe):
            return None
        if probe >= 0:
            return _MAX_LOG_RATIO
        return min(max(math.log(incumbent / probe), -_MAX_LOG_RATIO), _MAX_LOG_RATIO)

    def _descend(self, slope, phi, beta1=0.8, beta2=0.95):
        """Momentum step on ``theta`` along ``slope * phi``, normalised by the running size of
        ``slope``; its length grows while successive slopes agree in sign (the walk up from 1)
        and halves when they disagree (the optimum was crossed)."""
        omega = float(self.theta @ phi)
        if slope == 0 or (omega <= self.low and slope > 0) or (omega >= self.high and slope < 0):
            return  # no evidence either way, or the bound already stops omega moving that way
        self._updates += 1
        self.probes += 1
        sign = math.copysign(1.0, slope)
        agree = sign == self._last_sign
        self._last_sign = sign
        self.rate = min(max(self.rate * (_GROW if agree else _SHRINK),
                            _MIN_RATE * self.learning_rate), _MAX_RATE)
        self._moment = beta1 * self._moment + ((1 - beta1) * slope) * phi
        self._square = beta2 * self._square + (1 - beta2) * slope**2
        m = self._moment / (1 - beta1**self._updates)
        v = self._square / (1 - beta2**self._updates)
        # the decay lets the noise of single probes average out on long sequences
        decay = 1.0 / math.sqrt(1.0 + self.probes / _DECAY_PROBES)
        delta = decay * self.rate * m / math.sqrt(v)
        # omega moves at most one probe distance: the probes say nothing about farther away
        move = abs(float(delta @ phi))
        if move > self.step:
            delta = delta * (self.step / move)
        self.theta = self.theta - delta
