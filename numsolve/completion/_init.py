"""Starting factors for alternating minimisation: trimmed spectral initialisation or random."""

import numpy as np
from sklearn.utils.extmath import randomized_svd

__all__ = ["TRIM_FACTOR", "random_init", "spectral_init"]

TRIM_FACTOR = 4.0
"""Rows of the spectral ``U`` longer than ``TRIM_FACTOR * sqrt(k / m)`` are set to zero before
re-orthonormalising: the trimming step ``2 mu sqrt(k / m)`` of Jain, Netrapalli and Sanghavi with
``mu = 2``, which keeps a few over-sampled or coherent rows from steering the start."""


def spectral_init(X, rank, random_state):
    """Top-``rank`` SVD of the rescaled observations ``(1/p) P_Omega(M)``, rows of U trimmed.

    The SVD is a randomised range finder on the sparse matrix (never densified). The factors
    are balanced (``U^T U = V^T V``, diagonal) so that a ridge penalty treats them alike.

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
        ``U V^T`` approximates ``M``.

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
    trimmed = np.where((norms > TRIM_FACTOR * np.sqrt(rank / m))[:, None], 0.0, left)
    Q, R = np.linalg.qr(trimmed)
    inner_left, inner_sing, inner_right_t = np.linalg.svd(R * sing)
    root = np.sqrt(inner_sing)
    U = (Q @ inner_left) * root
    V = (right_t.T @ inner_right_t.T) * root
    return U.astype(X.dtype), V.astype(X.dtype)


def random_init(X, rank, random_state):
    """Random ``U`` and zero ``V`` (the first half-step solves for ``V``).

    ``U`` has orthogonal columns of the norm a balanced factor of ``(1/p) P_Omega(M)``
    would have, ``(||M_Omega||_F / sqrt(p rank))^(1/2)``, so that a ridge penalty does not
    crush the first ``V``.
    """
    m, n = X.shape
    p = X.nnz / (m * n)
    scale = np.sqrt(np.linalg.norm(X.data) / np.sqrt(p * rank))
    U, _ = np.linalg.qr(random_state.standard_normal((m, rank)))
    return (U * scale).astype(X.dtype), np.zeros((n, rank), dtype=X.dtype)
