"""Class probabilities from the outputs of a label-regression network.

A network trained on one-hot targets under squared error has outputs on the label scale,
not log-odds; a softmax of the outputs times one positive temperature, fitted to the training
log loss (temperature scaling), turns them into probabilities whose argmax is the predicted
class.
"""

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

# Search range of log(temperature): outputs are on the label scale, so temperatures beyond
# these bounds give uniform or one-hot probabilities anyway.
LOG_TEMPERATURE_BOUNDS = (-10.0, 10.0)


def class_logits(scores):
    """Logits (n, K) from decision scores: (n,) for two classes (the sign decides), (n, K)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        return np.column_stack([np.zeros_like(scores), scores])
    return scores


def fit_temperature(scores, codes, sample_weight=None):
    """Temperature minimising the (weighted) log loss of ``softmax(temperature * logits)`` at
    ``codes``."""
    logits = class_logits(scores)
    rows = np.arange(logits.shape[0])

    def log_loss(log_temperature):
        log_proba = class_log_probabilities(logits, np.exp(log_temperature))
        return -np.average(log_proba[rows, codes], weights=sample_weight)

    best = minimize_scalar(log_loss, bounds=LOG_TEMPERATURE_BOUNDS, method="bounded")
    return float(np.exp(best.x))


def class_log_probabilities(scores, temperature):
    """``log_softmax(temperature * logits)``, shape (n, K)."""
    return log_softmax(temperature * class_logits(scores), axis=1)
