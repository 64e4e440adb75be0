"""The scale-invariant score: a Gaussian likelihood with one noise variance per node, BIC-penalised.

For a DAG with parents ``pa(j)`` fitted by least squares (with intercepts), the negative
log-likelihood of the linear-Gaussian SEM at its maximum, less constants, is
``sum_j (n / 2) log(RSS_j / n)``; the score adds ``edge_penalty * (log n) / 2`` per edge (BIC
for ``edge_penalty = 1``). ``edge_penalty="ebic"`` is the extended BIC (Chen and Chen 2008)
with the ``gamma = 1/2`` that Foygel and Drton (2010) recommend for Gaussian graphical models:
choosing ``|E|`` edges among the ``d (d - 1)`` possible directed ones costs
``2 gamma log binom(d (d - 1), |E|) <= 2 |E| log d`` more in ``-2 log L`` units, so each edge
costs ``(log n) / 2 + log d``. BIC alone is consistent for fixed ``d``; with many candidate
parents per node it keeps spurious ones, which the ``log d`` term pays for. Rescaling or shifting a column multiplies its ``RSS`` by a constant
that every graph shares, so the graph minimising the score does not depend on the units. Every
DAG of a Markov equivalence class has the same score: the data tell only the class apart.

For a fixed order the search selects each node's parents among its predecessors by
grow-shrink on the correlation matrix (the compiled ``_insertion`` kernels); the outer search moves single
nodes to their best position.
"""

import numbers
import warnings

import numpy as np
from joblib import Parallel, cpu_count, delayed
from sklearn.exceptions import ConvergenceWarning

from numsolve._progress import progress
from numsolve._result import HistoryRecorder, SolveResult
from numsolve.dag._checks import check_data_and_graph
from numsolve.dag._cpdag import dag_to_cpdag
from numsolve.dag._insertion import InsertionSearch

__all__ = ["gaussian_score", "gaussian_search", "check_edge_penalty", "edge_cost", "search_result",
           "gaussian_result", "EBIC"]

# the extended BIC's per-edge penalty (see the module's docstring)
EBIC = "ebic"


def check_edge_penalty(edge_penalty):
    """Check ``edge_penalty``: ``"ebic"`` or a finite real number ``> 0`` (not a bool)."""
    if isinstance(edge_penalty, str) and edge_penalty == EBIC:
        return
    if (isinstance(edge_penalty, bool) or not isinstance(edge_penalty, numbers.Real)
            or not np.isfinite(edge_penalty) or edge_penalty <= 0):
        raise ValueError(f"edge_penalty must be {EBIC!r} or a positive number, got {edge_penalty!r}")


def edge_cost(edge_penalty, n, d):
    """Score added per edge for ``n`` samples of ``d`` nodes: ``edge_penalty (log n) / 2``,
    or ``(log n) / 2 + log d`` for ``"ebic"``."""
    bic = np.log(n) / 2
    return float(bic + np.log(d) if edge_penalty == EBIC else edge_penalty * bic)


def _centred_covariance(X):
    Xc = X - X.mean(axis=0)
    C = (Xc.T @ Xc) / X.shape[0]
    constant = np.flatnonzero(np.diag(C) <= 0)
    if constant.size:
        raise ValueError(f"column {int(constant[0])} of X is constant: its Gaussian likelihood is "
                         "unbounded; drop it before learning the graph")
    return C


def gaussian_score(X, W, *, edge_penalty=1.0):
    """Gaussian score of the graph ``W``: ``sum_j (n/2) log(RSS_j / n) + cost |E|``.

    ``RSS_j`` is the residual sum of squares of column ``j`` given ``X W[:, j]`` and an
    intercept (the weights taken as given, not refitted). It is minus the maximised Gaussian
    log-likelihood of the SEM ``X_j = c_j + X W[:, j] + e_j``, ``e_j ~ N(0, s_j^2)``, less
    ``n d (1 + log 2 pi) / 2``, plus the penalty. Lower is better.

    Parameters
    ----------
    X : array of shape (n_samples, d)
    W : array of shape (d, d)
        ``W[i, j]`` is the weight of the edge ``i -> j``.
    edge_penalty : float or "ebic", default=1.0
        Penalty per edge in units of the BIC's ``(log n) / 2``, or ``"ebic"``: the extended
        BIC's ``(log n) / 2 + log d`` per edge.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import gaussian_score
    >>> z = np.random.default_rng(0).normal(size=(500, 2))
    >>> X = np.c_[z[:, 0], 2 * z[:, 0] + z[:, 1]]
    >>> edge = np.array([[0.0, 2.0], [0.0, 0.0]])
    >>> bool(gaussian_score(X, edge) < gaussian_score(X, np.zeros((2, 2))))
    True
    """
    check_edge_penalty(edge_penalty)
    X, W = check_data_and_graph(X, W)
    X = X.astype(np.float64)
    n, d = X.shape
    R = X - X @ W
    R -= R.mean(axis=0)
    rss = np.einsum("ij,ij->j", R, R)
    penalty = edge_cost(edge_penalty, n, d) * np.count_nonzero(W)
    return float(n / 2 * np.sum(np.log(rss / n)) + penalty)


def _search_from(R, order, half_n, penalty, max_iter, tol, verbose, shift):
    """Passes of single-node moves from ``order`` (changed in place) until one stops lowering
    the score by more than ``tol``; returns the score, passes, convergence, trace and the search
    (its records give the parents). The progress bar shows the score plus ``shift`` (in the
    units of the data)."""
    search = InsertionSearch(R, half_n, penalty)
    value = search.score_order(order)
    trace = [value]
    converged = len(order) < 2
    with progress(max_iter, verbose, desc="topo_swaps", unit="pass") as bar:
        while not converged and len(trace) <= max_iter:
            value = search.insertion_pass(order, tol)
            converged = value > trace[-1] - tol
            trace.append(value)
            bar.update(1)
            bar.set_postfix(score=f"{value + shift:.6g}")
    return value, len(trace) - 1, converged, trace, search


def gaussian_search(X, orders, *, edge_penalty=1.0, max_iter=100, verbose=0):
    """Order search on the Gaussian score from each initial order; the lowest score wins.

    Parameters
    ----------
    X : ndarray of shape (n_samples, d), float64, validated (at least two samples)
    orders : list of int arrays
        Initial orders (permutations of ``range(d)``).
    edge_penalty : float or "ebic", default=1.0
    max_iter : int, default=100
        Passes over the nodes per search.
    verbose : int, default=0
        A progress bar per search, one step per pass, with the score.

    Returns
    -------
    dict
        ``W`` (least-squares weights on the selected parents, intercepts left out), ``order``,
        ``score`` (the search's, in the units of :func:`gaussian_score`), ``n_iter`` and
        ``converged`` of the winning search, ``trace`` (its score after each pass).
    """
    n, d = X.shape
    C = _centred_covariance(X)
    scale = np.sqrt(np.diag(C))
    # the correlation matrix: the same score, and rescaled columns give the same numbers
    R = C / np.outer(scale, scale)
    half_n = n / 2
    penalty = edge_cost(edge_penalty, n, d)
    tol = 1e-9 * n * d
    # back to the units of X: log(RSS / n) of a standardised column differs by log C[v, v]
    shift = half_n * np.sum(np.log(np.diag(C)))
    best = None
    for start in orders:
        order = np.array(start, dtype=np.int64)
        value, n_pass, converged, trace, search = _search_from(R, order, half_n, penalty, max_iter,
                                                              tol, verbose, shift)
        if best is None or value < best[1] - tol:
            best = (order, value, n_pass, converged, trace, search)
    order, value, n_pass, converged, trace, search = best
    W = np.zeros((d, d))
    for v in range(d):
        P = np.sort(search.parents(v))
        if P.size:
            W[P, v] = np.linalg.solve(R[np.ix_(P, P)], R[P, v]) * scale[v] / scale[P]
    return {"W": W, "order": order, "score": float(value + shift), "n_iter": int(n_pass),
            "converged": bool(converged), "trace": np.asarray(trace) + shift}


def search_result(run, dtype, max_iter, extras):
    """The ``SolveResult`` of a node-moving search's ``run`` (a dict with ``W``, ``trace``,
    ``n_iter``, ``converged``): history ``score`` per pass, a ConvergenceWarning at
    ``max_iter``."""
    rec = HistoryRecorder()
    for n_pass, value in enumerate(run["trace"]):
        rec.record(n_pass, score=float(value))
    if not run["converged"]:
        warnings.warn(f"topo_swaps stopped after max_iter={max_iter} passes with improving moves left",
                      ConvergenceWarning, stacklevel=4)
    return SolveResult(
        x=run["W"].astype(dtype), n_iter=run["n_iter"], converged=run["converged"],
        message="no move lowers the score" if run["converged"] else "max_iter reached",
        history=rec.as_dict(), extras=extras,
    )


# below this many nodes a search takes about as long as starting the threads (Sachs, d = 11:
# 10 ms on one thread, 15 ms on four; d = 20: 20 ms on one thread, 15 ms on four)
_THREADED_MIN_NODES = 16


def search_threads(n_jobs, n_starts, n_nodes):
    """Threads for ``n_starts`` independent searches on ``n_nodes`` nodes: ``n_jobs``, or by
    default one per search up to the CPU count (their kernels release the GIL, so they run
    side by side) once the graph is large enough to repay starting them."""
    if n_jobs is not None:
        return n_jobs
    return min(n_starts, cpu_count()) if n_nodes >= _THREADED_MIN_NODES else 1


def gaussian_result(X, dtype, starts, edge_penalty, max_iter, n_jobs, verbose):
    """``topo_swaps`` for ``score='bic'``: searches from every start, the lowest score wins
    (the earliest start among equal scores, whatever thread finished first)."""
    runs = Parallel(n_jobs=search_threads(n_jobs, len(starts), X.shape[1]), prefer="threads")(
        delayed(gaussian_search)(X, [order], edge_penalty=edge_penalty, max_iter=max_iter,
                                 verbose=verbose)
        for order in starts)
    tol = 1e-9 * X.shape[0] * X.shape[1]
    best = runs[0]
    for run in runs[1:]:
        if run["score"] < best["score"] - tol:
            best = run
    return search_result(best, dtype, max_iter, {"order": best["order"], "score": best["score"],
                                                 "cpdag": dag_to_cpdag(best["W"])})
