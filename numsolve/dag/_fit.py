"""The inner problem: for a fixed topological order, regress every node on its predecessors."""

import numpy as np

from numsolve._array_api import array_namespace, backend_of, require_backend
from numsolve._validation import check_matrix, check_xp_array
from numsolve.dag._checks import check_data_and_graph
from numsolve.dag._lasso_gram import lasso_gram

__all__ = ["fit_order", "logistic_score", "ls_score"]


def _gram_fit(G, order, lambda1):
    d = G.shape[0]
    W = np.zeros((d, d))
    for k in range(1, d):
        v = order[k]
        P = np.asarray(order[:k], dtype=np.int64)
        if lambda1 > 0:
            w = lasso_gram(G, v, P, float(lambda1), np.zeros(k), 1000, 1e-10)
        else:
            w = np.linalg.solve(G[np.ix_(P, P)], G[P, v])
        W[P, v] = w
    return W


def _check_order(order, d):
    order = np.asarray(order)
    if order.ndim != 1 or order.shape[0] != d or not np.array_equal(np.sort(order), np.arange(d)):
        raise ValueError(f"order must be a permutation of range({d}), got {order!r}")
    return order.astype(np.int64)


def fit_order(X, order, *, lambda1=0.0):
    """Weighted DAG consistent with ``order``: each node regressed on all its predecessors.

    Least squares (``lambda1 = 0``, exact normal equations on ``X^T X / n``) or Lasso on the
    Gram matrix. NumPy input uses the compiled path; other Array API namespaces (least
    squares only) are solved with that namespace's ``linalg.solve`` and returned there.

    Parameters
    ----------
    X : array of shape (n_samples, d)
    order : sequence of int
        A permutation of ``range(d)``, sources first.
    lambda1 : float, default=0.0
        L1 penalty (NumPy only).

    Returns
    -------
    W : array of shape (d, d)
        ``W[i, j]`` is the weight of the edge ``i -> j``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import fit_order
    >>> rng = np.random.default_rng(0)
    >>> x0 = rng.normal(size=500); X = np.c_[x0, 2 * x0 + rng.normal(size=500)]
    >>> W = fit_order(X, [0, 1])
    >>> round(float(W[0, 1]), 1)
    2.0
    """
    xp = array_namespace(X)
    backend = require_backend(xp, {"compiled", "generic"}, "fit_order")
    if not np.isscalar(lambda1) or lambda1 < 0:
        raise ValueError(f"lambda1 must be a non-negative number, got {lambda1!r}")
    if backend == "compiled":
        X = check_matrix(X, "X", ensure_min_samples=2)
        order = _check_order(order, X.shape[1])
        G = (X.T.astype(np.float64) @ X) / X.shape[0]
        return _gram_fit(G, order, lambda1).astype(X.dtype)
    if lambda1 > 0:
        raise ValueError("lambda1 > 0 is implemented for NumPy input only")
    check_xp_array(X, xp, "X", ndim=2)
    n, d = X.shape
    order = _check_order(order, d)
    G = xp.matmul(xp.permute_dims(X, (1, 0)), X) / n
    cols = []
    for j in range(d):
        cols.append(xp.zeros((d,), dtype=X.dtype, device=X.device))
    for k in range(1, d):
        v = int(order[k])
        P = xp.asarray(order[:k], device=X.device)
        GPP = xp.take(xp.take(G, P, axis=0), P, axis=1)
        GPv = xp.take(G[:, v], P, axis=0)
        w = xp.linalg.solve(GPP, GPv[:, None])[:, 0]
        full = [xp.zeros((1,), dtype=X.dtype, device=X.device) for _ in range(d)]
        for pos, node in enumerate(order[:k]):
            full[int(node)] = w[pos:pos + 1]
        cols[v] = xp.concat(full)
    return xp.stack(cols, axis=1)


def ls_score(X, W, lambda1=0.0):
    """Least-squares score ``1/(2n) ||X - X W||_F^2 + lambda1 ||W||_1``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import ls_score
    >>> float(ls_score(np.ones((4, 2)), np.zeros((2, 2))))
    1.0
    """
    X, W = check_data_and_graph(X, W)
    X = X.astype(np.float64)
    R = X - X @ W
    return float(0.5 * np.sum(R * R) / X.shape[0] + lambda1 * np.abs(W).sum())


def logistic_score(X, W, lambda1=0.0):
    """Logistic score ``1/n sum(log(1 + exp(XW)) - X o XW) + lambda1 ||W||_1`` for binary X.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import logistic_score
    >>> round(float(logistic_score(np.zeros((3, 2)), np.zeros((2, 2)))), 4)
    1.3863
    """
    X, W = check_data_and_graph(X, W)
    X = X.astype(np.float64)
    M = X @ W
    return float(np.sum(np.logaddexp(0.0, M) - X * M) / X.shape[0] + lambda1 * np.abs(W).sum())
