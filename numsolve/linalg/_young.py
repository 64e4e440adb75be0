"""Young's model of SOR iteration counts, fitted online from the counts alone."""

import math

import numpy as np

__all__ = ["YoungGrid", "YoungModel", "optimal_omega", "sor_rate", "young_iteration",
           "young_iterations"]

_BELOW, _ABOVE = 0.8, 1.4


def optimal_omega(beta):
    """Young's optimal SOR omega for Jacobi radius ``beta``.

    ``1 + (beta / (1 + sqrt(1 - beta^2)))^2``, equal to ``2 / (1 + sqrt(1 - beta^2))``, where
    ``beta^2`` is the Gauss-Seidel rate.

    Examples
    --------
    >>> from numsolve.linalg._young import optimal_omega
    >>> round(float(optimal_omega(0.9)), 4)
    1.3929
    """
    return 1.0 + (beta / (1.0 + np.sqrt(1.0 - beta * beta))) ** 2


def sor_rate(omega, beta):
    """Young's spectral radius of SOR for Jacobi radius ``beta`` (consistently ordered matrix).

    ``((omega beta + sqrt(omega^2 beta^2 - 4 (omega - 1))) / 2)^2`` below Young's omega,
    ``omega - 1`` at and above it.

    Examples
    --------
    >>> from numsolve.linalg._young import sor_rate
    >>> round(float(sor_rate(1.0, 0.9)), 4), round(float(sor_rate(1.9, 0.9)), 4)
    (0.81, 0.9)
    """
    beta = np.asarray(beta, dtype=float)
    disc = omega * omega * beta * beta - 4.0 * (omega - 1.0)
    root = ((omega * beta + np.sqrt(np.maximum(disc, 0.0))) / 2.0) ** 2
    return np.where(disc > 0, np.maximum(root, omega - 1.0), omega - 1.0)


def young_iterations(omegas, beta, log_below, log_above):
    """Modelled SOR iterations at each of ``omegas`` for a system of Jacobi radius ``beta``.

    ``log_below / -log(rho)`` below Young's omega (``rho`` from :func:`sor_rate`) and
    ``log_above / -log(omega - 1)`` at and above it, where the iteration matrix is far from
    normal and the residual stalls before it falls at the rate ``omega - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linalg._young import young_iterations
    >>> k = young_iterations(np.linspace(1, 1.95, 20), 0.98, 14.7, 25.8)
    >>> float(np.linspace(1, 1.95, 20)[np.argmin(k)])
    1.65
    """
    omegas = np.asarray(omegas, dtype=float)
    best = optimal_omega(beta)
    with np.errstate(divide="ignore"):
        below = log_below / -np.log(sor_rate(omegas, beta))
        above = log_above / -np.log(np.maximum(omegas - 1.0, 0.0))
    return np.where(omegas >= best, above, below)


def young_iteration(omega, beta, log_below, log_above):
    """:func:`young_iterations` at the single omega ``omega``, in scalar arithmetic.

    Equal to ``young_iterations([omega], beta, log_below, log_above)[0]`` bit for bit: every
    step is one rounded IEEE operation, and the logarithms are NumPy's (libm's ``log`` moves
    some of them in their last bit): a twelfth of the time of the array call on a 96-omega
    grid with ``omega`` appended.

    Examples
    --------
    >>> from numsolve.linalg._young import young_iteration
    >>> round(float(young_iteration(1.5, 0.9, 1.0, 1.75)), 4)
    2.5247
    """
    if omega >= optimal_omega(beta):
        return _count(log_above, max(omega - 1.0, 0.0))
    disc = omega * omega * beta * beta - 4.0 * (omega - 1.0)
    half = (omega * beta + math.sqrt(max(disc, 0.0))) / 2.0
    return _count(log_below, max(half * half, omega - 1.0) if disc > 0 else omega - 1.0)


def _count(numerator, rate):
    """``numerator / -log(rate)`` as :func:`young_iterations` divides (infinite or zero at a
    rate of one or zero, without a warning)."""
    if 0.0 < rate < 1.0:
        return numerator / -np.log(rate)
    with np.errstate(divide="ignore"):
        return numerator / -np.log(rate)


class YoungGrid:
    """:func:`young_iterations` on a fixed grid of omegas, for many systems at once.

    The terms of the grid alone (the counts above Young's omega, ``omega^2``, ``omega - 1``)
    are computed once. Bit for bit equal to :func:`young_iterations` row by row. On the
    96-omega grid of :class:`~numsolve.linalg._radius_model.RadiusModel`, against one
    :func:`young_iterations` call on the grid and the omega played: 0.8 times its time for
    one system, 0.07 times a system for 100 at once (a call on the omegas below the
    system's Young omega only: 0.65 times, one system at a time).

    Parameters
    ----------
    omegas : ndarray
        Omegas.
    log_above : float
        The numerator of the counts at and above Young's omega.
    """

    def __init__(self, omegas, log_above):
        self.omegas = np.asarray(omegas, dtype=float)
        self._squares = self.omegas * self.omegas
        self._excess = self.omegas - 1.0
        self._four_excess = 4.0 * self._excess
        with np.errstate(divide="ignore"):
            self._above = log_above / -np.log(np.maximum(self._excess, 0.0))

    def iterations(self, betas, bests, log_below):
        """Modelled iterations at every omega of the grid (columns) for each Jacobi radius of
        ``betas`` (rows), whose Young omegas ``optimal_omega(beta)`` are ``bests``."""
        betas = np.asarray(betas, dtype=float)[:, None]
        disc = self._squares * betas * betas - self._four_excess
        root = ((self.omegas * betas + np.sqrt(np.maximum(disc, 0.0))) / 2.0) ** 2
        rate = np.where(disc > 0, np.maximum(root, self._excess), self._excess)
        with np.errstate(divide="ignore"):
            below = log_below / -np.log(rate)
        return np.where(self.omegas >= np.asarray(bests, dtype=float)[:, None], self._above,
                        below)


class YoungModel:
    """Follow the leader on Young's model of SOR iteration counts, one parameter per system.

    SOR on a consistently ordered matrix (the 5-point Laplacian, shifted or not) converges at
    a rate fixed by omega and the Jacobi spectral radius ``beta`` of the system (Young's
    theory). The model charges ``k = 0.8 log(1/rtol) / -log(rho(omega, beta))`` iterations
    below Young's omega and ``1.4 log(1/rtol) / -log(omega - 1)`` above it (the factors fit
    5-point Laplacians with random right-hand sides: the slowest mode starts small, and above
    Young's omega the non-normal iteration stalls first). Each observed count is inverted
    for that system's ``beta``; a count at or below the modelled count above Young's omega
    only bounds ``beta`` from above and is charged the bound (pessimistic). The next omega
    minimises the modelled total iterations of all systems seen so far over the grid, so
    after one solve the learner is near the right region instead of pulling every arm.

    Parameters
    ----------
    omegas : ndarray
        Candidate omegas.
    rtol : float
        The solver's relative tolerance.
    """

    def __init__(self, omegas, rtol):
        self.omegas = np.asarray(omegas, dtype=float)
        self.log_below = _BELOW * np.log(1.0 / rtol)
        self.log_above = _ABOVE * np.log(1.0 / rtol)
        self.predicted = np.zeros(self.omegas.size)
        self.betas = []

    def choose(self):
        """Index of the grid omega with the least modelled total (1.5's neighbour at first)."""
        if not self.betas:
            return int(np.argmin(np.abs(self.omegas - 1.5)))
        return int(np.argmin(self.predicted))

    def jacobi_radius(self, omega, cost):
        """The ``beta`` for which the model predicts ``cost`` at ``omega`` (an upper bound
        when ``cost`` is no more than the count modelled above Young's omega)."""
        if omega > 1.0 and cost <= self.log_above / -np.log(omega - 1.0):
            return 2.0 * np.sqrt(omega - 1.0) / omega
        rate = np.exp(-self.log_below / cost)
        return min((rate + omega - 1.0) / (omega * np.sqrt(rate)), 1.0 - 1e-12)

    def update(self, arm, cost):
        """Add the system solved at ``omegas[arm]`` in ``cost`` iterations to the model."""
        if cost < 1:
            return
        beta = self.jacobi_radius(float(self.omegas[arm]), float(cost))
        self.betas.append(beta)
        self.predicted += young_iterations(self.omegas, beta, self.log_below, self.log_above)
