"""Separable penalties ``g(w) = l1 ||w||_1 + (l2/2) ||w||^2 (+ indicator of w >= 0)``.

Every penalty numsolve's BCD handles is one point of this three-parameter family, which is
what the compiled kernels receive (``l1``, ``l2``, ``positive``):

=================  =====================  ==========  ==========
class              l1                     l2          positive
=================  =====================  ==========  ==========
NoPenalty          0                      0           no
L2(alpha)          0                      alpha       no
L1(alpha)          alpha                  0           no
NonNegL1(alpha)    alpha                  0           yes
L1PlusL2(a, r)     a r                    a (1 - r)   no
=================  =====================  ==========  ==========

Each penalty knows its value, prox, the distance of ``-grad`` to its subdifferential (the
KKT violation) and its convex conjugate (for the duality gap), in any Array API namespace.
"""

from numbers import Real

__all__ = ["L1", "L1PlusL2", "L2", "NoPenalty", "NonNegL1"]


class _Penalty:
    """The family; subclasses only set ``l1``, ``l2`` and ``positive``."""

    l1 = 0.0
    l2 = 0.0
    positive = False

    @property
    def smooth(self):
        """True when the penalty is differentiable (no L1 part, no sign constraint)."""
        return self.l1 == 0 and not self.positive

    @property
    def has_dual(self):
        """True when the duality gap is finite for some dual point (l1 > 0 or l2 > 0)."""
        return self.l1 > 0 or self.l2 > 0

    def value(self, W, xp):
        """``g(W)`` (``inf`` never occurs: solvers keep iterates feasible)."""
        return self.l1 * xp.sum(xp.abs(W)) + 0.5 * self.l2 * xp.sum(W * W)

    def prox(self, V, step, xp):
        """``argmin_w g(w) step + (1/2)||w - V||^2`` elementwise (``step`` may be an array)."""
        shrunk = xp.sign(V) * xp.clip(xp.abs(V) - step * self.l1, 0.0, None)
        if self.positive:
            shrunk = xp.clip(shrunk, 0.0, None)
        return shrunk / (1.0 + step * self.l2)

    def prox_l1(self, V, step, xp):
        """Prox of the non-smooth part only (``l1`` and the sign constraint)."""
        out = xp.sign(V) * xp.clip(xp.abs(V) - step * self.l1, 0.0, None)
        return xp.clip(out, 0.0, None) if self.positive else out

    def subdiff_distance(self, W, grad, xp):
        """Distance of ``-grad`` to ``partial g(W)``, elementwise (0 at a KKT point)."""
        h = grad + self.l2 * W
        at_zero = xp.clip(xp.abs(h) - self.l1, 0.0, None)
        if self.positive:
            at_zero = xp.clip(-h - self.l1, 0.0, None)
        off_zero = xp.abs(h + self.l1 * xp.sign(W))
        return xp.where(W == 0, at_zero, off_zero)

    def min_norm_subgradient(self, W, grad, xp):
        """The element of ``grad + partial g_ns(W)`` of least magnitude (g_ns: L1 / sign part),
        elementwise; ``grad`` is the smooth gradient (ridge term included)."""
        off_zero = grad + self.l1 * xp.sign(W)
        if self.positive:
            at_zero = xp.clip(grad + self.l1, None, 0.0)
        else:
            at_zero = xp.sign(grad) * xp.clip(xp.abs(grad) - self.l1, 0.0, None)
        return xp.where(W == 0, at_zero, off_zero)

    def dual_scale(self, V, xp):
        """Factor ``s <= 1`` making ``s V`` dual-feasible (``g*(s V) < inf``)."""
        if self.l2 > 0 or V.shape[0] == 0:
            return 1.0
        top = xp.max(V) if self.positive else xp.max(xp.abs(V))
        top = float(top)
        return 1.0 if top <= self.l1 else self.l1 / top

    def conjugate(self, V, xp):
        """``g*(V)`` for a dual-feasible ``V`` (see :meth:`dual_scale`)."""
        if self.l2 == 0:
            return 0.0
        excess = (xp.clip(V - self.l1, 0.0, None) if self.positive
                  else xp.clip(xp.abs(V) - self.l1, 0.0, None))
        return xp.sum(excess * excess) / (2 * self.l2)

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1:g}, l2={self.l2:g})"


def _alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not alpha >= 0:
        raise ValueError(f"alpha must be a non-negative number, got {alpha!r}")
    return float(alpha)


class NoPenalty(_Penalty):
    """No penalty: plain (weighted) empirical risk minimisation.

    Examples
    --------
    >>> from numsolve.linear_model import NoPenalty
    >>> NoPenalty().smooth
    True
    """


class L2(_Penalty):
    """Ridge penalty ``(alpha/2) ||w||^2``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model import L2
    >>> float(L2(2.0).value(np.array([1.0, 1.0]), np))
    2.0
    """

    def __init__(self, alpha):
        self.alpha = _alpha(alpha)
        self.l2 = self.alpha


class L1(_Penalty):
    """Lasso penalty ``alpha ||w||_1``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model import L1
    >>> L1(1.0).prox(np.array([3.0, -0.5]), 1.0, np)
    array([ 2., -0.])
    """

    def __init__(self, alpha):
        self.alpha = _alpha(alpha)
        self.l1 = self.alpha


class NonNegL1(_Penalty):
    """``alpha sum(w)`` with ``w >= 0`` (the paper's non-negative L1 problem).

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model import NonNegL1
    >>> NonNegL1(1.0).prox(np.array([3.0, -2.0]), 1.0, np)
    array([2., 0.])
    """

    positive = True

    def __init__(self, alpha):
        self.alpha = _alpha(alpha)
        self.l1 = self.alpha


class L1PlusL2(_Penalty):
    """``alpha (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2)``, scikit-learn's parametrisation
    (``positive=True`` adds the constraint ``w >= 0``).

    Examples
    --------
    >>> from numsolve.linear_model import L1PlusL2
    >>> pen = L1PlusL2(1.0, l1_ratio=0.25)
    >>> (pen.l1, pen.l2)
    (0.25, 0.75)
    """

    def __init__(self, alpha, l1_ratio=0.5, positive=False):
        self.alpha = _alpha(alpha)
        self.positive = bool(positive)
        if isinstance(l1_ratio, bool) or not isinstance(l1_ratio, Real) or not 0 <= l1_ratio <= 1:
            raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio!r}")
        self.l1_ratio = float(l1_ratio)
        self.l1 = self.alpha * self.l1_ratio
        self.l2 = self.alpha * (1.0 - self.l1_ratio)
