"""Gap-safe screening (Fercoq, Gramfort & Salmon 2015; Ndiaye, Fercoq, Gramfort & Salmon 2017).

The dual of ``min f(XW + b) + g(W)`` with ``f = sum_i a_i phi(z_i, y_i)`` is
``D(theta) = -sum_i a_i phi*(theta_i / a_i) - g*(-X' theta)``. When ``phi`` has an
``L``-Lipschitz gradient (``L`` is the datafit's ``bound``: 1 least squares, 1/4 logistic,
1/2 softmax, Böhning), ``phi*`` is ``1/L``-strongly convex, so ``D`` is strongly concave in the
norm ``||u||^2 = sum_i ||u_i||^2 / (a_i L)``. For any feasible ``theta`` with duality gap
``gap = P(W) - D(theta)`` this gives ``||theta - theta*|| <= sqrt(2 gap)`` and, by
Cauchy-Schwarz in that norm, for every feature ``j`` and class ``k``::

    |x_j'(theta_k - theta*_k)| <= sqrt(L sum_i a_i x_ij^2) sqrt(2 gap) = sqrt(2 gap L_j),

with ``L_j`` the coordinate Lipschitz constant the engines already hold. (For least squares
with ``a_i = 1/n`` this is celer's and scikit-learn's ``||x_j|| sqrt(2 gap / n)`` in the
penalty's units; for the logistic loss, ``||x_j|| sqrt(gap / (2 n))``.) At a solution
``-x_j' theta*_k`` lies in ``l1 sign(w*_jk) + l2 w*_jk`` (plus the normal cone of ``w >= 0``
for the non-negative penalties), so ``|x_j' theta*_k| < l1`` (``-x_j' theta*_k < l1`` with
the sign constraint) forces ``w*_jk = 0``. The ridge part only enters ``g*``, which keeps
``D`` concave: the test holds unchanged for the elastic net. An intercept adds the linear
constraint ``sum_i theta_i = 0`` to the dual, which keeps the argument valid.
"""

import numpy as np

__all__ = ["gap_safe_screen"]

# Round-off allowance: the gap is a difference of two objective-sized numbers and the
# correlations are accumulated sums, so both get a relative margin before a feature is
# declared provably zero.
_GAP_SLACK = 1e-12
_LEVEL_SLACK = 1e-9


def gap_safe_screen(penalty, correlation, gap, primal, lips):
    """Features whose coefficients are zero at every solution (gap-safe sphere test).

    Parameters
    ----------
    penalty : penalty object
        Its ``l1`` level and ``positive`` flag set the test; without an L1 part nothing is
        screened.
    correlation : ndarray of shape (m, K)
        ``X' theta`` for a dual-feasible ``theta`` (:func:`._objective.dual_correlation`).
    gap : float
        Duality gap ``P(W) - D(theta)``.
    primal : float
        ``P(W)``, the scale of the round-off allowance added to ``gap``.
    lips : ndarray of shape (m,)
        Coordinate Lipschitz constants ``bound * sum_i a_i x_ij^2``.

    Returns
    -------
    ndarray of bool, shape (m,)
        True where every class's coefficient of the feature is provably zero.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model import L1
    >>> from numsolve.linear_model._screening import gap_safe_screen
    >>> corr = np.array([[0.1], [0.99], [-1.0]])
    >>> gap_safe_screen(L1(1.0), corr, 1e-4, 1.0, np.ones(3))
    array([ True, False, False])
    """
    if not penalty.l1 > 0 or not np.isfinite(gap):
        return np.zeros(correlation.shape[0], dtype=bool)
    radius = np.sqrt(2.0 * (gap + _GAP_SLACK * abs(primal)) * lips)
    level = -correlation if penalty.positive else np.abs(correlation)
    return np.all(level + radius[:, None] < penalty.l1 * (1.0 - _LEVEL_SLACK), axis=1)
