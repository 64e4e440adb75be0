"""Starting factors for alternating minimisation: trimmed spectral initialisation or random,
and the checks of ``init`` that the compiled, Array API and Dask paths share."""

import numpy as np
from sklearn.utils.extmath import randomized_svd

__all__ = [
    "INIT_OPTIONS", "TRIM_FACTOR", "balance_spectral_start", "check_given_factors", "check_init",
    "random_init", "random_start", "spectral_init",
]

# the starts altmin computes itself; a tuple (U0, V0) gives the factors instead
INIT_OPTIONS = ("svd", "random")

TRIM_FACTOR = 4.0
"""Rows of the spectral ``U`` longer than ``TRIM_FACTOR * sqrt(k / m)`` are set to zero before
re-orthonormalising: the trimming step ``2 mu sqrt(k / m)`` of Jain, Netrapalli and Sanghavi with
``mu = 2``, which keeps a few over-sampled or coherent rows from steering the start."""


def check_init(init):
    """Raise :class:`ValueError` unless ``init`` is ``"svd"``, ``"random"`` or a pair
    ``(U0, V0)`` (whose shapes :func:`check_given_factors` checks once they are arrays)."""
    if isinstance(init, tuple):
        if len(init) != 2:
            raise ValueError("init as a tuple must be (U0, V0)")
    elif not (isinstance(init, str) and init in INIT_OPTIONS):
        raise ValueError(f"init must be 'svd', 'random' or a tuple (U0, V0), got {init!r}")


def check_given_factors(U, V, shape, rank, xp=np):
    """Raise :class:`ValueError` unless the starting factors ``U`` and ``V`` (arrays of the
    namespace ``xp``) have shapes ``(m, rank)`` and ``(n, rank)`` for ``shape = (m, n)`` and
    finite entries."""
    expected = (shape[0], rank), (shape[1], rank)
    if (tuple(U.shape), tuple(V.shape)) != expected:
        raise ValueError(f"init factors have shapes {tuple(U.shape)} and {tuple(V.shape)}, "
                         f"expected {expected[0]} and {expected[1]}")
    if not (bool(xp.all(xp.isfinite(U))) and bool(xp.all(xp.isfinite(V)))):
        raise ValueError("init factors contain NaN or infinity")


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
