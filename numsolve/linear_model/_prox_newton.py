"""Proximal Newton on a working set for the binary logistic loss.

Each step minimises the L1 problem with the loss replaced by its second-order model at the
current predictor ``Z``. That model is a weighted least-squares problem, ``(1/2) sum_i h_i
(z_i - t_i)^2`` with curvatures ``h_i`` and working responses ``t_i = Z_i - g_i / h_i``
(``g_i``, ``h_i`` the per-sample loss derivatives), solved by coordinate passes on the
working set without ever forming or factoring a Hessian. The whole model solve
(coordinate passes, the intercept's step, Anderson extrapolation of the iterates every few
passes, kept only when it lowers the model, and the stopping test) is one compiled call
(:func:`._prox_newton_kernels.solve_model`): on sparse wide data a pass costs tens of
microseconds, which the Python around each pass used to double. The model is badly
conditioned where supports grow near ``n`` or samples saturate, and plain passes then gain a
few percent each; the extrapolation recovers most of the Krylov speed on this quadratic. On
dense data with small working sets a long solve moves to the model's Gram matrix once its
passes have paid for forming it (:func:`_solve_model`), the same steps at ``O(m)`` each.

The model solve is inexact by design: it stops once no coordinate's violation exceeds a
forcing fraction of the largest met in its first pass (about the restricted problem's
violation at the step's start). That fraction asks the step for the violation decrease
that brings the gap to the working set's tolerance (the gap falls about as the square of
the violation), so a working set's last step lands near its tolerance instead of at
round-off (:func:`forcing`). A working set's first step is solved tightly instead: its gap
at entry is unknown, and loose first steps cost outer iterations. The step to the model's
minimiser is backtracked until the true objective decreases enough. Unlike the active-set Newton finish, coefficients
enter and leave the support freely within a step, and a step costs coordinate passes over the
working set's stored entries however large the support is against ``n``.
"""

import math

import numpy as np

from ._objective import logistic_duality_gap, optimality
from ._prox_newton_kernels import newton_model

__all__ = ["prox_newton_inner"]

_MODEL_PASSES = 50
# The model solve's forcing: a step asks for the violation to fall by
# sqrt(target gap / gap now) (times this safety factor), within these bounds
_FORCING_SAFETY = 0.3
_FORCING_MIN = 1e-3
_FORCING_MAX = 0.5
# A working set's first step (its gap at entry is not computed): loose first steps cost
# outer iterations, each a full gradient (paper B: 0.1 -> 13 outer iterations, 1e-2 -> 10,
# 1e-3 -> 9), tight ones can solve the last working set to round-off (a tall dense problem
# at 1e-3: gap 1e-6 times the request)
_FORCING_FIRST = 1e-2
# Given the requested gap, a first step aims no lower than this fraction of it below
_LANDING = 10.0
# Anderson extrapolation over this many passes of the model solve
_ANDERSON = 5
# The model solve on the Gram matrix (see _solve_model)
_GRAM_SIZE = 64
_GRAM_PASSES = 4
_GRAM_PASS_SHARE = 8
# ... and after _GRAM_PASSES_SMALL passes where the working set's columns hold at most
# _SMALL_GRAM entries (n |ws|, 256 KiB): there the Gram forms in cache, for less than the
# passes the rule above waits for (see _solve_model)
_SMALL_GRAM = 32_768
_GRAM_PASSES_SMALL = 2
_ARMIJO = 1e-4
# A predicted decrease below this fraction of the objective is taken without a test: the
# loss's sum over samples is not that accurate
_ROUND_OFF = 1e-12
_MAX_HALVINGS = 30
# The line search's outcomes
_ACCEPTED, _UNRESOLVED, _REJECTED = "accepted", "unresolved", "rejected"
# Curvatures below this fraction of the sample's weight are raised to it: a saturated sample
# has ``h_i`` near zero and a working response near infinity
_MIN_CURVATURE = 1e-12


class _Model:
    """The second-order model of the logistic loss at a predictor: the loss there, curvatures
    ``h``, raw gradient ``g``, working responses ``target`` and the working set's Lipschitz
    constants ``lips``. The line search expands the model at each trial point
    (:meth:`expand`, one exponential per sample for the loss and all of them), so the
    accepted point's model and gradient cost no further pass."""

    def __init__(self, design, Z, y, a):
        n = Z.shape[0]
        self.h, self.g, self.target = np.empty(n), np.empty(n), np.empty(n)
        self.lips = np.zeros(design.shape[1])
        self.y, self.a = y, a
        self.loss = self.expand(np.ascontiguousarray(Z[:, 0]))

    def expand(self, z):
        """Refill the model at the predictor ``z``; return the loss there."""
        self.loss = newton_model(z, self.y, self.a, _MIN_CURVATURE, self.h, self.g,
                                 self.target)
        return self.loss

    def restrict(self, design, ws):
        """The working set's Lipschitz constants and the curvatures' sum, at the model's
        current point."""
        design.ws_sq_norms(self.h, ws, self.lips)
        self.curvature_sum = float(self.h.sum())


def _restricted_criterion(datafit, penalty, W_ws, Z, y, a, grad_ws, G, means, loss):
    """The criterion of the working set's problem (``W_ws``, ``grad_ws`` and ``means`` its
    rows), the caller's: the duality gap, or the KKT violation where the penalty has no
    dual; given the datafit's value ``loss`` at ``Z``. The gap is one compiled call
    (:func:`._objective.logistic_duality_gap`); :func:`._objective.optimality` also computes
    the KKT violation (with its former array passes, a fifth of a sparse wide fit)."""
    if not penalty.has_dual:
        return optimality(datafit, penalty, W_ws, Z, y, a, grad_ws, G, np, means)[2]
    return logistic_duality_gap(loss, penalty, W_ws, y, a, grad_ws, G, means)


def forcing(crit, target):
    """The fraction of its first pass's largest violation at which a model solve stops,
    for a restricted gap ``crit`` to be brought to ``target``."""
    if not crit > target > 0:
        return _FORCING_MIN
    return min(max(_FORCING_SAFETY * math.sqrt(target / crit), _FORCING_MIN), _FORCING_MAX)


def prox_newton_inner(design, y, a, datafit, penalty, W, b, Z, G, ws, col_means, inner_tol,
                      max_steps, criterion, threshold=None):
    """Proximal Newton steps on the features ``ws`` in place on ``W``, ``b``, ``Z`` until
    ``criterion(grad_ws)`` (the restricted problem's gap) is at most ``inner_tol``.

    A working set's first step is solved tightly (a loose one costs outer iterations); the
    later ones to the forcing :func:`forcing` takes from the gap and ``inner_tol``. Given
    the full problem's requested gap ``threshold``, a first step whose tight solve could
    land far below it (``inner_tol`` within ``_LANDING`` of it) aims at ``threshold /
    _LANDING`` instead, from the restricted gap at entry (one more gradient over ``ws``).
    ``datafit`` is the caller's binary logistic datafit, whose derivatives the model's
    kernels compute themselves; ``criterion`` serves the entry check only, later checks
    reuse the line search's loss (the same criterion, one sweep over the samples fewer).
    Returns the number of coordinate passes run (the epochs of the caller's accounting) and
    whether the steps stalled: near round-off, no step along the model's minimiser passes
    the line search (or one whose decrease is below round-off leaves the gap where it
    was), and the caller finishes with plain coordinate epochs.
    """
    passes = 0
    crit = np.inf
    fraction = _FORCING_FIRST
    if threshold is not None and inner_tol <= _LANDING * threshold:
        crit = criterion(design.gradient(G, ws))
        if crit <= inner_tol:
            return 0, False
        fraction = max(_FORCING_FIRST, forcing(crit, max(inner_tol, threshold) / _LANDING))
    model = _Model(design, Z, y, a)
    means = None if col_means is None else col_means[ws]
    for _ in range(max_steps):
        model.restrict(design, ws)
        w_model = np.concatenate([W[ws, 0], b])
        z_model = Z[:, 0].copy()
        passes += _solve_model(design, model, ws, penalty, col_means is not None, w_model,
                               z_model, fraction)
        outcome = _line_search(penalty, W, b, Z, model, ws, w_model, z_model)
        if outcome == _REJECTED:
            return passes, True
        G[:, 0] = model.g  # the raw gradient at the accepted point
        previous, crit = crit, _restricted_criterion(
            datafit, penalty, W[ws], Z, y, a, design.gradient(G, ws), G, means, model.loss)
        if crit <= inner_tol:
            break
        if outcome == _UNRESOLVED and not crit < previous:
            return passes, True
        fraction = forcing(crit, inner_tol)
    return passes, False


def _solve_model(design, model, ws, penalty, intercept, w, z, fraction):
    """The model solve (:func:`._prox_newton_kernels.solve_model`) in place on ``w`` and
    ``z``; returns the passes run. On dense ``X`` with a working set of at most
    ``_GRAM_SIZE`` features (and four samples a feature), a solve still running after
    ``_GRAM_PASSES`` passes plus one per ``_GRAM_PASS_SHARE`` features (what forming the
    model's Gram matrix costs: 4.4 to 9.3 passes measured from 569 x 30 to 20000 x 64), and
    whose rate predicts as many passes again, goes on over the Gram: breast_cancer's tight
    solves on its 30 features, 20-36 passes over ``X`` at 15 us each, cost 120 us instead
    of 330. Well-conditioned tall data rarely run that long. Where the working set's
    columns fit in cache (``_SMALL_GRAM``) the move is considered after two passes
    instead (:func:`_gram_after`): breast_cancer standardised, L1 / elastic net at C = 1
    and 10, 5-14 % less fit time (best of 15-21 interleaved) for the same outer iterations;
    after one pass, or after two on the grid's 20000 x 100 cells, it cost 3-13 %."""
    return design.solve_model(model, ws, penalty, intercept, w, z, _MODEL_PASSES, fraction,
                              _ANDERSON, _gram_after(design, ws.size))[0]


def _gram_after(design, m):
    """After how many passes a model solve on ``m`` features may move to the Gram (0:
    never); see :func:`_solve_model`."""
    n = design.shape[0]
    if design.sparse or m > min(_GRAM_SIZE, n // 4):
        return 0
    if n * m <= _SMALL_GRAM:
        return _GRAM_PASSES_SMALL
    return _GRAM_PASSES + m // _GRAM_PASS_SHARE


def _line_search(penalty, W, b, Z, model, ws, w_model, z_model):
    """Backtrack along the step to the model's minimiser (``w_model``: the working set's
    coefficients then the intercept; ``z_model`` its predictor) by Armijo's test on the
    composite objective; apply the accepted step in place, leave ``model`` expanded there
    and return the outcome: ``_ACCEPTED``, ``_UNRESOLVED`` (taken whole: the predicted
    decrease is zero at round-off) or ``_REJECTED`` (``model`` is then spent)."""
    m = ws.size
    W_ws = W[ws]
    D = w_model[:m, None] - W_ws
    db = w_model[m:] - b
    z = np.ascontiguousarray(Z[:, 0])
    dz = z_model - z
    penalty_now = _penalty_value(penalty, W_ws)
    penalty_model = _penalty_value(penalty, w_model[:m])
    # the directional derivative of the composite objective bound used by Armijo's test;
    # its product is summed by NumPy, not BLAS: a threaded one-vector dot made up 80 % of
    # a sparse 20000 x 1000 fit on two loaded cores (alpha_max/100: 196 -> 49 ms CPU time)
    decrease = float((model.g * dz).sum()) + penalty_model - penalty_now
    current = model.loss + penalty_now
    # the objective cannot resolve a decrease below its rounding, and Armijo's test would
    # accept a step by its noise; the model is exact to third order in a step this small.
    # Such a step still moves the gap's dual point (a gap of 4e-9 fell to 3e-12 by one),
    # even where the predicted decrease itself rounds to zero or above
    if not abs(decrease) <= _ROUND_OFF * abs(current) and not decrease < 0:
        return _REJECTED
    exact = -decrease <= _ROUND_OFF * abs(current)
    step = 1.0
    for _ in range(_MAX_HALVINGS):
        if step == 1.0:  # the model's minimiser itself: two passes over the samples fewer
            W_try, z_try, penalty_try = w_model[:m, None], z_model, penalty_model
        else:
            W_try, z_try = W_ws + step * D, z + step * dz
            penalty_try = _penalty_value(penalty, W_try)
        value = model.expand(z_try) + penalty_try
        if exact or value <= current + _ARMIJO * step * decrease:
            W[ws] = W_try
            b += step * db
            Z[:, 0] = z_try
            return _ACCEPTED if decrease < 0 else _UNRESOLVED
        step *= 0.5
    return _REJECTED


def _penalty_value(penalty, w):
    """``penalty.value(w)``, the same sums in the same order, by array methods rather than
    the namespace's functions: 13 -> 5 us on 30 coefficients, and the line search takes it
    twice a step."""
    return penalty.l1 * float(np.abs(w).sum()) + 0.5 * penalty.l2 * float((w * w).sum())
