"""Losses of gradient-boosted networks: initial constant, pseudo-residuals, Newton step."""

import numpy as np
from scipy.special import expit

__all__ = ["SquaredLoss", "LogLoss"]


class SquaredLoss:
    """Half squared error ``(y - F)^2 / 2`` on an (n, 1) target."""

    def init(self, Y):
        """Constant minimising the loss: the mean."""
        return Y.mean(axis=0)

    def residuals(self, Y, F):
        """Negative gradient ``Y - F``."""
        return Y - F

    def newton(self, Y, F, R, f):
        """Exact minimiser of the loss along ``f`` (Newton step of a quadratic)."""
        den = float(np.sum(f * f))
        return float(np.sum(R * f)) / den if den > 0 else 0.0

    def __call__(self, Y, F):
        return float(np.mean((Y - F) ** 2)) / 2


class LogLoss:
    """Log-loss: sigmoid on one output (binary) or softmax on K outputs (multiclass)."""

    def proba(self, F):
        """Probabilities of the positive class (one column) or of each class."""
        if F.shape[1] == 1:
            return expit(F)
        E = np.exp(F - F.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)

    def init(self, Y):
        """Log-odds (binary) or log-priors (multiclass) of the training labels."""
        prior = np.clip(Y.mean(axis=0), 1e-12, 1 - 1e-12)
        if Y.shape[1] == 1:
            return np.log(prior / (1 - prior))
        return np.log(prior) - np.log(prior).mean()

    def residuals(self, Y, F):
        """Negative gradient ``Y - p``."""
        return Y - self.proba(F)

    def newton(self, Y, F, R, f):
        """One Newton step ``sum f r / sum f^2 p (1 - p)`` for the stage multiplier."""
        P = Y - R
        den = float(np.sum(f * f * P * (1 - P)))
        return float(np.sum(R * f)) / den if den > 0 else 0.0

    def __call__(self, Y, F):
        if F.shape[1] == 1:
            return float(np.mean(np.logaddexp(0, F) - Y * F))
        top = F.max(axis=1)
        log_norm = top + np.log(np.exp(F - top[:, None]).sum(axis=1))
        return float(np.mean(log_norm - np.sum(Y * F, axis=1)))
