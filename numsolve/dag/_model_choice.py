"""``score="auto"``: the linear-Gaussian search, then the additive one only where the data reject
linearity.

The linear-Gaussian search (extended BIC, compiled) runs first. Its graph then fixes, per node,
a parent set on which two models are compared by Schwarz's criterion (BIC): the linear
regression on the parents, and the additive one, a cubic spline of each parent (CAM's model,
:func:`numsolve.dag.additive_score`), which contains the linear one. Each model's BIC is
``sum_j (n / 2) log(RSS_j / n) + (log n) / 2`` per coefficient (the intercepts and noise variances,
one per node in both, cancel). When the additive BIC is the lower, the linear fit missed
structure worth its extra coefficients, and the additive search runs from the linear order; the
linear result is kept otherwise. Both regressions are invariant to affine maps of any column
(quantile knots move with the column), so the choice does not depend on the units.

Measured (the ratio of the log-likelihood gain of the splines to their BIC charge; the additive
model is chosen above 1): Sachs flow cytometry raw, log and standardised log 12.0, 12.8, 12.8;
a planted nonlinear additive SEM 35; nine standardised linear SEMs of ``benchmarks/bench_topo.py``
(ER2, ER4, SF4; d 20 to 100; Gaussian, exponential and Gumbel noise; n = 1000) 0.12 to 0.30, the
largest with skewed noise, where a reversed edge's conditional mean bends. Under a linear SEM
with Gaussian noise the gain is a chi-square with as many degrees of freedom as extra
coefficients, far below their charge of ``log n`` each (in ``-2 log L`` units); with skewed
noise it grows with ``n`` while the charge grows as ``log n``, so on very large samples of a
linear non-Gaussian SEM the additive model may be chosen.
"""

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from numsolve.dag._additive import RSS_FLOOR, N_KNOTS, additive_result, spline_blocks
from numsolve.dag._gaussian import gaussian_result

__all__ = ["AUTO", "LINEAR", "ADDITIVE", "auto_result", "model_bics"]

AUTO = "auto"
# the scores auto chooses between (the names of topo_swaps' scores)
LINEAR = "bic"
ADDITIVE = "additive"


def model_bics(X, parents, n_knots=N_KNOTS):
    """BIC of the linear-Gaussian and of the additive SEM of ``X`` with these parent sets.

    Parameters
    ----------
    X : ndarray of shape (n_samples, d), float64
    parents : list of sequences of int
        Each node's parents.
    n_knots : int, default=4
        Knots of each parent's spline (see :func:`numsolve.dag.additive_score`).

    Returns
    -------
    dict
        ``"bic"`` and ``"additive"``: ``sum_j (n / 2) log(RSS_j / n) + (log n) / 2`` per
        coefficient (the units of :func:`numsolve.dag.gaussian_score`).
    """
    n = X.shape[0]
    Xc = X - X.mean(axis=0)
    # only the parents' splines are needed: no Gram matrix of every block (at d = 1000 it would
    # cost more than the linear search)
    used = sorted({int(p) for P in parents for p in P})
    _, blocks = spline_blocks(X[:, used], n_knots)
    block_of = dict(zip(used, blocks))
    linear = additive = 0.0
    for v, P in enumerate(parents):
        y = Xc[:, v]
        splines = np.hstack([block_of[int(p)] for p in P]) if len(P) else np.zeros((n, 0))
        linear += _half_n_log_rss(Xc[:, list(P)], y) + np.log(n) / 2 * len(P)
        additive += _half_n_log_rss(splines, y) + np.log(n) / 2 * splines.shape[1]
    return {LINEAR: float(linear), ADDITIVE: float(additive)}


def _half_n_log_rss(Z, y):
    """``(n / 2) log(RSS / n)`` of the least-squares fit of centred ``y`` on centred ``Z``."""
    n = len(y)
    total = y @ y
    rss = total
    if Z.shape[1]:
        # normal equations on unit-norm columns (a Cholesky solve, several times cheaper than
        # an SVD here); least squares proper where they are singular or lose the digits
        norms = np.sqrt(np.einsum("ij,ij->j", Z, Z))
        Zs = Z / np.where(norms > 0, norms, 1.0)
        b = Zs.T @ y
        try:
            rss = total - b @ cho_solve(cho_factor(Zs.T @ Zs), b)
        except np.linalg.LinAlgError:
            rss = -1.0
        if not 0 <= rss <= total:
            residual = y - Zs @ np.linalg.lstsq(Zs, y, rcond=None)[0]
            rss = residual @ residual
    # floored as the additive score's regressions are: an exact fit would give -inf
    return n / 2 * np.log(max(rss, RSS_FLOOR * total) / n)


def auto_result(X, dtype, starts, edge_penalty, min_explained, max_iter, n_jobs, verbose):
    """``topo_swaps`` for ``score='auto'``: the linear-Gaussian result, or the additive search's
    from its order when the additive model's BIC on the linear graph's parents is lower. Extras
    as the chosen score's, plus ``loss`` (the score chosen) and ``model_bic``
    (:func:`model_bics`)."""
    linear = gaussian_result(X, dtype, starts, edge_penalty, max_iter, n_jobs, verbose)
    parents = [np.flatnonzero(column) for column in np.asarray(linear.x).T]
    bics = model_bics(X, parents)
    chosen = ADDITIVE if bics[ADDITIVE] < bics[LINEAR] else LINEAR
    result = linear
    if chosen == ADDITIVE:
        result = additive_result(X, dtype, [linear.extras["order"]], min_explained, max_iter, verbose)
    result.extras.update(loss=chosen, model_bic=bics)
    return result
