"""Losses of gradient-boosted networks: initial constant, pseudo-residuals, Newton step.

Three losses, coded as integers for the compiled boosting loop (:data:`LOSS_CODES`):
half squared error on one output, log-loss with a sigmoid on one output (labels 0/1) and
log-loss with a softmax on K one-hot outputs. All values are means over the rows.
"""

import numpy as np
from numba import njit
from scipy.special import expit, softmax

from ._gbnn_numba import exp_neg

__all__ = ["LOSS_CODES", "init_score", "proba", "loss_buffers", "loss_value", "residuals_into",
           "newton_step"]

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
    return expit(F) if F.shape[1] == 1 else softmax(F, axis=1)


@njit(cache=True, nogil=True, error_model="numpy")
def loss_buffers(n_samples, n_outputs):
    """Work arrays of :func:`loss_value` and :func:`residuals_into` for ``n_samples`` rows.

    Exponentials and their arguments in separate arrays: :func:`exp_neg` vectorises only
    when its input and output do not overlap.
    """
    return (np.empty((n_samples, n_outputs)), np.empty(n_samples * n_outputs, dtype=np.int64),
            np.empty((n_samples, n_outputs)))


@njit(cache=True, nogil=True, error_model="numpy")
def _exp_shifted(F, f, rho, buf):
    """``exp(z - max z)`` row by row into ``buf[0]`` for the scores ``z = F + rho f``.

    Returns the row maxima; the exponentials go through :func:`exp_neg` (vectorised).
    """
    E, bits, G = buf
    n, k = F.shape
    top = np.empty(n)
    for i in range(n):
        t = F[i, 0] + rho * f[i, 0]
        for o in range(1, k):
            t = max(t, F[i, o] + rho * f[i, o])
        top[i] = t
        for o in range(k):
            G[i, o] = t - F[i, o] - rho * f[i, o]
    exp_neg(G.ravel(), E.ravel(), bits)
    return top


@njit(cache=True, nogil=True, error_model="numpy")
def loss_value(Y, F, f, rho, code, buf):
    """Mean loss at the scores ``F + rho f`` (pass ``rho = 0`` for the loss at ``F``).

    ``buf`` is :func:`loss_buffers` of the shape of ``F``.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.array([[1.0], [0.0]]); F = np.zeros((2, 1))
    >>> round(float(loss_value(Y, F, F, 0.0, 1, loss_buffers(2, 1))), 6)  # log 2
    0.693147
    """
    n, k = F.shape
    total = 0.0
    if code == 0:
        for i in range(n):
            e = Y[i, 0] - F[i, 0] - rho * f[i, 0]
            total += 0.5 * e * e
    elif code == 1:  # softplus(z) - y z = max(z, 0) + log1p(exp(-|z|)) - y z
        E, bits, G = buf
        for i in range(n):
            G[i, 0] = abs(F[i, 0] + rho * f[i, 0])
        exp_neg(G.ravel(), E.ravel(), bits)
        for i in range(n):
            z = F[i, 0] + rho * f[i, 0]
            total += max(z, 0.0) + np.log1p(E[i, 0]) - Y[i, 0] * z
    else:
        top = _exp_shifted(F, f, rho, buf)
        E = buf[0]
        for i in range(n):
            s = 0.0
            picked = 0.0
            for o in range(k):
                s += E[i, o]
                picked += Y[i, o] * (F[i, o] + rho * f[i, o])
            total += top[i] + np.log(s) - picked
    return total / n


@njit(cache=True, nogil=True, error_model="numpy")
def residuals_into(Y, F, code, R, buf):
    """Pseudo-residuals (negative gradient) ``Y - F`` or ``Y - p`` into ``R``."""
    n, k = F.shape
    if code == 0:
        for i in range(n):
            R[i, 0] = Y[i, 0] - F[i, 0]
    elif code == 1:
        exp_neg(F.ravel(), R.ravel(), buf[1])
        for i in range(n):
            R[i, 0] = Y[i, 0] - 1.0 / (1.0 + R[i, 0])
    else:
        _exp_shifted(F, F, 0.0, buf)
        E = buf[0]
        for i in range(n):
            s = 0.0
            for o in range(k):
                s += E[i, o]
            for o in range(k):
                R[i, o] = Y[i, o] - E[i, o] / s


@njit(cache=True, nogil=True, error_model="numpy")
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
