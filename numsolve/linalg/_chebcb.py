"""ChebCB: per-arm Chebyshev regressions of the cost on the context, SquareCB exploration."""

import numpy as np

__all__ = ["ChebCB", "chebyshev_features"]


def chebyshev_features(context, low, high, degree):
    """Chebyshev polynomials ``T_0 .. T_{degree-1}`` of each context coordinate.

    Coordinates are mapped from ``[low, high]`` to ``[-1, 1]`` (and clipped). A vector context
    gets the features of each coordinate side by side (one shared constant term); a 2-D
    array of contexts (one per row) gets one row of features each.

    Examples
    --------
    >>> from numsolve.linalg._chebcb import chebyshev_features
    >>> chebyshev_features(0.5, 0.0, 1.0, 3)
    array([ 1.,  0., -1.])
    """
    z = np.clip(2.0 * (np.atleast_1d(context) - low) / (high - low) - 1.0, -1.0, 1.0)
    columns = [np.ones(z.shape[:-1] + (1,))]
    prev, cur = np.ones_like(z), z
    for power in range(1, degree):
        columns.append(cur)
        prev, cur = cur, 2.0 * z * cur - prev
    return np.concatenate(columns, axis=-1)


class ChebCB:
    """Contextual bandit over a grid of arms (Khodak et al., 2024, "ChebCB").

    Each arm keeps a least-squares (minimum-norm) fit of its normalised cost on Chebyshev
    features of the context; the next arm is drawn by inverse-gap weighting (SquareCB): arm
    ``i`` with probability ``1 / (d + eta (yhat_i - yhat_best))``, the predicted best arm with
    the rest, ``eta = 2 t sqrt(d t / (R_t + 1))`` with ``R_t`` the squared prediction errors.

    Parameters
    ----------
    n_arms : int
    low, high : float or ndarray
        Context range (per coordinate).
    degree : int
        Number of Chebyshev polynomials per coordinate.
    """

    def __init__(self, n_arms, low, high, degree):
        self.n_arms = n_arms
        self.low, self.high, self.degree = low, high, degree
        self.gram = None
        self.moments = None
        self.theta = None
        self.rounds = 0
        self.cost_sum = 0.0
        self.squared_error = 0.0

    def _scale(self):
        return max(self.cost_sum / self.rounds - 1.0, 1.0) if self.rounds else 1.0

    def features(self, context):
        """Feature vector of ``context``."""
        phi = chebyshev_features(context, self.low, self.high, self.degree)
        if self.gram is None:
            m = phi.shape[0]
            self.gram = np.zeros((self.n_arms, m, m))
            self.moments = np.zeros((self.n_arms, m))
            self.theta = np.zeros((self.n_arms, m))
        return phi

    def predictions(self, phi):
        """Predicted normalised cost of every arm."""
        return self.theta @ phi / self._scale()

    def probabilities(self, phi):
        """SquareCB sampling distribution at features ``phi``."""
        yhat = self.predictions(phi)
        best = int(np.argmin(yhat))
        t = self.rounds + 1
        eta = 2.0 * t * np.sqrt(self.n_arms * t / (self.squared_error + 1.0))
        p = 1.0 / (self.n_arms + eta * (yhat - yhat[best]))
        p[best] = 0.0
        p[best] = 1.0 - p.sum()
        return p

    def update(self, arm, cost, phi):
        """Add the observation ``cost`` of ``arm`` at features ``phi`` and refit that arm."""
        predicted = self.predictions(phi)[arm]
        self.rounds += 1
        self.cost_sum += cost
        self.squared_error += (predicted - (cost - 1.0) / self._scale()) ** 2
        self.gram[arm] += np.outer(phi, phi)
        self.moments[arm] += phi * (cost - 1.0)
        self.theta[arm] = np.linalg.lstsq(self.gram[arm], self.moments[arm], rcond=1e-10)[0]
