"""Proximal Newton on a working set for the binary logistic loss.

Each step minimises the L1 problem with the loss replaced by its second-order model at the
current predictor ``Z``. That model is a weighted least-squares problem, ``(1/2) sum_i h_i
(z_i - t_i)^2`` with curvatures ``h_i`` and working responses ``t_i = Z_i - g_i / h_i``
(``g_i``, ``h_i`` the per-sample loss derivatives), so the compiled least-squares epochs solve
it on the working set without ever forming or factoring a Hessian. The step to the model's
minimiser is backtracked until the true objective decreases enough. Unlike the active-set
Newton finish, coefficients enter and leave the support freely within a step, and a step
costs coordinate passes over the working set's stored entries however large the support is
against ``n`` (where the finish factors an ``m x m`` Hessian of rank at most ``n``).
"""

import numpy as np

from . import _cd as kernels
from ._cd import DatafitKind

__all__ = ["prox_newton_inner"]

_MODEL_PASSES = 20
# A coordinate pass over the model stops the model solve once it moves the coefficients by
# less than this fraction of the step so far: the outer line search and the next step
# absorb the rest
_MODEL_RTOL = 1e-3
_ARMIJO = 1e-4
_MAX_HALVINGS = 30
# Curvatures below this fraction of the sample's weight are raised to it: a saturated sample
# has ``h_i`` near zero and a working response near infinity
_MIN_CURVATURE = 1e-12


def prox_newton_inner(design, y, a, datafit, penalty, W, b, Z, G, ws, col_means, inner_tol,
                      max_steps, criterion):
    """Proximal Newton steps on the features ``ws`` in place on ``W``, ``b``, ``Z`` until
    ``criterion(grad_ws)`` (the restricted problem's gap) is at most ``inner_tol``.

    Returns the number of coordinate passes run (the epochs of the caller's accounting) and
    whether the steps stalled: near round-off, no step along the model's minimiser passes
    the line search, and the caller finishes with plain coordinate epochs.
    """
    l1, l2, positive = penalty.l1, penalty.l2, penalty.positive
    ls = DatafitKind.LEAST_SQUARES
    passes = 0
    for _ in range(max_steps):
        h = np.maximum(datafit.raw_hessian(Z, y, a, np)[:, 0, 0], _MIN_CURVATURE * a)
        g = datafit.raw_gradient(Z, y, a, np)[:, 0]
        target = np.ascontiguousarray(Z[:, 0] - g / h)
        lips = design.col_sq_norms(h)
        W_model = W.copy()
        b_model = b.copy()
        Z_model = Z.copy()
        for _ in range(_MODEL_PASSES):
            before = W_model[ws, 0].copy()
            design.epoch(ls, target, h, W_model, Z_model, ws, lips, l1, l2, positive)
            if col_means is not None:
                kernels.intercept_step(ls, target, h, b_model, Z_model, float(h.sum()))
            passes += 1
            moved = np.abs(W_model[ws, 0] - before).max(initial=0.0)
            total = np.abs(W_model[ws, 0] - W[ws, 0]).max(initial=0.0)
            if moved <= _MODEL_RTOL * total:
                break
        if not _line_search(datafit, penalty, W, b, Z, y, a, g, ws, W_model, b_model, Z_model):
            return passes, True
        kernels.raw_gradient(datafit.kind, Z, y, a, G)
        if criterion(design.gradient(G, ws)) <= inner_tol:
            break
    return passes, False


def _line_search(datafit, penalty, W, b, Z, y, a, g, ws, W_model, b_model, Z_model):
    """Backtrack along the step to the model's minimiser (Armijo on the composite
    objective); apply the accepted step in place and return whether one was accepted."""
    D = W_model[ws] - W[ws]
    db = b_model - b
    dZ = Z_model - Z
    penalty_now = float(penalty.value(W[ws], np))
    # the directional derivative of the composite objective bound used by Armijo's test
    decrease = float(g @ dZ[:, 0]) + float(penalty.value(W_model[ws], np)) - penalty_now
    if not decrease < 0:
        return False
    current = float(datafit.value(Z, y, a, np)) + penalty_now
    step = 1.0
    for _ in range(_MAX_HALVINGS):
        W_try = W[ws] + step * D
        Z_try = Z + step * dZ
        value = float(datafit.value(Z_try, y, a, np)) + float(penalty.value(W_try, np))
        if value <= current + _ARMIJO * step * decrease:
            W[ws] = W_try
            b += step * db
            Z[:] = Z_try
            return True
        step *= 0.5
    return False
