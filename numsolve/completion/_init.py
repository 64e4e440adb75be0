"""Starting factors for alternating minimisation: clipped spectral initialisation or random."""

import numpy as np
from sklearn.utils.extmath import randomized_svd

__all__ = ["CLIP_FACTOR", "random_init", "spectral_init"]

CLIP_FACTOR = 4.0
"""Rows of the spectral ``U`` longer than ``CLIP_FACTOR * sqrt(k / m)`` are clipped to that
length: the incoherence projection ``2 mu sqrt(k / m)`` of Jain, Netrapalli and Sanghavi with
``mu = 2``."""


def spectral_init(X, rank, random_state):
    """Top-``rank`` SVD of the rescaled observations ``(1/p) P_Omega(M)``, rows of U clipped.

    The SVD is a randomised range finder on the sparse matrix (never densified). Returns
    ``U`` with orthonormal columns and ``V`` such that ``U V^T`` approximates ``M``.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (m, n)
        The observations.
    rank : int
    random_state : numpy.random.RandomState

    Returns
    -------
    U : ndarray of shape (m, rank)
    V : ndarray of shape (n, rank)

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from numsolve.completion._init import spectral_init
    >>> X = sp.csr_matrix(np.outer(np.arange(1.0, 5.0), np.ones(3)))
    >>> U, V = spectral_init(X, 1, np.random.RandomState(0))
    >>> bool(np.allclose(U @ V.T, X.toarray()))
    True
    """
    m, n = X.shape
    p = X.nnz / (m * n)
    left, sing, right_t = randomized_svd(
        X, rank, n_oversamples=max(10, rank), n_iter=6, random_state=random_state
    )
    sing = sing / p
    norms = np.linalg.norm(left, axis=1)
    limit = CLIP_FACTOR * np.sqrt(rank / m)
    scale = np.minimum(1.0, limit / np.maximum(norms, np.finfo(float).tiny))
    clipped = left * scale[:, None]
    Q, R = np.linalg.qr(clipped)
    V = (right_t.T * sing) @ R.T
    return Q.astype(X.dtype), V.astype(X.dtype)


def random_init(shape, rank, random_state, dtype):
    """Random orthonormal ``U`` and zero ``V`` (the first half-step solves for ``V``)."""
    m, n = shape
    U, _ = np.linalg.qr(random_state.standard_normal((m, rank)))
    return U.astype(dtype), np.zeros((n, rank), dtype=dtype)
