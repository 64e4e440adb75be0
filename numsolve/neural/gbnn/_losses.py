"""Losses of gradient-boosted networks: their codes, initial constants and probabilities.

Three losses, coded for the compiled boosting loop (:data:`LOSS_CODES`, the ``Loss`` enum of
``csrc/neural/gbnn/_boost.pyx``, where their values, pseudo-residuals and Newton steps are):
half squared error on one output, log-loss with a sigmoid on one output (labels 0/1) and
log-loss with a softmax on K one-hot outputs. All values are means over the rows.
"""

import numpy as np
from scipy.special import expit, softmax

__all__ = ["LOSS_CODES", "init_score", "proba"]

LOSS_CODES = {"squared": 0, "binary": 1, "multinomial": 2}


def init_score(Y, loss, sample_weight=None):
    """Constant minimising the loss ``LOSS_CODES[loss]`` on the targets ``Y`` (n, k).

    The (weighted) mean (squared error), the log-odds (binary) or the centred log-priors
    (multinomial).
    """
    mean = Y.mean(axis=0) if sample_weight is None else np.average(Y, axis=0,
                                                                  weights=sample_weight)
    if loss == "squared":
        return mean
    prior = np.clip(mean, 1e-12, 1 - 1e-12)
    if loss == "binary":
        return np.log(prior / (1 - prior))
    return np.log(prior) - np.log(prior).mean()


def proba(F):
    """Probabilities of the positive class (one column) or of each class (softmax)."""
    return expit(F) if F.shape[1] == 1 else softmax(F, axis=1)
