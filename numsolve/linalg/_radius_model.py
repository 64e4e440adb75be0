"""Young's model of the best omega, fed only by solves whose decay rate can be trusted."""

import math

import numpy as np

from ._young import YoungGrid, optimal_omega, young_iteration

__all__ = ["RadiusModel", "jacobi_radius"]

# A phase shows its asymptotic rate only when it is long and its rate has settled: at least
# this many iterations (most heat steps on pyamg's meshes, 20-50 iterations at their best
# omega, still decay at transient rates), and the rate of its last quarter within this
# relative distance of the rate of its second half.
MIN_ITERATIONS = 40
MAX_DRIFT = 0.05
# Below Young's omega the rate exceeds omega - 1 and reveals the Jacobi radius; a rate within
# this fraction above omega - 1 may come from at or above the optimum (the meshes' rates
# there are slower than the theory's omega - 1), which it only bounds.
_AT_OPTIMUM = 0.3
# Iterations above Young's omega over those of the model at omega - 1's rate: pyamg's meshes
# decay more slowly there than the theory says, and stalls before that rate sets in.
_ABOVE = 1.75
_FINE_OMEGAS = 96
_MEMORY = 100


def jacobi_radius(omega, rate):
    """The Jacobi radius ``mu`` for which Young's SOR rate at ``omega`` (below Young's omega)
    is ``rate``: ``(rate + omega - 1) / (omega sqrt(rate))``, Young's relation
    ``(rate + omega - 1)^2 = rate omega^2 mu^2`` solved for ``mu``.

    Examples
    --------
    >>> from numsolve.linalg._radius_model import jacobi_radius
    >>> round(float(jacobi_radius(1.0, 0.81)), 4)
    0.9
    """
    return (rate + omega - 1.0) / (omega * np.sqrt(rate))


class RadiusModel:
    """Where Young's model puts the best fixed omega for the systems seen so far.

    Each trusted phase (plain SOR at ``omega``, decaying at ``rate`` per iteration) gives the
    system's Jacobi radius (:func:`jacobi_radius`), hence its modelled
    iterations at every omega (scaled to the count observed). A rate near ``omega - 1`` comes
    from at or above the system's Young omega, which it only bounds: such a system counts as
    one whose best omega is ``omega`` (reading only the others would pull the centre up). The
    centre is the omega with the least modelled total over the recent systems, so the costly
    systems weigh most. The systems' modelled counts are computed when the centre is asked
    for, those of all systems observed since in one evaluation (on the paper's task 4,700
    systems in 800 evaluations, half of them of one system: a quarter of the time of
    :meth:`observe` evaluating each system at once).

    Parameters
    ----------
    low, high : float
        Range of omega.
    """

    def __init__(self, low, high):
        self.grid = np.linspace(low, high, _FINE_OMEGAS)
        self._young = YoungGrid(self.grid, _ABOVE)
        self._rows = []
        # systems observed since the centre was last asked for: (Jacobi radius, its Young
        # omega, scale, bound); their rows are modelled together when it is
        self._pending = []
        self.last_bounded = False
        self._total = np.zeros(_FINE_OMEGAS)
        self._centre = None

    @staticmethod
    def trusted(rate, tail_rate, length):
        """Whether a phase of ``length`` iterations with log-residual slopes ``rate`` (second
        half) and ``tail_rate`` (last quarter) decays at its asymptotic rate."""
        return (length >= MIN_ITERATIONS and math.isfinite(rate) and rate < 0
                and math.isfinite(tail_rate) and abs(tail_rate / rate - 1.0) <= MAX_DRIFT)

    def observe(self, omega, slope, n_iter):
        """Add the system that decayed at log-slope ``slope`` (negative) at ``omega`` and
        cost ``n_iter``."""
        rate = float(np.exp(slope))
        self.last_bounded = rate <= (omega - 1.0) * (1.0 + _AT_OPTIMUM)
        if self.last_bounded:
            # at or above its Young omega a solve only bounds the system's best omega from
            # above; counting it as a system whose best omega is this one keeps the centre
            # from drifting up with the systems that can be read
            mu = 2.0 * np.sqrt(omega - 1.0) / omega
        else:
            mu = min(jacobi_radius(omega, rate), 1.0 - 1e-12)
        at_played = young_iteration(omega, mu, 1.0, _ABOVE)
        if not (math.isfinite(at_played) and at_played > 0):
            return
        self._pending.append((mu, optimal_omega(mu), n_iter / at_played,
                              omega if self.last_bounded else None))
        if len(self._pending) >= _MEMORY:
            self._settle()

    def _settle(self):
        """Model the pending systems' rows in one evaluation and add them, one after the
        other, to the remembered ones (the same sums as one at a time)."""
        if not self._pending:
            return
        radii, bests, scales, bounds = zip(*self._pending)
        self._pending = []
        rows = self._young.iterations(radii, bests, 1.0) * np.array(scales)[:, None]
        for row, bound in zip(rows, bounds):
            self._rows.append((row, bound))
            self._total += row
            if len(self._rows) > _MEMORY:
                self._total -= self._rows.pop(0)[0]
        self._centre = float(self.grid[np.argmin(self._total)])

    @property
    def rows(self):
        """The remembered systems: ``(modelled iterations on the grid, bound)``, the bound
        being the omega played for a system that only bounded its best omega, else ``None``."""
        self._settle()
        return self._rows

    def known(self):
        """Whether the model has a centre (:meth:`centre` is not ``None``)."""
        return bool(self._pending or self._rows)

    def only_bounds(self):
        """Whether every system remembered only bounded its best omega from above."""
        return all(bound is not None for _, bound in self.rows)

    def drop_bounds(self, winner, loser):
        """Forget the systems that only bounded their best omega by one beyond ``winner`` on
        the side of ``loser``, which ``winner`` has since beaten on one system: a loose bound
        (a lower winner) or a misread one (a higher winner: those systems were played below
        their Young omega, at a rate only near ``omega - 1``)."""
        self._rows = [(row, bound) for row, bound in self.rows
                      if bound is None or (bound - winner) * (loser - winner) <= 0]
        self._total = sum((row for row, _ in self._rows), np.zeros_like(self.grid))
        self._centre = float(self.grid[np.argmin(self._total)]) if self._rows else None

    def centre(self):
        """The modelled best fixed omega, or ``None`` before any radius is known."""
        self._settle()
        return self._centre
