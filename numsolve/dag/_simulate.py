"""Random DAGs and structural equation models in the NOTEARS / DAGMA conventions."""

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["simulate_dag", "simulate_parameter", "simulate_linear_sem", "simulate_logistic_sem"]


def simulate_dag(d, s0, graph_type="ER", random_state=None):
    """Binary adjacency of a random DAG: Erdos-Renyi (``"ER"``) or scale-free (``"SF"``).

    ``s0`` is the expected number of edges; the DAG is a random relabelling of a triangular one.

    Examples
    --------
    >>> from numsolve.dag import simulate_dag, is_dag
    >>> B = simulate_dag(10, 20, "ER", random_state=0)
    >>> is_dag(B)
    True
    """
    if int(d) != d or d < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    if s0 < 0:
        raise ValueError(f"s0 must be non-negative, got {s0!r}")
    rng = check_random_state(random_state)
    d = int(d)
    B = np.zeros((d, d))
    if graph_type == "ER":
        p = min(1.0, 2.0 * s0 / (d * (d - 1))) if d > 1 else 0.0
        B = np.tril(rng.uniform(size=(d, d)) < p, k=-1).astype(float)
    elif graph_type == "SF":
        m = max(1, int(round(s0 / d)))
        for v in range(1, d):
            deg = B.sum(axis=0) + B.sum(axis=1) + 1.0
            k = min(m, v)
            parents = rng.choice(v, size=k, replace=False, p=deg[:v] / deg[:v].sum())
            B[v, parents] = 1.0
    else:
        raise ValueError(f"graph_type must be 'ER' or 'SF', got {graph_type!r}")
    perm = rng.permutation(d)
    return B.T[np.ix_(perm, perm)]


def simulate_parameter(B, w_ranges=((-2.0, -0.5), (0.5, 2.0)), random_state=None):
    """Weights uniform on the union of ``w_ranges`` on the support of ``B``."""
    rng = check_random_state(random_state)
    B = np.asarray(B, dtype=float)
    W = np.zeros(B.shape)
    pick = rng.randint(len(w_ranges), size=B.shape)
    for i, (low, high) in enumerate(w_ranges):
        W += B * (pick == i) * rng.uniform(low, high, size=B.shape)
    return W


def _order(W):
    d = W.shape[0]
    indeg = (W != 0).sum(axis=0)
    order, stack = [], [i for i in range(d) if indeg[i] == 0]
    while stack:
        v = stack.pop()
        order.append(v)
        for c in np.flatnonzero(W[v]):
            indeg[c] -= 1
            if indeg[c] == 0:
                stack.append(c)
    if len(order) != d:
        raise ValueError("W must be the adjacency of a DAG")
    return order


def simulate_linear_sem(W, n, noise="gauss", noise_scale=1.0, random_state=None):
    """Samples of ``X = X W + E`` with noise ``"gauss"``, ``"exp"``, ``"gumbel"`` or ``"uniform"``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import simulate_linear_sem
    >>> simulate_linear_sem(np.array([[0.0, 1.0], [0.0, 0.0]]), 5, random_state=0).shape
    (5, 2)
    """
    rng = check_random_state(random_state)
    W = np.asarray(W, dtype=float)
    d = W.shape[0]
    size = (int(n), d)
    if noise == "gauss":
        E = rng.normal(scale=noise_scale, size=size)
    elif noise == "exp":
        E = rng.exponential(scale=noise_scale, size=size)
    elif noise == "gumbel":
        E = rng.gumbel(scale=noise_scale, size=size)
    elif noise == "uniform":
        E = rng.uniform(-noise_scale, noise_scale, size=size)
    else:
        raise ValueError(f"noise must be 'gauss', 'exp', 'gumbel' or 'uniform', got {noise!r}")
    X = np.zeros(size)
    for v in _order(W):
        X[:, v] = X @ W[:, v] + E[:, v]
    return X


def simulate_logistic_sem(W, n, random_state=None):
    """Binary samples: ``X_j ~ Bernoulli(sigmoid(X W[:, j]))`` in topological order."""
    rng = check_random_state(random_state)
    W = np.asarray(W, dtype=float)
    X = np.zeros((int(n), W.shape[0]))
    for v in _order(W):
        p = 1.0 / (1.0 + np.exp(-(X @ W[:, v])))
        X[:, v] = rng.uniform(size=int(n)) < p
    return X
