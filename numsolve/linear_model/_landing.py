"""Landing: a certified duality gap moved back up to near the requested one.

The working-set engine often ends its last outer iteration far below the requested gap: an
exact Newton finish on the support lands at round-off, fast epochs or a proximal Newton step
jump past the request between two checks. Aiming the solve itself at the request was
measured worse (the finish damped to a fifth to a fiftieth of the threshold: every later
working set started from a less exact point, 100 x 10000 at alpha_max/100 went 440 -> 700-850
epochs), so the landing comes after convergence is certified. On the segment
``W(s) = W* + s (W_prev - W*)`` from the exact point ``W*`` toward the previous outer
iteration's point, taken on the support of ``W*`` only (the returned coefficients keep the
exact point's zero pattern: no coefficient becomes a tiny nonzero, none is dropped), it picks
a step ``s`` in ``(0, 1)`` whose certified gap lies in ``[threshold / 100, threshold]``,
aiming at ``threshold / 10`` by secants of ``log(gap)`` against ``log(s)``.

The previous point is kept as its evaluation left it (coefficients on its support, the
intercept, ``Z``, ``G`` and ``X'G``: two ``O(n)`` copies per outer iteration). Where its
support lies within the exact point's (12 of the 14 landed grid cells), it is the segment's
end ``s = 1`` as it stands; otherwise the end is the previous coefficients on the exact support,
its ``Z`` one product ``X_S d_S`` away. For least squares the linear predictor, the raw
gradient, ``X'G`` and the refined intercept are affine in ``s``: every trial is an
``O(n + p)`` interpolation between the two ends (no pass over ``X``; one evaluation at
``s = 1`` when the end had to be built). For the logistic and softmax losses each trial is
one evaluation (a gradient pass), at most :data:`_CURVED_TRIALS`. The gap is first order in
``s`` near the exact point, and one trial lands on 13 of the 14 grid cells (the other takes
two): 0.05-0.9 ms a landing, 0.1-1 % of a fit on most cells, 4-6 % on the 3 ms sparse
2000 x 2000 ones. Every trial is certified by the engine's own criterion; when none lands,
the exact point is kept.
"""

from typing import NamedTuple

import numpy as np

__all__ = ["LANDING_FLOOR", "Previous", "land", "overshot"]

LANDING_FLOOR = 0.01
"""The lowest ``gap / threshold`` returned as it is; below it the gap is landed."""
_AIM = 0.1
_QUADRATIC_TRIALS = 8
_CURVED_TRIALS = 3
# The slope of log(gap) against log(s) assumed before two trials measure it: the gap is
# first order in s (the dual point's rescaling by the largest |X'theta| / alpha, which the
# support's coefficients meet at the exact point), not the primal suboptimality's s^2. On
# every landed grid cell the measured slope was 0.75-1.0; a guess of 1.5 took 2-3 trials.
_SLOPE_GUESS = 1.0
# The largest step tried: s = 1 is the segment's far end, whose zeros on the exact support
# (features that entered since) would change the zero pattern
_LONGEST_STEP = 0.95


class Previous(NamedTuple):
    """The previous outer iteration's point, as its evaluation left it."""

    rows: np.ndarray
    """Its support (feature indices)."""
    values: np.ndarray
    """The coefficients of those rows."""
    criterion: float
    b: np.ndarray
    Z: np.ndarray
    G: np.ndarray
    grad: np.ndarray
    """``X'G`` over ``keep``."""
    keep: np.ndarray
    """The features kept then (screening only removes features since)."""


class _Trial(NamedTuple):
    """A point on the segment and its certified evaluation ``(grad, primal, crit, kkt)``."""

    W: np.ndarray
    b: np.ndarray
    Z: np.ndarray
    G: np.ndarray
    evaluation: tuple


def overshot(crit, threshold):
    """True when a certified criterion lies below ``LANDING_FLOOR * threshold``."""
    return crit < LANDING_FLOOR * threshold


def land(design, W, b, Z, G, keep, evaluation, previous, threshold, *, quadratic, evaluate,
         criterion):
    """Step back from the exact point toward ``previous`` until the gap lands.

    Parameters
    ----------
    design : Design
        The design (one product ``X_S d_S`` on the support, where the previous point's
        support is not within the exact point's).
    W, b, Z, G : arrays
        The exact point: coefficients (p, K), intercept (K,), linear predictor and raw
        gradient (n, K). Updated in place when a trial lands.
    keep : int array
        The features the criterion runs over (the others are screened out).
    evaluation : tuple
        ``(grad, primal, crit, kkt)`` at the exact point.
    previous : Previous
        The previous outer iteration's point.
    threshold : float
        The requested criterion.
    quadratic : bool
        Least squares: trials interpolate between ``s = 0`` and ``s = 1``.
    evaluate : callable
        ``evaluate(W, Z, b, G) -> (Z, evaluation)``: the engine's evaluation at ``W`` from
        its linear predictor ``Z`` (the intercept refined first where it is fitted; ``b``
        updated in place, ``G`` overwritten).
    criterion : callable
        ``criterion(W, Z, grad, G) -> (primal, crit, kkt)``: the engine's criterion from
        given vectors.

    Returns
    -------
    evaluation : tuple
        ``(grad, primal, crit, kkt)`` at the returned point: the landed one, or the exact
        point when no trial landed.
    """
    in_support = np.any(W != 0, axis=1)
    support = np.flatnonzero(in_support)
    if not support.size:
        return evaluation
    exact = _Trial(W, b, Z, G, evaluation)
    end = _previous_point(previous, exact, in_support, keep)
    if quadratic:
        if end is None:
            end = _segment(design, exact, previous, support, evaluate).at(1.0)
        landed = _search(_Interpolation(exact, end, criterion).at, support, threshold,
                         [(1.0, end.evaluation[2])], _QUADRATIC_TRIALS)
    else:
        segment = (_segment(design, exact, previous, support, evaluate) if end is None else
                   _Segment(exact, end.W - W, end.b - b, end.Z - Z, evaluate))
        landed = _search(segment.at, support, threshold, [(1.0, previous.criterion)],
                         _CURVED_TRIALS)
    if landed is None:
        return evaluation
    W[support] = landed.W[support]
    b[:] = landed.b
    Z[:] = landed.Z
    G[:] = landed.G
    return landed.evaluation


def _previous_point(previous, exact, in_support, keep):
    """The previous point as a trial at ``s = 1``, when its support lies within the exact
    point's (the usual case: the segment then needs no product with ``X``), else None."""
    if not in_support[previous.rows].all():
        return None
    W = np.zeros_like(exact.W)
    W[previous.rows] = previous.values
    grad = previous.grad
    if previous.keep.size != keep.size:
        grad = grad[np.searchsorted(previous.keep, keep)]
    return _Trial(W, previous.b, previous.Z, previous.G,
                  (grad, np.nan, previous.criterion, np.nan))


def _segment(design, exact, previous, support, evaluate):
    """The segment toward the previous point's coefficients on ``support`` (zero elsewhere),
    its direction in ``Z`` by one product ``X_S d_S``."""
    start = np.zeros_like(exact.W)
    start[previous.rows] = previous.values
    step = np.zeros_like(exact.W)
    step[support] = start[support] - exact.W[support]
    direction = np.empty_like(exact.Z)
    no_intercept = np.zeros_like(exact.b)
    design.predict(step, support.astype(np.int32), no_intercept, direction)
    return _Segment(exact, step, no_intercept, direction, evaluate)


class _Segment:
    """Points ``exact + s (dW, db, dZ)`` of the segment, each evaluated by the engine (one
    gradient pass)."""

    def __init__(self, exact, dW, db, dZ, evaluate):
        self.exact, self.dW, self.db, self.dZ, self.evaluate = exact, dW, db, dZ, evaluate

    def at(self, s):
        """The trial at step ``s``."""
        exact = self.exact
        W, b = exact.W + s * self.dW, exact.b + s * self.db
        G = np.empty_like(exact.G)
        Z, evaluation = self.evaluate(W, exact.Z + s * self.dZ, b, G)
        return _Trial(W, b, Z, G, evaluation)


class _Interpolation:
    """Least-squares trials between the exact point (``s = 0``) and ``s = 1``: every vector
    the criterion reads is affine in ``s``."""

    def __init__(self, start, end, criterion):
        self.start, self.criterion = start, criterion
        self.dW, self.db = end.W - start.W, end.b - start.b
        self.dZ, self.dG = end.Z - start.Z, end.G - start.G
        self.dgrad = end.evaluation[0] - start.evaluation[0]

    def at(self, s):
        """The trial at step ``s`` (``O(n + p)``)."""
        start = self.start
        W, Z, G = start.W + s * self.dW, start.Z + s * self.dZ, start.G + s * self.dG
        grad = start.evaluation[0] + s * self.dgrad
        return _Trial(W, start.b + s * self.db, Z, G, (grad, *self.criterion(W, Z, grad, G)))


def _search(trial, support, threshold, tried, budget):
    """The first trial whose criterion lands in ``[LANDING_FLOOR, 1] * threshold`` with the
    exact support, or None. ``tried``: ``(s, criterion)`` pairs known beforehand."""
    s = _next_step(tried, threshold)
    for _ in range(budget):
        if s is None:
            return None
        point = trial(s)
        crit = point.evaluation[2]
        if (LANDING_FLOOR * threshold <= crit <= threshold
                and np.all(np.any(point.W[support] != 0, axis=1))):
            return point
        tried.append((s, crit))
        s = _next_step(tried, threshold)
    return None


def _next_step(tried, threshold):
    """The step that the last two trials' log-log secant (one trial: the guessed slope)
    predicts at ``_AIM * threshold``, at most ``_LONGEST_STEP``; None when no step is left to
    try."""
    s, crit = tried[-1]
    if not 0 < crit < np.inf:
        return None
    slope = _SLOPE_GUESS
    if len(tried) > 1:
        s_before, crit_before = tried[-2]
        if 0 < crit_before < np.inf and s != s_before:
            measured = np.log(crit / crit_before) / np.log(s / s_before)
            slope = measured if measured > 0 else slope
    proposed = min(s * (_AIM * threshold / crit) ** (1.0 / slope), _LONGEST_STEP)
    return None if proposed == s else proposed
