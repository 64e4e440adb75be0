"""Starting factors for alternating minimisation: trimmed spectral initialisation or random."""

import numpy as np
from sklearn.utils.extmath import randomized_svd

__all__ = [
    "TRIM_FACTOR", "balance_spectral_start", "random_init", "random_start", "spectral_init",
]

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
    left, sing, right_t = randomized_svd(
        X, rank, n_oversamples=max(10, rank), n_iter=6, random_state=random_state
    )
    return balance_spectral_start(left, sing, right_t, m, rank, X.nnz / (m * n), X.dtype)


def balance_spectral_start(left, sing, right_t, m, rank, p, dtype):
    """Trim and balance a top-``rank`` SVD ``left diag(sing) right_t`` of the observations.

    Singular values are rescaled by ``1 / p`` (``p`` the observed fraction), rows of ``left``
    longer than ``TRIM_FACTOR * sqrt(rank / m)`` are zeroed, and the product is split evenly
    between the two factors.
    """
    sing = sing / p
    norms = np.linalg.norm(left, axis=1)
    trimmed = np.where((norms > TRIM_FACTOR * np.sqrt(rank / m))[:, None], 0.0, left)
    Q, R = np.linalg.qr(trimmed)
    inner_left, inner_sing, inner_right_t = np.linalg.svd(R * sing)
    root = np.sqrt(inner_sing)
    U = (Q @ inner_left) * root
    V = (right_t.T @ inner_right_t.T) * root
    return U.astype(dtype), V.astype(dtype)


def random_init(X, rank, random_state):
    """Random ``U`` and zero ``V`` (the first half-step solves for ``V``).

    ``U`` has orthogonal columns of the norm a balanced factor of ``(1/p) P_Omega(M)``
    would have, ``(||M_Omega||_F / sqrt(p rank))^(1/2)``, so that a ridge penalty does not
    crush the first ``V``.
    """
    return random_start(X.shape, rank, np.linalg.norm(X.data), X.nnz, random_state, X.dtype)


def random_start(shape, rank, data_norm, nnz, random_state, dtype):
    """:func:`random_init` from the shape, the norm and the count of the observations."""
    m, n = shape
    p = nnz / (m * n)
    scale = np.sqrt(data_norm / np.sqrt(p * rank))
    U, _ = np.linalg.qr(random_state.standard_normal((m, rank)))
    return (U * scale).astype(dtype), np.zeros((n, rank), dtype=dtype)
