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

from numsolve.dag._additive import N_KNOTS, BlockGram, additive_result
from numsolve.dag._gaussian import gaussian_result

__all__ = ["AUTO", "LINEAR", "ADDITIVE", "auto_result", "model_bics"]

AUTO = "auto"
# the scores auto chooses between (the names of topo_swaps' scores)
LINEAR = "bic"
ADDITIVE = "additive"


def model_bics(gram, parents):
    """BIC of the linear-Gaussian and of the additive SEM with these parent sets.

    Parameters
    ----------
    gram : BlockGram
        The regressions of the data.
    parents : list of sequences of int
        Each node's parents.

    Returns
    -------
    dict
        ``"bic"`` and ``"additive"``: ``sum_j (n / 2) log(RSS_j / n) + (log n) / 2`` per
        coefficient (the units of :func:`numsolve.dag.gaussian_score`).
    """
    half_log_n = np.log(gram.n) / 2
    linear = additive = 0.0
    for v, P in enumerate(parents):
        linear += gram.half_n * np.log(gram.linear_rss(v, P)) + half_log_n * len(P)
        additive += (gram.half_n * np.log(gram.rss(v, P))
                     + half_log_n * sum(gram.columns[p].size for p in P))
    # back to the units of X: the gram's columns are standardised
    shift = gram.half_n * np.sum(np.log(gram.variances))
    return {LINEAR: float(linear + shift), ADDITIVE: float(additive + shift)}


def auto_result(X, dtype, starts, edge_penalty, min_explained, max_iter, n_jobs, verbose):
    """``topo_swaps`` for ``score='auto'``: the linear-Gaussian result, or the additive search's
    from its order when the additive model's BIC on the linear graph's parents is lower. Extras
    as the chosen score's, plus ``loss`` (the score chosen) and ``model_bic``
    (:func:`model_bics`)."""
    linear = gaussian_result(X, dtype, starts, edge_penalty, max_iter, n_jobs, verbose)
    gram = BlockGram(X, N_KNOTS, min_explained)
    parents = [np.flatnonzero(column) for column in np.asarray(linear.x).T]
    bics = model_bics(gram, parents)
    chosen = ADDITIVE if bics[ADDITIVE] < bics[LINEAR] else LINEAR
    result = linear
    if chosen == ADDITIVE:
        result = additive_result(X, dtype, [linear.extras["order"]], min_explained, max_iter, verbose,
                                 gram=gram)
    result.extras.update(loss=chosen, model_bic=bics)
    return result
