"""scikit-learn estimators on sparse graphs: LabelPropagation and LabelSpreading, solved as
linear systems."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._affinity import (
    knn_affinity,
    nearest_distances,
    query_weights,
    radius_affinity,
    rbf_affinity,
    rbf_backbone,
)
from ._nearest import FittedNeighbors, kneighbors_graph
from ._harmonic import METHODS, label_propagation, labelled_nodes, reached_nodes
from ._spreading import SPREADING_METHODS, label_spreading, spread_labels

__all__ = ["LabelPropagation", "LabelSpreading"]

# points up to which LabelSpreading's RBF graph is scikit-learn's full kernel: on two moons
# (n = 2,000, gamma 20) the cut-off radius holds a quarter of the points, so the dense kernel
# (one BLAS call) is both exact and faster than neighbour queries
DENSE_RBF_LIMIT = 5_000


class LabelPropagation(ClassifierMixin, BaseEstimator):
    """Label propagation (harmonic solution, labelled points clamped) on a sparse graph.

    A drop-in for :class:`sklearn.semi_supervised.LabelPropagation`: unlabelled points carry
    the label -1 in ``y``; ``fit`` computes ``label_distributions_`` and ``transduction_``;
    ``predict`` and ``predict_proba`` label new points from their neighbours. Unlike
    scikit-learn, which iterates the propagation with a dense kernel, it builds a sparse graph
    and solves the harmonic system ``(D - W)[U, U] F_U = W[U, L] Y_L`` (one right-hand side per
    class, all together) by Jacobi-preconditioned conjugate gradients, forest-block CG or
    sparse LU: this scales to millions of points.

    Parameters
    ----------
    kernel : {"rbf", "knn", "radius", "precomputed"} or callable, default="rbf"
        ``"rbf"``: weights ``exp(-gamma ||x_i - x_j||^2)``, kept where at least
        ``rbf_cutoff`` (sparse by this neighbour cut-off); where the cut-off leaves points
        with no path to a label (scikit-learn's ``gamma=20`` on data scaled to [0, 1]), each
        point's 10 nearest neighbours are added with their exact RBF weights, however small,
        and ``method="auto"`` solves the system by sparse LU up to 20,000 unlabelled points
        (conjugate gradients cannot resolve weights spanning hundreds of orders of magnitude). This is the
        fixed point scikit-learn's iteration aims at; scikit-learn itself stops after two
        iterations there, near a nearest-labelled-point vote. ``"knn"``: unit weights to the
        ``n_neighbors`` nearest points (self included, as scikit-learn), made symmetric;
        ``"radius"``: unit weights between points closer than ``radius``;
        ``"precomputed"``: ``X`` is the (sparse) affinity matrix, and in ``predict`` the
        affinities of the new points to the training points; a callable ``kernel(X, Y)``
        returns an affinity matrix. Affinities are symmetrised as ``(W + W') / 2``.
    gamma : float, default=20
        RBF parameter.
    n_neighbors : int, default=7
        Neighbours of the ``knn`` kernel.
    radius : float, default=1.0
        Radius of the ``radius`` kernel.
    rbf_cutoff : float, default=1e-6
        Smallest RBF weight kept.
    method : {"auto", "jacobi-pcg", "bcd", "direct"}, default="auto"
        Solver of the harmonic system (see
        :func:`~numsolve.semi_supervised.harmonic_solution`); the one used is ``method_``.
    blocks : {"forest", "greedy-forest", "colour", "coordinate"}, default="forest"
        Blocks of the BCD solver (``method="bcd"``).
    max_iter : int, default=1000
        Iteration budget of the solver.
    tol : float, default=1e-6
        Relative residual of the harmonic system to reach (not scikit-learn's change
        criterion: the solution here is the exact fixed point up to ``tol``).
    n_jobs : int, default=None
        Threads of the neighbour searches, as joblib counts them (None: 1 unless in a
        ``joblib.parallel_config`` context; -1: all cores): the compiled search of the knn
        graph, which finds the same neighbours as scikit-learn's (ties included) on any
        number of threads, and scikit-learn's ``NearestNeighbors`` for the rbf and radius
        graphs and ``predict``.
    verbose : int, default=0
        Progress bar when positive.

    Points with no path to a labelled point in the graph (an isolated point, a component
    without labels) get a row of zeros in ``label_distributions_`` and the first class in
    ``transduction_``, as in scikit-learn, with an
    :class:`~numsolve.semi_supervised.UnreachedNodesWarning`.

    Attributes
    ----------
    X_ : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Training data (the affinity matrix for ``kernel="precomputed"``).
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    label_distributions_ : ndarray of shape (n_samples, n_classes)
        Probability of every class at every training point.
    transduction_ : ndarray of shape (n_samples,)
        Label given to every training point.
    n_iter_ : int
        Solver iterations (at least 1: clamping the labels when all points are labelled).
    method_ : str
        The solver used.
    history_ : dict of ndarray
        Relative residual per iteration.
    n_features_in_ : int
        Number of features seen during ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_moons
    >>> from numsolve.semi_supervised import LabelPropagation
    >>> X, y = make_moons(200, noise=0.05, random_state=0)
    >>> y_partial = np.full(200, -1)
    >>> y_partial[:20] = y[:20]
    >>> model = LabelPropagation(kernel="knn", n_neighbors=10).fit(X, y_partial)
    >>> float((model.transduction_ == y).mean()) > 0.95
    True
    """

    _parameter_constraints: dict = {
        "kernel": [StrOptions({"rbf", "knn", "radius", "precomputed"}), callable],
        "gamma": [Interval(Real, 0, None, closed="neither")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "radius": [Interval(Real, 0, None, closed="neither")],
        "rbf_cutoff": [Interval(Real, 0, 1, closed="neither")],
        "method": [StrOptions(set(METHODS))],
        "blocks": [StrOptions({"forest", "greedy-forest", "colour", "coordinate"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [None, Integral],
        "verbose": ["verbose"],
    }

    def __init__(self, kernel="rbf", *, gamma=20, n_neighbors=7, radius=1.0, rbf_cutoff=1e-6,
                 method="auto", blocks="forest", max_iter=1000, tol=1e-6, n_jobs=None,
                 verbose=0):
        self.kernel = kernel
        self.gamma = gamma
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.rbf_cutoff = rbf_cutoff
        self.method = method
        self.blocks = blocks
        self.max_iter = max_iter
        self.tol = tol
        self.n_jobs = n_jobs
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the model on ``X`` with labels ``y`` (-1 marks unlabelled points).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training points, or the affinity matrix when ``kernel="precomputed"``.
        y : array-like of shape (n_samples,)
            Class labels, -1 for unlabelled points.

        Returns
        -------
        self : LabelPropagation
        """
        X, y = self._check_training_data(X, y)
        result = label_propagation(self._graph(X, y), y, blocks=self.blocks, tol=self.tol,
                                   max_iter=self.max_iter, method=self.method,
                                   verbose=self.verbose)
        self._store(result)
        self.history_ = result.history
        return self

    def _check_training_data(self, X, y):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], reset=True)
        check_classification_targets(y)
        if self.kernel == "precomputed" and X.shape[0] != X.shape[1]:
            raise ValueError(f"with kernel='precomputed' X must be square, got {X.shape}")
        self.X_ = X
        return X, y

    def _store(self, result):
        self.classes_ = result.classes
        self.label_distributions_ = result.x
        self.transduction_ = result.transduction
        self.n_iter_ = max(result.n_iter, 1)
        self.method_ = result.method

    def _graph(self, X, y):
        """The affinity graph, with the RBF backbone where the cut-off leaves points unreached."""
        if self.kernel != "rbf":
            return self._affinity(X)
        W, nearest = self._sparse_rbf(X)
        labelled = labelled_nodes(y)
        if not labelled.size or reached_nodes(W, labelled).all():
            return W
        return self._with_backbone(W, nearest)

    def _sparse_rbf(self, X):
        """The RBF weights the cut-off keeps, and the k-nearest-neighbour distances of ``X``
        (fitting ``nn_fit_``, which ``predict`` queries)."""
        self.nn_fit_ = NearestNeighbors(n_jobs=self.n_jobs).fit(X)
        nearest = nearest_distances(self.nn_fit_)
        return rbf_affinity(self.nn_fit_, self.gamma, self.rbf_cutoff, nearest), nearest

    def _with_backbone(self, W, nearest):
        """``W`` joined with the exact RBF weights to every point's nearest neighbours."""
        return W.maximum(rbf_backbone(nearest, self.gamma)).tocsr()

    def _user_kernel(self):
        """Whether the user gives the affinities (precomputed or a callable kernel)."""
        return self.kernel == "precomputed" or callable(self.kernel)

    def _user_affinity(self, X, Y):
        """The user's affinities of ``X`` to ``Y``: ``X`` itself when precomputed, else
        ``kernel(X, Y)``."""
        return X if self.kernel == "precomputed" else self.kernel(X, Y)

    def _affinity(self, X):
        if self._user_kernel():
            W = sp.csr_matrix(self._user_affinity(X, X), dtype=np.float64)
            if W.nnz and W.data.min() < 0:
                raise ValueError("the affinity matrix must be non-negative")
            return (W + W.T) * 0.5
        if self.kernel == "knn":
            # predict's queries fit a NearestNeighbors when they come: the graph needs none
            self.nn_fit_ = FittedNeighbors(X, self.n_jobs)
            return knn_affinity(X, self.n_neighbors, self.n_jobs)
        self.nn_fit_ = NearestNeighbors(n_jobs=self.n_jobs).fit(X)
        return radius_affinity(self.nn_fit_, self.radius)

    def predict_proba(self, X):
        """Class probabilities of new points from their neighbours among the training points.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New points (affinities to the training points for ``kernel="precomputed"``).

        Returns
        -------
        probabilities : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        if self._user_kernel():
            weights = self._user_affinity(X, self.X_)
        else:
            weights = self._query_weights(X)
        probabilities = np.asarray(weights @ self.label_distributions_, dtype=np.float64)
        totals = probabilities.sum(axis=1, keepdims=True)
        uniform = np.full_like(probabilities, 1.0 / len(self.classes_))
        return np.where(totals > 0, probabilities / np.where(totals > 0, totals, 1.0), uniform)

    def _query_weights(self, X):
        return query_weights(self.nn_fit_, X, self.kernel, n_neighbors=self.n_neighbors,
                             gamma=self.gamma, cutoff=self.rbf_cutoff, radius=self.radius)

    def predict(self, X):
        """Most probable class of every new point.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.pairwise = self.kernel == "precomputed"
        return tags


class LabelSpreading(LabelPropagation):
    """Label spreading (normalised graph, soft clamping) solved as one sparse linear system.

    A drop-in for :class:`sklearn.semi_supervised.LabelSpreading`, with the same graph
    ``S = D^(-1/2) W D^(-1/2)`` (``D``: column sums of the affinity ``W`` without its
    diagonal) and the same model: scikit-learn iterates ``F <- alpha S F + (1 - alpha) Y``
    up to ``max_iter`` times until the change is below ``tol``; numsolve solves its fixed
    point ``(I - alpha S) F = (1 - alpha) Y`` (conjugate gradients on a symmetric graph,
    scikit-learn's iteration compiled or BiCGSTAB on the directed kNN graph, or sparse LU)
    and by default stops once every label is certified to be the fixed point's. The graph is
    built as scikit-learn builds it (one dense kernel evaluation, or one
    ``kneighbors_graph``) and never copied: ``S`` is applied without being formed.

    Parameters
    ----------
    kernel : {"rbf", "knn", "precomputed"} or callable, default="rbf"
        ``"rbf"``: weights ``exp(-gamma ||x_i - x_j||^2)``, all of them (scikit-learn's kernel)
        up to 5,000 points; beyond, where at least ``rbf_cutoff``, and always to each point's
        10 nearest neighbours (so no point is cut off by the cut-off);
        ``"knn"``: scikit-learn's directed graph of unit weights to the ``n_neighbors``
        nearest points (self included, then ignored); ``"precomputed"``: ``X`` is the
        affinity matrix (and in ``predict`` the affinities of new points to the training
        points); a callable ``kernel(X, Y)`` returns one. Not symmetrised, as in scikit-learn.
    gamma : float, default=20
        RBF parameter.
    n_neighbors : int, default=7
        Neighbours of the ``knn`` kernel.
    alpha : float in (0, 1), default=0.2
        Weight of the neighbours against a point's own label (soft clamping).
    rbf_cutoff : float, default=1e-6
        Smallest RBF weight kept beyond the 10 nearest neighbours (above 5,000 points).
    method : {"auto", "cg", "bicgstab", "fixed-point", "direct"}, default="auto"
        Solver of the system (see :func:`~numsolve.semi_supervised.label_spreading`): CG on
        a symmetric graph (rbf), scikit-learn's own iteration (compiled) on its directed kNN
        graph up to ``alpha = 0.5`` and BiCGSTAB above; the one used is ``method_``.
    max_iter : int, default=1000
        Iteration budget of the iterative solvers.
    tol : float or None, default=None
        Stopping rule of the iterative solvers. None: stop as soon as every label in
        ``transduction_`` is certified, that is the bound on the error of the current iterate
        (from its residual and ``alpha``) is smaller than each point's margin between its two
        most probable classes, so the labels are those of the exact fixed point; where some
        label cannot be certified (a tie, a point no label reaches) the solver goes on to the
        relative residual 1e-10. ``label_distributions_`` are then as accurate as their labels
        need. A float: the relative residual of the system to reach, for distributions
        accurate to it (not scikit-learn's criterion, the change between iterations).
    n_jobs : int, default=None
        Threads of the neighbour searches, as joblib counts them (None: 1 unless in a
        ``joblib.parallel_config`` context; -1: all cores): the compiled search of the knn
        graph, which finds the same neighbours as scikit-learn's (ties included) on any
        number of threads, and scikit-learn's ``NearestNeighbors`` for the rbf graph above
        5,000 points and ``predict``.

    Attributes
    ----------
    X_ : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Training data (the affinity matrix for ``kernel="precomputed"``).
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    label_distributions_ : ndarray of shape (n_samples, n_classes)
        Probability of every class at every training point.
    transduction_ : ndarray of shape (n_samples,)
        Label given to every training point.
    n_iter_ : int
        Solver iterations (1 for sparse LU).
    method_ : str
        The solver used.
    labels_certified_ : bool
        Whether the solver stopped because every label was certified (``tol=None``).
    n_features_in_ : int
        Number of features seen during ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_moons
    >>> from numsolve.semi_supervised import LabelSpreading
    >>> X, y = make_moons(200, noise=0.05, random_state=0)
    >>> y_partial = np.full(200, -1)
    >>> y_partial[:20] = y[:20]
    >>> model = LabelSpreading(kernel="knn", n_neighbors=10).fit(X, y_partial)
    >>> float((model.transduction_ == y).mean()) > 0.95, model.method_
    (True, 'fixed-point')
    """

    _parameter_constraints: dict = {
        "kernel": [StrOptions({"rbf", "knn", "precomputed"}), callable],
        "gamma": [Interval(Real, 0, None, closed="neither")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "rbf_cutoff": [Interval(Real, 0, 1, closed="neither")],
        "method": [StrOptions(set(SPREADING_METHODS))],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither"), None],
        "n_jobs": [None, Integral],
    }

    def __init__(self, kernel="rbf", *, gamma=20, n_neighbors=7, alpha=0.2, rbf_cutoff=1e-6,
                 method="auto", max_iter=1000, tol=None, n_jobs=None):
        self.kernel = kernel
        self.gamma = gamma
        self.n_neighbors = n_neighbors
        self.alpha = alpha
        self.rbf_cutoff = rbf_cutoff
        self.method = method
        self.max_iter = max_iter
        self.tol = tol
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the model on ``X`` with labels ``y`` (-1 marks unlabelled points).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training points, or the affinity matrix when ``kernel="precomputed"``.
        y : array-like of shape (n_samples,)
            Class labels, -1 for unlabelled points.

        Returns
        -------
        self : LabelSpreading
        """
        X, y = self._check_training_data(X, y)
        options = dict(alpha=self.alpha, tol=self.tol, max_iter=self.max_iter,
                       method=self.method)
        if self._user_kernel():
            result = label_spreading(self._user_affinity(X, X), y, **options)
        else:
            # the graphs built here are valid by construction: no validation pass over them
            result = spread_labels(self._spreading_graph(X), y, symmetric=self.kernel == "rbf",
                                   overwrite=True, **options)
        if not result.converged:
            warnings.warn(f"LabelSpreading: {result.message}", ConvergenceWarning,
                          stacklevel=2)
        self._store(result)
        self.labels_certified_ = result.certified
        return self

    def _dense_rbf(self):
        return self.kernel == "rbf" and self.X_.shape[0] <= DENSE_RBF_LIMIT

    def _spreading_graph(self, X):
        """scikit-learn's graph: one dense kernel evaluation (rbf, up to
        ``DENSE_RBF_LIMIT`` points) or its directed k-nearest-neighbour graph, found by the
        compiled search (knn)."""
        if self._dense_rbf():
            # float64 once (float32 input gives a float32 kernel), not at every product
            return rbf_kernel(X, gamma=self.gamma).astype(np.float64, copy=False)
        if self.kernel == "knn":
            self.nn_fit_ = FittedNeighbors(X, self.n_jobs)
            return kneighbors_graph(X, min(self.n_neighbors, X.shape[0]), self.n_jobs)
        # the union of two symmetric graphs: symmetric, as spread_labels is told
        return self._with_backbone(*self._sparse_rbf(X))

    def _query_weights(self, X):
        if self._dense_rbf():
            return rbf_kernel(X, self.X_, gamma=self.gamma)
        return query_weights(self.nn_fit_, X, self.kernel, n_neighbors=self.n_neighbors,
                             gamma=self.gamma, cutoff=self.rbf_cutoff, radius=None)
