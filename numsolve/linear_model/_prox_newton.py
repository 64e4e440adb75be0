"""Proximal Newton on a working set for the binary logistic loss.

Each step minimises the L1 problem with the loss replaced by its second-order model at the
current predictor ``Z``. That model is a weighted least-squares problem, ``(1/2) sum_i h_i
(z_i - t_i)^2`` with curvatures ``h_i`` and working responses ``t_i = Z_i - g_i / h_i``
(``g_i``, ``h_i`` the per-sample loss derivatives), so the compiled least-squares epochs solve
it on the working set without ever forming or factoring a Hessian. The model is badly
conditioned where supports grow near ``n`` or samples saturate, and plain epochs then gain a
few percent a pass; Anderson extrapolation of the epochs' iterates (kept only when it lowers
the model) recovers most of the Krylov speed on this quadratic (sparse 2000 x 20000 at
alpha_max/100: 4342 -> about 1800 passes). The step to the model's minimiser is backtracked
until the true objective decreases enough. Unlike the active-set Newton finish, coefficients
enter and leave the support freely within a step, and a step costs coordinate passes over the
working set's stored entries however large the support is against ``n``.
"""

import numpy as np

from . import _cd as kernels
from ._anderson import anderson_guess
from ._cd import DatafitKind
from ._prox_newton_kernels import logistic_loss, newton_model

__all__ = ["prox_newton_inner"]

_MODEL_PASSES = 20
# A coordinate pass over the model stops the model solve once it moves the coefficients by
# less than this fraction of the step so far: the outer line search and the next step
# absorb the rest
_MODEL_RTOL = 1e-3
# Anderson extrapolation over this many passes of the model solve
_ANDERSON = 5
_ARMIJO = 1e-4
_MAX_HALVINGS = 30
# Curvatures below this fraction of the sample's weight are raised to it: a saturated sample
# has ``h_i`` near zero and a working response near infinity
_MIN_CURVATURE = 1e-12


class _Model:
    """The second-order model of the logistic loss at a predictor: the loss there, curvatures
    ``h``, raw gradient ``g``, working responses ``target`` and the working set's Lipschitz
    constants."""

    def __init__(self, design, Z, y, a, ws):
        n = Z.shape[0]
        self.h, self.g, self.target = np.empty(n), np.empty(n), np.empty(n)
        self.loss = newton_model(Z[:, 0], y, a, _MIN_CURVATURE, self.h, self.g,
                                 self.target)
        self.lips = np.zeros(design.shape[1])
        design.ws_sq_norms(self.h, ws, self.lips)
        self.curvature_sum = float(self.h.sum())

    def value(self, Z, W_ws, penalty):
        """The model of the composite objective (up to a constant) at ``Z``, ``W[ws]``."""
        r = Z[:, 0] - self.target
        return 0.5 * float(self.h @ (r * r)) + float(penalty.value(W_ws, np))


def prox_newton_inner(design, y, a, datafit, penalty, W, b, Z, G, ws, col_means, inner_tol,
                      max_steps, criterion):
    """Proximal Newton steps on the features ``ws`` in place on ``W``, ``b``, ``Z`` until
    ``criterion(grad_ws)`` (the restricted problem's gap) is at most ``inner_tol``.

    Returns the number of coordinate passes run (the epochs of the caller's accounting) and
    whether the steps stalled: near round-off, no step along the model's minimiser passes
    the line search, and the caller finishes with plain coordinate epochs.
    """
    passes = 0
    for _ in range(max_steps):
        model = _Model(design, Z, y, a, ws)
        W_model, b_model, Z_model = W.copy(), b.copy(), Z.copy()
        passes += _solve_model(design, model, penalty, W_model, b_model, Z_model, ws,
                               col_means is not None)
        if not _line_search(penalty, W, b, Z, y, a, model, ws, W_model, b_model, Z_model):
            return passes, True
        kernels.raw_gradient(datafit.kind, Z, y, a, G)
        if criterion(design.gradient(G, ws)) <= inner_tol:
            break
    return passes, False


def _solve_model(design, model, penalty, W, b, Z, ws, intercept):
    """Coordinate passes on the model over ``ws`` in place on ``W``, ``b``, ``Z``, with
    Anderson extrapolation every ``_ANDERSON`` passes; returns the passes run."""
    ls = DatafitKind.LEAST_SQUARES
    start = np.concatenate([W[ws, 0], b])
    previous = start
    buffer = [start]
    for run in range(1, _MODEL_PASSES + 1):
        design.epoch(ls, model.target, model.h, W, Z, ws, model.lips, penalty.l1, penalty.l2,
                     penalty.positive)
        if intercept:
            kernels.intercept_step(ls, model.target, model.h, b, Z, model.curvature_sum)
        current = np.concatenate([W[ws, 0], b])
        moved = np.abs(current - previous).max(initial=0.0)
        if moved <= _MODEL_RTOL * np.abs(current - start).max(initial=0.0):
            return run
        buffer.append(current)
        if len(buffer) == _ANDERSON + 1:
            current = _extrapolate(design, model, penalty, W, b, Z, ws, buffer)
            buffer = [current]
        previous = current
    return _MODEL_PASSES


def _extrapolate(design, model, penalty, W, b, Z, ws, buffer):
    """Anderson extrapolation of the model solve's iterates in ``buffer``; kept when it
    lowers the model. Returns the iterate (``W[ws]`` and ``b`` stacked) left in place."""
    guess = anderson_guess(buffer)
    if guess is None:
        return buffer[-1]
    W_new = guess[: ws.size]
    if penalty.positive:
        W_new = np.maximum(W_new, 0.0)
    b_new = guess[ws.size:]
    W_full = np.zeros_like(W)
    W_full[ws, 0] = W_new
    Z_new = np.empty_like(Z)
    design.predict(W_full, ws, b_new, Z_new)
    if model.value(Z_new, W_new, penalty) >= model.value(Z, W[ws, 0], penalty):
        return buffer[-1]
    W[ws, 0] = W_new
    b[:] = b_new
    Z[:] = Z_new
    return np.concatenate([W_new, b_new])


def _line_search(penalty, W, b, Z, y, a, model, ws, W_model, b_model, Z_model):
    """Backtrack along the step to the model's minimiser (Armijo on the composite
    objective); apply the accepted step in place and return whether one was accepted."""
    D = W_model[ws] - W[ws]
    db = b_model - b
    z = np.ascontiguousarray(Z[:, 0])
    dz = Z_model[:, 0] - z
    penalty_now = float(penalty.value(W[ws], np))
    # the directional derivative of the composite objective bound used by Armijo's test
    decrease = float(model.g @ dz) + float(penalty.value(W_model[ws], np)) - penalty_now
    if not decrease < 0:
        return False
    current = model.loss + penalty_now
    step = 1.0
    for _ in range(_MAX_HALVINGS):
        W_try = W[ws] + step * D
        value = logistic_loss(z, dz, step, y, a) + float(penalty.value(W_try, np))
        if value <= current + _ARMIJO * step * decrease:
            W[ws] = W_try
            b += step * db
            Z[:, 0] += step * dz
            return True
        step *= 0.5
    return False
