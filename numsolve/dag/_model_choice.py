"""``score="auto"``: the linear-Gaussian search, then the additive one only where the data reject
linearity.

The linear-Gaussian search (extended BIC, compiled) runs first. Its graph then fixes, per node,
a parent set on which two models are compared: the linear regression on the parents, and the
additive one, a cubic spline of each parent (CAM's model, :func:`numsolve.dag.additive_score`),
which contains the linear one. Each model's criterion is ``sum_j (n / 2) log(RSS_j / n)`` plus
BIC's ``(log n) / 2`` per coefficient (the intercepts and noise variances, one per node in both,
cancel), and the splines of a node's parents are charged at least the additive score's
effect-size floor, ``-(n / 2) log(1 - min_explained)``: the likelihood gain of removing the share
``min_explained`` of the node's residual variance. When the additive criterion is the lower, the
linear fit misses structure of a size that matters, and the additive search runs from the
linear order; the linear result is kept otherwise. Both regressions are invariant to affine
maps of any column (quantile knots move with the column), so the choice does not depend on the
units.

Why the floor: with skewed noise, a linear SEM's edge fitted against its causal direction has a
bent conditional mean. BIC alone detects that bend once ``n`` is large, since the gain grows as
``n`` and BIC's charge as ``log n``: standardised linear SEMs with exponential noise gave 10 to 44
times BIC's charge at ``n = 20,000`` to ``100,000``; the floor grows as ``n`` too.

Measured (gain of the splines over their charge; the additive model is chosen above 1): Sachs
flow cytometry raw and log 1.93 and 2.09 (the standardised log data are the log data); planted
additive SEMs (n = 300 to 2,000) 5.0 to 5.8; the seven standardised linear SEMs of
``benchmarks/bench_topo.py`` with d <= 50 (ER2, ER4, SF4; Gaussian, exponential and Gumbel
noise; n = 1000) 0.08 to 0.28; linear SEMs with exponential or Gumbel noise at n = 20,000 and
100,000 0.11 to 0.51.

Limits: the test sees the parents the linear search found, so a parent whose effect is
uncorrelated with it (a U shape) counts only through the others; and it charges the floor of
every node with parents, so sparse graphs whose bends are mild on average stay linear. On
sparse additive SEMs with sine, tanh, square and absolute-value bends (``bench_topo.py``'s
``additive`` cases; ER1 and ER2, d 10 to 50, n = 1000) the splines reached 0.99 and 1.00 of
their charge on two of ten (ER1, d = 10 and 20, seed 0: linear kept, SHD 11 and 13 where
``score="additive"`` finds 0) and 1.46 to 3.53 on the others (BIC alone: 1.75 to 4.89).
"""

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from numsolve.dag._additive import MIN_EXPLAINED, N_KNOTS, RSS_FLOOR, additive_result, spline_blocks
from numsolve.dag._gaussian import gaussian_result

__all__ = ["AUTO", "LINEAR", "ADDITIVE", "auto_result", "model_scores"]

AUTO = "auto"
# the scores auto chooses between (the names of topo_swaps' scores)
LINEAR = "bic"
ADDITIVE = "additive"


def model_scores(X, parents, min_explained=MIN_EXPLAINED, n_knots=N_KNOTS):
    """The criteria of the linear-Gaussian and of the additive SEM of ``X`` with these parent sets
    (module docstring); the lower is the model ``score="auto"`` chooses.

    Parameters
    ----------
    X : ndarray of shape (n_samples, d), float64
    parents : list of sequences of int
        Each node's parents.
    min_explained : float in [0, 1), default=0.1
        The effect-size floor of each node's splines (0: BIC alone).
    n_knots : int, default=4
        Knots of each parent's spline (see :func:`numsolve.dag.additive_score`).

    Returns
    -------
    dict
        ``"bic"``: ``sum_j (n / 2) log(RSS_j / n) + (log n) / 2 |pa(j)|`` of the linear
        regressions (the units of :func:`numsolve.dag.gaussian_score`); ``"additive"``: the same
        of the spline regressions, plus, for each node with parents, the larger of BIC's charge
        for the extra coefficients and the effect-size floor.
    """
    n = X.shape[0]
    Xc = X - X.mean(axis=0)
    # only the parents' splines are needed: no Gram matrix of every block (at d = 1000 it would
    # cost more than the linear search)
    used = sorted({int(p) for P in parents for p in P})
    _, blocks = spline_blocks(X[:, used], n_knots)
    block_of = dict(zip(used, blocks))
    half_log_n = np.log(n) / 2
    floor = -n / 2 * np.log1p(-min_explained)
    linear = additive = 0.0
    for v, P in enumerate(parents):
        y = Xc[:, v]
        if not len(P):
            alone = _half_n_log_rss(Xc[:, []], y)
            linear, additive = linear + alone, additive + alone
            continue
        splines = np.hstack([block_of[int(p)] for p in P])
        linear += _half_n_log_rss(Xc[:, list(P)], y) + half_log_n * len(P)
        additive += (_half_n_log_rss(splines, y) + half_log_n * len(P)
                     + max(half_log_n * (splines.shape[1] - len(P)), floor))
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
    from its order when the additive model's criterion on the linear graph's parents is lower.
    Extras as the chosen score's, plus ``loss`` (the score chosen) and ``model_scores``
    (:func:`model_scores`)."""
    linear = gaussian_result(X, dtype, starts, edge_penalty, max_iter, n_jobs, verbose)
    parents = [np.flatnonzero(column) for column in np.asarray(linear.x).T]
    scores = model_scores(X, parents, min_explained)
    chosen = ADDITIVE if scores[ADDITIVE] < scores[LINEAR] else LINEAR
    result = linear
    if chosen == ADDITIVE:
        result = additive_result(X, dtype, [linear.extras["order"]], min_explained, max_iter, verbose)
    result.extras.update(loss=chosen, model_scores=scores)
    return result
