"""Sparse affinity graphs for label propagation: k nearest neighbours, cut-off RBF, radius.

Every builder returns a symmetric non-negative CSR matrix without diagonal, built from
neighbour queries, so no dense ``n x n`` matrix is ever formed:

* ``knn``: unit weight between a point and each of its ``n_neighbors - 1`` nearest other
  points (scikit-learn counts the point itself among its ``n_neighbors``), made symmetric by
  union (``max(A, A')``);
* ``rbf``: ``exp(-gamma ||x_i - x_j||^2)`` for the pairs where it is at least ``cutoff`` (a
  radius query with radius ``sqrt(log(1 / cutoff) / gamma)``); with ``cutoff`` small this is
  scikit-learn's dense RBF kernel without its negligible entries. Where that leaves points cut
  off from every label (a large ``gamma``: scikit-learn's default 20 on data in [0, 1]), the
  ``rbf_backbone`` adds each point's nearest neighbours with their exact, tiny, weights;
* ``radius``: unit weight between points closer than ``radius``.
"""

import numpy as np
import scipy.sparse as sp

from ._nearest import kneighbors_graph

__all__ = ["BACKBONE_NEIGHBORS", "knn_affinity", "nearest_distances", "query_weights",
           "radius_affinity", "rbf_affinity", "rbf_backbone", "rbf_radius"]

# On digits (gamma 20, 5 % and 10 % labelled) the harmonic labels on the 10-nearest-neighbour
# backbone equal those of scikit-learn's dense kernel solved exactly; 5 neighbours differ on
# a few points
BACKBONE_NEIGHBORS = 10


def _without_diagonal(A):
    A = sp.csr_matrix(A)
    A.setdiag(0)
    A.eliminate_zeros()
    A.sort_indices()
    return A


def knn_affinity(X, n_neighbors, n_jobs=None):
    """Symmetric k-nearest-neighbour graph of the points ``X``.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Validated points.
    n_neighbors : int
        Neighbours per point, the point itself included (as in scikit-learn).
    n_jobs : int, optional
        Threads of the neighbour search (joblib's count); the graph does not depend on it.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.semi_supervised._affinity import knn_affinity
    >>> knn_affinity(np.array([[0.0], [1.0], [3.0]]), 2).toarray()
    array([[0., 1., 0.],
           [1., 0., 1.],
           [0., 1., 0.]])
    """
    A = _without_diagonal(kneighbors_graph(X, min(n_neighbors, X.shape[0]), n_jobs))
    return _without_diagonal(A.maximum(A.T))


def rbf_radius(gamma, cutoff):
    """Distance beyond which ``exp(-gamma d^2) < cutoff``."""
    return float(np.sqrt(np.log(1.0 / cutoff) / gamma))


def rbf_affinity(neighbors, gamma, cutoff, nearest=None):
    """RBF weights ``exp(-gamma d^2)`` of the pairs where they are at least ``cutoff``.

    ``nearest``, a k-nearest-neighbour distance graph (:func:`nearest_distances`), spares the
    radius query of the points whose neighbours within the cut-off radius are all among their
    k nearest (with a large ``gamma``, nearly all of them).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neighbors import NearestNeighbors
    >>> from numsolve.semi_supervised._affinity import rbf_affinity
    >>> X = np.array([[0.0], [0.5], [5.0]])
    >>> rbf_affinity(NearestNeighbors().fit(X), 1.0, 1e-6).toarray().round(3)
    array([[0.   , 0.779, 0.   ],
           [0.779, 0.   , 0.   ],
           [0.   , 0.   , 0.   ]])
    """
    radius = rbf_radius(gamma, cutoff)
    n = neighbors.n_samples_fit_
    if nearest is None:
        A = _radius_rows(neighbors, np.arange(n), radius)
    else:
        queried = np.flatnonzero(~_lists_every_point_within(nearest, radius))
        A = nearest.copy()
        A.data[A.data > radius] = np.inf  # weight zero, dropped below
        if queried.size:
            kept = sp.diags((~np.isin(np.arange(n), queried)).astype(A.dtype))
            A = sp.csr_matrix(kept @ A) + _radius_rows(neighbors, queried, radius)
    A.data = np.exp(-gamma * A.data ** 2)
    A = _without_diagonal(A)
    return _without_diagonal(A.maximum(A.T))


def _radius_rows(neighbors, rows, radius):
    """Distances (n x n CSR, other rows empty) from the fitted points ``rows`` to the fitted
    points within ``radius``."""
    n = neighbors.n_samples_fit_
    found = sp.csr_matrix(neighbors.radius_neighbors_graph(
        neighbors._fit_X[rows], radius, mode="distance", sort_results=True))
    place = sp.csr_matrix((np.ones(rows.size), (rows, np.arange(rows.size))),
                          shape=(n, rows.size))
    return sp.csr_matrix(place @ found)


def nearest_distances(neighbors, n_neighbors=BACKBONE_NEIGHBORS):
    """Distances (CSR) from every fitted point to its ``n_neighbors`` nearest others."""
    n = neighbors.n_samples_fit_
    return sp.csr_matrix(neighbors.kneighbors_graph(neighbors._fit_X, min(n_neighbors + 1, n),
                                                    mode="distance"))


def _lists_every_point_within(nearest, radius):
    """Per row of ``nearest``: whether it lists every point closer than ``radius`` (it lists
    all points, or its farthest listed point lies beyond ``radius``)."""
    counts = np.diff(nearest.indptr)
    farthest = np.zeros(nearest.shape[0])
    filled = counts > 0
    farthest[filled] = np.maximum.reduceat(nearest.data, nearest.indptr[:-1][filled])
    return (counts == nearest.shape[1]) | (farthest > radius)


def rbf_backbone(nearest, gamma):
    """RBF weights, without cut-off, on the nearest-neighbour graph ``nearest``.

    Symmetrised by union. Weights that underflow to zero (points farther apart than
    ``sqrt(745 / gamma)``) are absent, as they are from scikit-learn's dense kernel.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neighbors import NearestNeighbors
    >>> from numsolve.semi_supervised._affinity import nearest_distances, rbf_backbone
    >>> X = np.array([[0.0], [1.0], [5.0]])
    >>> rbf_backbone(nearest_distances(NearestNeighbors().fit(X), 1), 20.0).toarray()[0]
    array([0.00000000e+00, 2.06115362e-09, 0.00000000e+00])
    """
    A = nearest.copy()
    A.data = np.exp(-gamma * A.data ** 2)
    A = _without_diagonal(A)
    return _without_diagonal(A.maximum(A.T))


def radius_affinity(neighbors, radius):
    """Unit weights between points closer than ``radius``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neighbors import NearestNeighbors
    >>> from numsolve.semi_supervised._affinity import radius_affinity
    >>> X = np.array([[0.0], [0.5], [5.0]])
    >>> radius_affinity(NearestNeighbors().fit(X), 1.0).toarray()
    array([[0., 1., 0.],
           [1., 0., 0.],
           [0., 0., 0.]])
    """
    A = neighbors.radius_neighbors_graph(neighbors._fit_X, radius, mode="connectivity")
    return _without_diagonal(A)


def query_weights(neighbors, X, kernel, *, n_neighbors, gamma, cutoff, radius):
    """Sparse weights (``len(X) x n_fit``) from new points to the fitted ones, for ``predict``.

    ``knn`` gives unit weights to the ``n_neighbors`` nearest fitted points (as scikit-learn);
    ``rbf`` and ``radius`` use the fitted points within their radius, falling back to the
    nearest fitted point for a new point that has none.
    """
    n_fit = neighbors.n_samples_fit_
    if kernel == "knn":
        return neighbors.kneighbors_graph(X, min(n_neighbors, n_fit), mode="connectivity")
    reach = rbf_radius(gamma, cutoff) if kernel == "rbf" else radius
    A = sp.csr_matrix(neighbors.radius_neighbors_graph(X, reach, mode="distance"))
    empty = np.flatnonzero(np.diff(A.indptr) == 0)
    if kernel == "rbf":
        A.data = np.exp(-gamma * A.data ** 2)
    else:
        A.data = np.ones_like(A.data)
    if empty.size:
        nearest = neighbors.kneighbors(X[empty], 1, return_distance=False).ravel()
        fallback = sp.csr_matrix((np.ones(empty.size), (empty, nearest)), shape=A.shape)
        A = A + fallback
    return A
