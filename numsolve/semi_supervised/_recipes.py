"""The label-propagation problems of the benchmark and tests (spec: lattice and two moons).

* lattice: a ``rows x columns`` 4-neighbour grid with weight ``1e5`` on every edge, a fraction
  of the nodes labelled with real values ``10 * randn`` (the paper's dataset D);
* two moons: ``make_moons`` points, the symmetrised 5-nearest-neighbour graph with unit
  weights, a fraction of the points labelled with their class (the paper's dataset E).
"""

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import make_moons
from sklearn.neighbors import kneighbors_graph
from sklearn.utils import check_random_state

__all__ = ["lattice_graph", "make_lattice_problem", "make_moons_problem"]


def lattice_graph(rows, columns, weight=1e5, dtype=np.float64):
    """Weighted adjacency (CSR) of the ``rows x columns`` 4-neighbour grid, row-major nodes.

    Examples
    --------
    >>> from numsolve.semi_supervised import lattice_graph
    >>> lattice_graph(2, 3, weight=1.0).sum()
    np.float64(14.0)
    """
    n = rows * columns
    index = np.arange(n).reshape(rows, columns)
    right = (index[:, :-1].ravel(), index[:, 1:].ravel())
    down = (index[:-1, :].ravel(), index[1:, :].ravel())
    heads = np.concatenate([right[0], down[0], right[1], down[1]])
    tails = np.concatenate([right[1], down[1], right[0], down[0]])
    values = np.full(heads.size, weight, dtype=dtype)
    W = sp.csr_matrix((values, (heads, tails)), shape=(n, n))
    W.sort_indices()
    return W


def _labelled(n, fraction, minimum, random_state):
    rng = check_random_state(random_state)
    count = min(n, max(minimum, int(round(fraction * n))))
    return np.sort(rng.choice(n, size=count, replace=False)), rng


def make_lattice_problem(rows, columns, *, weight=1e5, fraction=0.04, minimum=100,
                         random_state=0):
    """Lattice label propagation: returns ``(W, labelled, values)``.

    ``labelled`` holds the indices of the labelled nodes (``fraction`` of them, at least
    ``minimum``) and ``values`` their real labels ``10 * randn``.

    Examples
    --------
    >>> from numsolve.semi_supervised import make_lattice_problem
    >>> W, labelled, values = make_lattice_problem(50, 50)
    >>> W.shape, labelled.size
    ((2500, 2500), 100)
    """
    W = lattice_graph(rows, columns, weight)
    labelled, rng = _labelled(rows * columns, fraction, minimum, random_state)
    return W, labelled, 10.0 * rng.standard_normal(labelled.size)


def make_moons_problem(n_samples, *, noise=0.2, n_neighbors=5, fraction=0.05, minimum=100,
                       random_state=0):
    """Two-moons label propagation: returns ``(X, y, W)``.

    ``y`` holds the class (0 or 1) of the labelled points and -1 elsewhere; ``W`` is the
    symmetrised ``n_neighbors``-nearest-neighbour graph with unit weights.

    Examples
    --------
    >>> from numsolve.semi_supervised import make_moons_problem
    >>> X, y, W = make_moons_problem(2000)
    >>> X.shape, int((y >= 0).sum())
    ((2000, 2), 100)
    """
    X, classes = make_moons(n_samples=n_samples, noise=noise, random_state=random_state)
    labelled, _ = _labelled(n_samples, fraction, minimum, random_state)
    y = np.full(n_samples, -1, dtype=np.int64)
    y[labelled] = classes[labelled]
    A = kneighbors_graph(X, n_neighbors, mode="connectivity", include_self=False)
    W = A.maximum(A.T).tocsr()
    W.sort_indices()
    return X, y, W
