"""Losses of gradient-boosted networks: initial constant, pseudo-residuals, Newton step.

Three losses, coded as integers for the compiled boosting loop (:data:`LOSS_CODES`):
half squared error on one output, log-loss with a sigmoid on one output (labels 0/1) and
log-loss with a softmax on K one-hot outputs. All values are means over the rows.
"""

import numpy as np
from numba import njit
from scipy.special import expit

__all__ = ["LOSS_CODES", "init_score", "proba", "loss_value", "residuals_into", "newton_step"]

LOSS_CODES = {"squared": 0, "binary": 1, "multinomial": 2}


def init_score(Y, loss):
    """Constant minimising the loss ``LOSS_CODES[loss]`` on the targets ``Y`` (n, k).

    The mean (squared error), the log-odds (binary) or the centred log-priors (multinomial).
    """
    if loss == "squared":
        return Y.mean(axis=0)
    prior = np.clip(Y.mean(axis=0), 1e-12, 1 - 1e-12)
    if loss == "binary":
        return np.log(prior / (1 - prior))
    return np.log(prior) - np.log(prior).mean()


def proba(F):
    """Probabilities of the positive class (one column) or of each class (softmax)."""
    if F.shape[1] == 1:
        return expit(F)
    E = np.exp(F - F.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


@njit(cache=True, nogil=True)
def _row_loss(Y, F, f, rho, i, code):
    """Loss of row ``i`` at the scores ``F[i] + rho f[i]``."""
    k = F.shape[1]
    if code == 0:
        e = Y[i, 0] - F[i, 0] - rho * f[i, 0]
        return 0.5 * e * e
    if code == 1:
        z = F[i, 0] + rho * f[i, 0]
        soft = z + np.log1p(np.exp(-z)) if z > 0 else np.log1p(np.exp(z))
        return soft - Y[i, 0] * z
    top = -np.inf
    for o in range(k):
        top = max(top, F[i, o] + rho * f[i, o])
    total = 0.0
    picked = 0.0
    for o in range(k):
        z = F[i, o] + rho * f[i, o]
        total += np.exp(z - top)
        picked += Y[i, o] * z
    return top + np.log(total) - picked


@njit(cache=True, nogil=True)
def loss_value(Y, F, f, rho, code):
    """Mean loss at the scores ``F + rho f`` (pass ``rho = 0`` for the loss at ``F``).

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.array([[1.0], [0.0]]); F = np.zeros((2, 1))
    >>> round(float(loss_value(Y, F, F, 0.0, 1)), 6)  # log 2
    0.693147
    """
    total = 0.0
    for i in range(F.shape[0]):
        total += _row_loss(Y, F, f, rho, i, code)
    return total / F.shape[0]


@njit(cache=True, nogil=True)
def residuals_into(Y, F, code, R):
    """Pseudo-residuals (negative gradient) ``Y - F`` or ``Y - p`` into ``R``."""
    n, k = F.shape
    for i in range(n):
        if code == 0:
            R[i, 0] = Y[i, 0] - F[i, 0]
        elif code == 1:
            R[i, 0] = Y[i, 0] - 1.0 / (1.0 + np.exp(-F[i, 0]))
        else:
            top = -np.inf
            for o in range(k):
                top = max(top, F[i, o])
            total = 0.0
            for o in range(k):
                R[i, o] = np.exp(F[i, o] - top)
                total += R[i, o]
            for o in range(k):
                R[i, o] = Y[i, o] - R[i, o] / total


@njit(cache=True, nogil=True)
def newton_step(Y, R, f, code):
    """Newton step for the multiplier of the direction ``f`` from the residuals ``R``.

    ``sum r f / sum f^2`` for squared error (its exact minimiser), ``sum r f / sum f^2
    p (1 - p)`` with ``p = Y - R`` for the log-losses; 0 when the denominator vanishes.
    """
    num = 0.0
    den = 0.0
    for i in range(R.shape[0]):
        for o in range(R.shape[1]):
            num += R[i, o] * f[i, o]
            if code == 0:
                den += f[i, o] * f[i, o]
            else:
                p = Y[i, o] - R[i, o]
                den += f[i, o] * f[i, o] * p * (1.0 - p)
    return num / den if den > 0.0 else 0.0
