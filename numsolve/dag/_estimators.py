"""scikit-learn estimator for TOPO structure learning."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from numsolve.dag._topo import topo_swaps

__all__ = ["TopoDAG"]


class TopoDAG(BaseEstimator):
    """DAG learning by topological swaps (TOPO, Deng et al. 2023) on a NOTEARS score.

    Parameters
    ----------
    loss : {"l2", "logistic"}, default="l2"
        The score of :func:`numsolve.dag.topo_swaps` (named ``loss`` here because
        ``score`` is a method name in scikit-learn's conventions).
    acyclicity : {"logdet", "exp", "poly"}, default="logdet"
    lambda1 : float, default=0.0
    init : {"variance", "random"} or array, default="variance"
        See :func:`numsolve.dag.topo_swaps` (``"variance"`` exploits varsortability).
    n_restarts : int, default=0
    n_jobs : int, optional
        Restarts run at once through joblib; the result does not depend on it.
    max_iter : int, default=500
    prune : {"auto", "bic"} or None, default="auto"
        ``"bic"``: each node keeps the parents chosen by BIC among its edges with
        ``|w| >= w_threshold`` (greedy backward elimination, see
        :func:`numsolve.dag.prune_parents`), refitted by least squares; ``loss="l2"`` only.
        ``"auto"`` is ``"bic"`` for ``loss="l2"`` and None for ``loss="logistic"``. None: the
        thresholded fit. On 156 simulated linear SEMs (ER2, ER4, SF4; d 20 to 50; n 200 and
        1000; Gaussian, exponential and Gumbel noise) pruning never raised the SHD and removed
        most of the extra edges the threshold lets through.
    w_threshold : float, default=0.3
        Edges with ``|w| < w_threshold`` are dropped from ``adjacency_`` (the pruning starts
        from the edges that pass it).
    random_state : int, RandomState or None
    verbose : int, default=0

    Attributes
    ----------
    adjacency_ : ndarray (d, d)
        Weighted adjacency (``[i, j]`` for ``i -> j``): the pruned graph with its
        least-squares weights, or, without pruning, the thresholded fit.
    weights_ : ndarray (d, d)
        Unthresholded fit for ``order_``.
    order_, score_, history_, n_iter_, n_features_in_

    Examples
    --------
    >>> from numsolve.dag import TopoDAG, simulate_dag, simulate_parameter, simulate_linear_sem
    >>> B = simulate_dag(6, 6, "ER", random_state=1)
    >>> X = simulate_linear_sem(simulate_parameter(B, random_state=1), 2000, random_state=1)
    >>> est = TopoDAG(random_state=0).fit(X)
    >>> est.adjacency_.shape
    (6, 6)
    """

    _parameter_constraints = {
        "loss": [StrOptions({"l2", "logistic"})],
        "acyclicity": [StrOptions({"logdet", "exp", "poly"})],
        "lambda1": [Interval(numbers.Real, 0, None, closed="left")],
        "init": [StrOptions({"variance", "random"}), "array-like"],
        "n_restarts": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "prune": [StrOptions({"auto", "bic"}), None],
        "w_threshold": [Interval(numbers.Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, loss="l2", acyclicity="logdet", lambda1=0.0, init="variance",
                 n_restarts=0, n_jobs=None, max_iter=500, prune="auto", w_threshold=0.3,
                 random_state=None, verbose=0):
        self.loss = loss
        self.acyclicity = acyclicity
        self.lambda1 = lambda1
        self.init = init
        self.n_restarts = n_restarts
        self.n_jobs = n_jobs
        self.max_iter = max_iter
        self.prune = prune
        self.w_threshold = w_threshold
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y=None):
        """Learn the graph of ``X`` (n_samples, d); ``y`` is ignored."""
        self._validate_params()
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        prune = self.prune
        if prune == "auto":
            prune = "bic" if self.loss == "l2" else None
        res = topo_swaps(X, score=self.loss, acyclicity=self.acyclicity, lambda1=self.lambda1,
                         init=self.init, max_iter=self.max_iter, n_restarts=self.n_restarts,
                         n_jobs=self.n_jobs, prune=prune, w_threshold=self.w_threshold,
                         random_state=self.random_state, verbose=self.verbose)
        if prune is None:
            W = np.asarray(res.x)
            self.adjacency_ = np.where(np.abs(W) >= self.w_threshold, W, 0).astype(W.dtype)
        else:
            W = np.asarray(res.weights)
            self.adjacency_ = np.asarray(res.x)
        self.weights_ = W
        self.order_ = res.order
        self.score_ = res.score
        self.history_ = res.history
        self.n_iter_ = res.n_iter
        return self
