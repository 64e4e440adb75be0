"""SmoothCB: one regression of the log-cost on (context, omega), inverse-gap weighting."""

import numpy as np

from ._chebcb import chebyshev_features

__all__ = ["SmoothCB"]


class SmoothCB:
    """Contextual bandit whose arms share one smooth model of the cost.

    The iterations of SOR-type solvers vary smoothly with omega and with the instance, so
    instead of one regression per arm (:class:`~numsolve.linalg._chebcb.ChebCB`) it fits
    ``log(cost)`` by ridge least squares on the tensor product of Chebyshev features of the
    context and of omega (mapped from the grid's range), and every observation informs every
    arm. The next arm is drawn by inverse-gap weighting on the relative predicted gap
    ``exp(yhat_i - yhat_best) - 1``: arm ``i`` with probability
    ``1 / (d + gamma sqrt(t) gap_i)``, the predicted best arm with the rest.

    Parameters
    ----------
    omegas : ndarray
        The grid.
    low, high : float or ndarray
        Context range (per coordinate).
    degree : int
        Chebyshev polynomials per context coordinate.
    omega_degree : int, default=5
        Chebyshev polynomials in omega.
    gamma : float, default=100.0
        Exploration scale (larger explores less).
    ridge : float, default=1e-3
        Ridge penalty.
    """

    def __init__(self, omegas, low, high, degree, omega_degree=5, gamma=100.0, ridge=1e-3):
        self.omegas = np.asarray(omegas, dtype=float)
        self.low, self.high, self.degree = low, high, degree
        self.gamma, self.ridge = gamma, ridge
        span = (self.omegas.min(), self.omegas.max())
        if span[1] == span[0]:
            span = (span[0] - 1.0, span[0] + 1.0)
        self.omega_features = np.stack([chebyshev_features(w, *span, omega_degree)
                                        for w in self.omegas])
        self.gram = None
        self.moments = None
        self.rounds = 0

    def features(self, context):
        """Feature matrix of shape ``(n_arms, p)`` at ``context``: one row per arm."""
        phi = chebyshev_features(context, self.low, self.high, self.degree)
        rows = (phi[None, :, None] * self.omega_features[:, None, :]).reshape(
            self.omegas.size, -1)
        if self.gram is None:
            p = rows.shape[1]
            self.gram = self.ridge * np.eye(p)
            self.moments = np.zeros(p)
        return rows

    def probabilities(self, rows):
        """Inverse-gap-weighting distribution over the arms at features ``rows``."""
        yhat = rows @ np.linalg.solve(self.gram, self.moments)
        best = int(np.argmin(yhat))
        gap = np.expm1(yhat - yhat[best])
        p = 1.0 / (self.omegas.size + self.gamma * np.sqrt(self.rounds + 1) * gap)
        p[best] = 0.0
        p[best] = 1.0 - p.sum()
        return p

    def update(self, arm, cost, rows):
        """Add the observation ``cost`` of ``arm`` at features ``rows``."""
        phi = rows[arm]
        self.gram += np.outer(phi, phi)
        self.moments += phi * np.log(max(cost, 1.0))
        self.rounds += 1
