"""Young's omega as a function of the context, read from the decay rates of plain-SOR solves."""

import math

import numpy as np

from ._local_fit import local_linear_intercept
from ._radius_model import jacobi_radius
from ._young import optimal_omega

__all__ = ["ContextYoungModel"]

# A phase at omega decaying at ``rate`` reveals its system's Young omega only from below: there
# the Young omega read from the rate exceeds omega (exactly, for a consistently ordered matrix),
# while at and above it the rate is about ``omega - 1`` and the reading lands on omega itself
# (a little above, where the residual stalls). A reading counts only this far above omega.
_BELOW_GAP = 0.01
# Readings kept (the most recent) and the nearest ones, in scaled context, each prediction uses.
_MEMORY = 512
_NEIGHBOURS = 10
_READY = 5
# Ridge on the local slope: a neighbourhood of one context (repeated readings) has none.
_SLOPE_RIDGE = 1e-3


class ContextYoungModel:
    """Local regression of each system's Young omega on its context.

    Every reading is a context and the Young omega of its system, which a plain-SOR phase at
    omega below that Young omega gives exactly (:meth:`observe`). A phase at or above it only
    bounds it by omega; that bound is kept where the phase was a cut-short trial played
    below the prediction on purpose (:meth:`observe` with ``bound=True``), so that a
    prediction too high comes down. The prediction at a context is the intercept of a
    linear fit to the nearest readings in contexts scaled to the range seen.

    Parameters
    ----------
    low, high : float
        Range of omega.
    """

    def __init__(self, low, high):
        self.low, self.high = low, high
        # ring buffers of the latest readings (filled from the start, then overwritten)
        self.contexts = None
        self.values = np.empty(_MEMORY)
        self.count = 0
        self._nearest = np.empty(_NEIGHBOURS, dtype=np.intp)
        self._nearest_values = np.empty(_NEIGHBOURS)
        self._work = None

    def reading(self, omega, slope):
        """The Young omega that a phase at ``omega`` with log-residual slope ``slope`` shows,
        or ``None`` where it only bounds it (or the slope is unusable)."""
        if not math.isfinite(slope) or slope >= 0:
            return None
        rate = math.exp(slope)
        if rate <= omega - 1.0:
            return None
        young = float(optimal_omega(min(jacobi_radius(omega, rate), 1.0 - 1e-12)))
        return young if young >= omega + _BELOW_GAP else None

    def observe(self, context, value):
        """Remember that the system at ``context`` has Young omega ``value`` (or at most)."""
        point = np.atleast_1d(np.asarray(context, dtype=float)).ravel()
        if self.contexts is None:
            self.contexts = np.empty((_MEMORY, point.size))
        slot = self.count % _MEMORY
        self.contexts[slot] = point
        self.values[slot] = value
        self.count += 1

    def ready(self):
        """Whether there are readings enough to predict from."""
        return self.count >= _READY

    def predict(self, context, low, high):
        """The modelled Young omega at ``context``, contexts scaled by the range ``[low,
        high]`` seen so far (one compiled call: it runs once per system)."""
        here = np.atleast_1d(np.asarray(context, dtype=float)).ravel()
        span = np.ascontiguousarray(np.where(high > low, high - low, 1.0), dtype=float)
        if self._work is None:
            size = here.size + 1
            self._work = np.empty(size * (size + 2) + _NEIGHBOURS)
        intercept, count = local_linear_intercept(
            self.contexts, self.values, min(self.count, _MEMORY), here, span, _NEIGHBOURS,
            _SLOPE_RIDGE, self._nearest_values, self._nearest, self._work)
        values = self._nearest_values[:count]
        # no extrapolation beyond the neighbours' values (the fit is local)
        return float(np.clip(intercept, max(values.min(), self.low),
                             min(values.max(), self.high)))
