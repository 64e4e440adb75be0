"""The k-nearest-neighbour graph of the training points, as scikit-learn builds it, faster.

:func:`kneighbors_graph` returns the connectivity graph of
``NearestNeighbors().fit(X).kneighbors_graph(X, n_neighbors)`` (each point and its
``n_neighbors - 1`` nearest others, unit weights), computed by the compiled searches of
``_nearest_neighbors`` without scikit-learn's validation, dispatch and tree objects. It takes
the search scikit-learn's ``algorithm="auto"`` takes (brute force above 15 features or on a
handful of points, a kd-tree otherwise), so the neighbours are scikit-learn's: the brute
search reproduces its distances and heaps bit for bit (its one-thread or parallel-on-X
order); a kd-tree row whose last two candidate distances tie, where the neighbour kept would
depend on the order of the search, sends the graph back to scikit-learn, as does sparse
input. Both searches share the points among ``n_jobs`` OpenMP threads and find the same
graph on any number of them.

:class:`FittedNeighbors` keeps the training points for ``predict`` and fits scikit-learn's
``NearestNeighbors`` on them only when new points are queried.
"""

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.neighbors import NearestNeighbors

from .._blas_threads import one_blas_thread
from ._nearest_neighbors import brute_neighbors, tree_neighbors

__all__ = ["FittedNeighbors", "kneighbors_graph"]

# scikit-learn's algorithm="auto": brute force above this many features
TREE_MAX_FEATURES = 15

# points per kd-tree leaf: 8, 16 and 32 within 10 % on two moons n = 2,000 and 20,000
LEAF_SIZE = 16

# scikit-learn's algorithm="auto" also searches by brute force when NearestNeighbors'
# default 5 neighbours are at least half the points
DEFAULT_NEIGHBORS = 5


def kneighbors_graph(X, n_neighbors, n_jobs=None):
    """Connectivity graph of every point's ``n_neighbors`` nearest points, itself included.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Validated points (finite, at least one sample and one feature).
    n_neighbors : int
        Neighbours per point, the point itself counted (at most ``n_samples``).
    n_jobs : int, optional
        Threads of the search, as joblib counts them: None is 1 unless a
        ``joblib.parallel_config`` context sets it, -1 all cores. The graph does not depend
        on it.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        Unit weights, ``n_neighbors`` per row, indices sorted: equal as a matrix to
        scikit-learn's ``NearestNeighbors().fit(X).kneighbors_graph(X, n_neighbors)``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.semi_supervised._nearest import kneighbors_graph
    >>> kneighbors_graph(np.array([[0.0], [1.0], [3.0]]), 2).toarray()
    array([[1., 1., 0.],
           [1., 1., 0.],
           [0., 1., 1.]])
    """
    threads = effective_n_jobs(n_jobs)
    if sp.issparse(X):
        return _sklearn_graph(X, n_neighbors, n_jobs)
    points = np.ascontiguousarray(X, dtype=np.float64)
    n, d = points.shape
    neighbors = np.empty((n, n_neighbors), dtype=np.intp)
    if d > TREE_MAX_FEATURES or DEFAULT_NEIGHBORS >= n // 2 or n_neighbors == n:
        # each thread makes its own small BLAS calls, as scikit-learn's search does: a
        # threaded BLAS under them would oversubscribe the cores
        with one_blas_thread():
            brute_neighbors(points, neighbors, threads)
    elif tree_neighbors(points, LEAF_SIZE, neighbors, threads):
        # a tie at the last place: scikit-learn's neighbour depends on its tree's order
        return _sklearn_graph(X, n_neighbors, n_jobs)
    graph = sp.csr_matrix((np.ones(n * n_neighbors), neighbors.ravel(),
                           np.arange(0, n * n_neighbors + 1, n_neighbors)), shape=(n, n))
    graph.has_sorted_indices = True
    return graph


def _sklearn_graph(X, n_neighbors, n_jobs):
    neighbors = NearestNeighbors(n_jobs=n_jobs).fit(X)
    return sp.csr_matrix(neighbors.kneighbors_graph(X, n_neighbors, mode="connectivity"))


class FittedNeighbors:
    """scikit-learn's ``NearestNeighbors`` on the training points, fitted at the first query.

    ``fit`` builds the training graph without it (:func:`kneighbors_graph`); ``predict``
    queries new points through it. Queries go to the fitted ``NearestNeighbors`` (its
    ``kneighbors``, ``kneighbors_graph``, ...), ``n_samples_fit_`` answers without a fit.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.semi_supervised._nearest import FittedNeighbors
    >>> neighbors = FittedNeighbors(np.array([[0.0], [1.0], [3.0]]))
    >>> neighbors.kneighbors([[2.8]], 1, return_distance=False)
    array([[2]])
    """

    def __init__(self, X, n_jobs=None):
        self.n_samples_fit_ = X.shape[0]
        self._points = X
        self._n_jobs = n_jobs
        self._fitted = None

    def __getattr__(self, name):
        # only public names are the fitted NearestNeighbors' (private ones, looked up while
        # unpickling before __dict__ is filled, must not recurse)
        if name.startswith("_"):
            raise AttributeError(name)
        if self._fitted is None:
            self._fitted = NearestNeighbors(n_jobs=self._n_jobs).fit(self._points)
        return getattr(self._fitted, name)
