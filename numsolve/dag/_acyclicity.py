"""Differentiable acyclicity functions h(W) >= 0, zero exactly on DAGs, with gradients.

All three use the elementwise square ``W o W`` (not ``|W|``).
"""

import numpy as np
import scipy.linalg


__all__ = ["h_exp", "h_logdet", "h_poly"]


def h_exp(W):
    """NOTEARS: ``h(W) = tr exp(W o W) - d`` and its gradient ``2 exp(W o W)^T o W``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import h_exp
    >>> h, g = h_exp(np.array([[0.0, 1.0], [0.0, 0.0]]))
    >>> float(h)
    0.0
    """
    W = np.asarray(W, dtype=float)
    E = scipy.linalg.expm(W * W)
    return float(np.trace(E) - W.shape[0]), 2.0 * E.T * W


def h_logdet(W, s=1.0):
    """DAGMA: ``h(W) = -log det(sI - W o W) + d log s``, gradient ``2 (sI - W o W)^{-T} o W``.

    Valid where ``sI - W o W`` is an M-matrix (spectral radius of ``W o W`` below ``s``).

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import h_logdet
    >>> h, g = h_logdet(np.array([[0.0, 0.5], [0.5, 0.0]]))
    >>> round(float(h), 4)
    0.0645
    """
    W = np.asarray(W, dtype=float)
    d = W.shape[0]
    M = s * np.eye(d) - W * W
    sign, logabsdet = np.linalg.slogdet(M)
    if sign <= 0:
        raise ValueError("W is outside the domain of h_logdet (sI - W o W is not positive)")
    return float(-logabsdet + d * np.log(s)), 2.0 * np.linalg.inv(M).T * W


def h_poly(W):
    """Polynomial: ``h(W) = tr (I + W o W / d)^d - d``, gradient ``2 ((I + W o W/d)^{d-1})^T o W``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import h_poly
    >>> h, g = h_poly(np.zeros((3, 3)))
    >>> float(h)
    0.0
    """
    W = np.asarray(W, dtype=float)
    d = W.shape[0]
    M = np.eye(d) + W * W / d
    P = np.linalg.matrix_power(M, d - 1)
    return float(np.trace(P @ M) - d), 2.0 * P.T * W


def path_weights(W, kind="logdet", order=None):
    """Gradient of ``h`` with respect to the squared weights ``A = W o W``.

    Entry ``(i, j)`` is zero exactly when the graph of ``W`` has no directed path ``j -> i``,
    that is when the edge ``i -> j`` could be added without creating a cycle. With ``order``
    (a topological order of ``W``) the log-det inverse is one unit-triangular solve.
    """
    A = np.asarray(W, dtype=float) ** 2
    d = A.shape[0]
    if kind == "logdet" and order is not None:
        Ap = A[np.ix_(order, order)]
        # (I - triu(Ap))^{-1}; LAPACK reads only the strict upper triangle of a unit triangle
        inv, _ = scipy.linalg.lapack.dtrtri(-np.triu(Ap, 1), lower=0, unitdiag=1)
        np.fill_diagonal(inv, 1.0)  # nor does it write the unit diagonal
        out = np.empty((d, d))
        out[np.ix_(order, order)] = inv.T
        return out
    if kind == "exp":
        return scipy.linalg.expm(A).T
    if kind == "logdet":
        return np.linalg.inv(np.eye(d) - A).T
    if kind == "poly":
        return np.linalg.matrix_power(np.eye(d) + A / d, d - 1).T
    raise ValueError(f"acyclicity must be 'exp', 'logdet' or 'poly', got {kind!r}")
