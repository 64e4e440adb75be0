"""How far a simple statistic sorts a graph's nodes along its edges (Reisach et al., 2021, 2023).

A sortability of 1 means the statistic increases along every directed path of the graph, so
sorting the columns by it already gives a correct causal order; 0.5 is chance. Simulated
equal-variance SEMs are typically near 1 for the marginal variance ("varsortable"), which an
equal-variance least-squares score exploits; standardising the columns removes it, and
R^2-sortability (the fraction of a column's variance explained by all the others, unchanged
by rescaling) then measures what is left of the artefact.
"""

import numpy as np

from numsolve.dag._checks import check_data_and_graph

__all__ = ["varsortability", "r2_sortability"]


def _sortability(statistic, W, tol):
    """Share of directed paths (with multiplicity, all lengths) along which ``statistic`` rises."""
    E = (np.asarray(W) != 0).astype(float)
    np.fill_diagonal(E, 0.0)
    ratio = statistic[None, :] / statistic[:, None]  # [i, j]: child j over ancestor i
    rises = np.where(ratio > 1 + tol, 1.0, np.where(ratio > 1 - tol, 0.5, 0.0))
    paths = E.copy()
    total = sorted_ = 0.0
    for _ in range(E.shape[0] - 1):
        if not paths.any():
            break
        total += paths.sum()
        sorted_ += (paths * rises).sum()
        paths = paths @ E
    if total == 0:
        raise ValueError("W has no edges: sortability is undefined")
    return float(sorted_ / total)


def varsortability(X, W, tol=1e-9):
    """Share of the directed paths of ``W`` along which the marginal variance increases.

    Parameters
    ----------
    X : array of shape (n_samples, d)
    W : array of shape (d, d)
        The graph (``W[i, j] != 0`` for ``i -> j``), usually the true one.
    tol : float, default=1e-9
        Relative difference below which two variances count as equal (half a sorted path).

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import varsortability
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=1000); X = np.c_[x, 2 * x + rng.normal(size=1000)]
    >>> varsortability(X, np.array([[0, 1], [0, 0]]))
    1.0
    """
    X, W = check_data_and_graph(X, W)
    return _sortability(X.astype(np.float64).var(axis=0), W, tol)


def r2_sortability(X, W, tol=1e-9):
    """Share of the directed paths of ``W`` along which R^2 (on all other columns) increases.

    ``R^2_j = 1 - 1 / (Corr^{-1})_jj``, the coefficient of determination of column ``j``
    regressed (with intercept) on all the others; it does not change when columns are rescaled.

    Parameters
    ----------
    X : array of shape (n_samples, d)
    W : array of shape (d, d)
    tol : float, default=1e-9

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import r2_sortability
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=2000); b = a + rng.normal(size=2000); c = b + 0.1 * rng.normal(size=2000)
    >>> chain = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    >>> round(r2_sortability(np.c_[a, b, c], chain), 2)  # a -> b and a -> c rise, b -> c not
    0.67
    """
    X, W = check_data_and_graph(X, W)
    correlation = np.corrcoef(X.astype(np.float64), rowvar=False)
    precision_diag = np.diag(np.linalg.pinv(correlation))
    return _sortability(1.0 - 1.0 / precision_diag, W, tol)
