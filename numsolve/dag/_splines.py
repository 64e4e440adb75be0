"""Cubic B-spline columns of one variable, with knots at its quantiles and linear beyond them.

The basis is scikit-learn's ``SplineTransformer(knots=..., extrapolation="linear")`` (the same
extra knots outside the range, the same linear continuation), evaluated with vectorised de Boor
recursions: the transformer's validation costs about a millisecond per column, which at
``d = 100`` was most of the time of the additive score's setup.
"""

import numpy as np

__all__ = ["SplineBasis"]

DEGREE = 3


class SplineBasis:
    """The B-spline columns of a variable, the last dropped (the columns sum to one, and the
    constant belongs to the intercept).

    Parameters
    ----------
    knots : ndarray of shape (m,), increasing, m >= 2
        The inner knots; ``degree`` more on each side, spaced as the first and last inner
        intervals, complete the knot vector.
    degree : int, default=3
    """

    def __init__(self, knots, degree=DEGREE):
        knots = np.asarray(knots, dtype=np.float64)
        low, high = knots[1] - knots[0], knots[-1] - knots[-2]
        self.degree = degree
        self.t = np.concatenate([knots[0] - low * np.arange(degree, 0, -1), knots,
                                 knots[-1] + high * np.arange(1, degree + 1)])
        self.n_splines = len(self.t) - degree - 1
        self.low, self.high = knots[0], knots[-1]
        # the slopes at the end knots continue the basis outside (scikit-learn's linear
        # extrapolation): clipping, then adding slope times the distance beyond, is exactly that
        self.slope_low, self.slope_high = _slopes(self.t, degree, np.array([self.low, self.high]))

    @classmethod
    def at_quantiles(cls, x, n_knots):
        """Knots at ``n_knots`` quantiles of ``x``, repeated values merged; None for a constant
        ``x``."""
        knots = np.unique(np.quantile(x, np.linspace(0, 1, n_knots)))
        return cls(knots) if knots.size >= 2 else None

    def transform(self, x):
        """The columns at ``x`` (shape (n,)): an array of shape (n, n_splines - 1)."""
        x = np.asarray(x, dtype=np.float64)
        inside = np.clip(x, self.low, self.high)
        out = _basis(self.t, self.degree, inside)
        beyond = (x - inside)[:, None]
        out += np.minimum(beyond, 0.0) * self.slope_low + np.maximum(beyond, 0.0) * self.slope_high
        return out[:, :-1]


def _basis(t, k, x):
    """All B-splines of degree ``k`` on the knots ``t`` at the points ``x``, shape
    (n, len(t) - k - 1): Cox-de Boor recursions for the ``k + 1`` nonzero on each interval."""
    # interval t[i] <= x < t[i + 1], the last inner interval closed on the right
    i = np.clip(np.searchsorted(t, x, side="right") - 1, k, len(t) - k - 2)
    values = np.zeros((len(x), k + 1))
    values[:, 0] = 1.0
    left = np.empty((len(x), k + 1))
    right = np.empty((len(x), k + 1))
    for j in range(1, k + 1):
        left[:, j] = x - t[i + 1 - j]
        right[:, j] = t[i + j] - x
        saved = np.zeros(len(x))
        for r in range(j):
            share = values[:, r] / (right[:, r + 1] + left[:, j - r])
            values[:, r] = saved + right[:, r + 1] * share
            saved = left[:, j - r] * share
        values[:, j] = saved
    out = np.zeros((len(x), len(t) - k - 1))
    out[np.arange(len(x))[:, None], (i - k)[:, None] + np.arange(k + 1)] = values
    return out


def _slopes(t, k, x):
    """Derivatives of the degree-``k`` B-splines at ``x``, from those of degree ``k - 1``."""
    lower = _basis(t, k - 1, x)
    n_splines = len(t) - k - 1
    first = lower[:, :n_splines] / (t[k:k + n_splines] - t[:n_splines])
    second = lower[:, 1:n_splines + 1] / (t[k + 1:k + 1 + n_splines] - t[1:n_splines + 1])
    return k * (first - second)
