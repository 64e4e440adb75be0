"""Tsallis-INF over a finite grid of arms, with a normaliser that cannot overshoot."""

import numpy as np

__all__ = ["TsallisINF", "tsallis_probabilities"]


def tsallis_probabilities(losses, eta, tol=1e-10, max_steps=100):
    """Tsallis-INF (alpha = 1/2) sampling probabilities for cumulative ``losses``.

    Finds ``x`` with ``sum_i 4 (eta (L_i - x))^{-2} = 1`` by Newton's method started at
    ``min(L) - 2/eta``, where the sum is >= 1; the sum is convex and increasing in ``x`` below
    ``min(L)``, so the iterates decrease monotonically to the root and never overshoot (the
    reference implementation restarted at ``x = -1`` and diverged after a few hundred rounds).

    Parameters
    ----------
    losses : ndarray of shape (d,)
        Normalised cumulative loss estimates.
    eta : float
        Learning rate.

    Returns
    -------
    ndarray of shape (d,)
        Probabilities summing to one.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linalg._tsallis import tsallis_probabilities
    >>> p = tsallis_probabilities(np.array([0.0, 5.0, 50.0]), eta=1.0)
    >>> bool(abs(p.sum() - 1) < 1e-12 and p[0] > p[1] > p[2])
    True
    """
    x = losses.min() - 2.0 / eta
    for _ in range(max_steps):
        gap = eta * (losses - x)
        p = 4.0 / gap**2
        f = p.sum() - 1.0
        if abs(f) < tol:
            break
        x -= f / (8.0 * eta / gap**3).sum()
    return p / p.sum()


class TsallisINF:
    """Tsallis-INF bandit state: importance-weighted cumulative costs per arm.

    Costs are normalised by ``mean(costs so far) - 1`` (the reference code's scale); the
    learning rate is ``2 / sqrt(t)``.

    Parameters
    ----------
    n_arms : int
    """

    def __init__(self, n_arms):
        self.losses = np.zeros(n_arms)
        self.rounds = 0
        self.cost_sum = 0.0

    def probabilities(self):
        """Sampling distribution for the next round."""
        scale = max(self.cost_sum / self.rounds - 1.0, 1.0) if self.rounds else 1.0
        eta = 2.0 / np.sqrt(self.rounds + 1)
        return tsallis_probabilities(self.losses / scale, eta)

    def update(self, arm, cost, probability):
        """Charge ``cost`` to ``arm``, played with ``probability``."""
        self.losses[arm] += (cost - 1.0) / probability
        self.rounds += 1
        self.cost_sum += cost
