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

For least squares the linear predictor, the raw gradient and ``X'G`` are affine in ``s``
(and so is the refined intercept): one evaluation at ``s = 1`` (one gradient pass) makes
every other trial an ``O(n + p)`` interpolation. For the logistic and softmax losses each
trial is one evaluation (a gradient pass), at most :data:`_CURVED_TRIALS`; the previous
point's own criterion stands in for ``s = 1``. Every trial is certified by the engine's own
criterion; when none lands, the exact point is kept.
"""

from typing import NamedTuple

import numpy as np

__all__ = ["LANDING_FLOOR", "Previous", "land", "overshot"]

LANDING_FLOOR = 0.01
"""The lowest ``gap / threshold`` returned as it is; below it the gap is landed."""
_AIM = 0.1
_QUADRATIC_TRIALS = 8
_CURVED_TRIALS = 3
# The slope of log(gap) against log(s) assumed before two trials measure it: between the
# primal suboptimality's s^2 and the dual rescaling's first-order term
_SLOPE_GUESS = 1.5
# The largest step tried after the first: s = 1 puts the previous point's zeros on the support
_LONGEST_STEP = 0.95


class Previous(NamedTuple):
    """The previous outer iteration's point: its support rows, their coefficients, and its
    criterion."""

    rows: np.ndarray
    values: np.ndarray
    criterion: float


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


def land(design, W, b, Z, G, evaluation, previous, threshold, *, quadratic, evaluate,
         criterion):
    """Step back from the exact point toward ``previous`` until the gap lands.

    Parameters
    ----------
    design : Design
        The design (one product ``X_S d_S`` on the support).
    W, b, Z, G : arrays
        The exact point: coefficients (p, K), intercept (K,), linear predictor and raw
        gradient (n, K). Updated in place when a trial lands.
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
    support = np.flatnonzero(np.any(W != 0, axis=1))
    step = _step_to(previous, W, support)
    if step is None:
        return evaluation
    direction = np.empty_like(Z)
    design.predict(step, support.astype(np.int32), np.zeros_like(b), direction)
    point = _Segment(W, b, Z, G, step, direction, evaluate)
    if quadratic:
        far = point.at(1.0)
        trial = _Interpolation(point.exact(evaluation), far, criterion).at
        landed = _search(trial, support, threshold, [], _QUADRATIC_TRIALS)
    else:
        landed = _search(point.at, support, threshold, [(1.0, previous.criterion)],
                         _CURVED_TRIALS)
    if landed is None:
        return evaluation
    W[support] = landed.W[support]
    b[:] = landed.b
    Z[:] = landed.Z
    G[:] = landed.G
    return landed.evaluation


def _step_to(previous, W, support):
    """``W_prev - W*`` on the support of ``W*`` (zero elsewhere), or None when it is zero."""
    if not support.size:
        return None
    start = np.zeros_like(W)
    start[previous.rows] = previous.values
    step = np.zeros_like(W)
    step[support] = start[support] - W[support]
    return step if step[support].any() else None


class _Segment:
    """Points ``W* + s d`` of the segment, each evaluated by the engine (one gradient pass)."""

    def __init__(self, W, b, Z, G, step, direction, evaluate):
        self.W, self.b, self.Z, self.G = W, b, Z, G
        self.step, self.direction, self.evaluate = step, direction, evaluate

    def exact(self, evaluation):
        """The exact point as a trial (``s = 0``)."""
        return _Trial(self.W, self.b, self.Z, self.G, evaluation)

    def at(self, s):
        """The trial at step ``s``."""
        W = self.W + s * self.step
        b = self.b.copy()
        G = np.empty_like(self.G)
        Z, evaluation = self.evaluate(W, self.Z + s * self.direction, b, G)
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
    s = _next_step(tried, threshold) if tried else 1.0
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
