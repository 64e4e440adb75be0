"""The Sven step: a truncated minimum-norm (pseudo-inverse) solve of ``J d = r``.

Two routes compute the same step ``d = J⁺_k r``:

* :func:`gram_weights` works in sample space: from the ``M x M`` Gram matrix ``G = J Jᵀ``
  (float64) and its eigendecomposition it returns ``w = U_k Λ_k⁻¹ U_kᵀ r`` so that
  ``d = Jᵀ w``; the ``(M, P)`` Jacobian never has to be decomposed (nor even formed);
* :func:`svd_step` decomposes ``J`` itself, by a full thin SVD or a randomized one
  (:func:`sklearn.utils.extmath.randomized_svd`, NumPy only).

Both keep the ``min(k, kmax)`` largest singular values, where ``kmax`` counts those above
``rtol`` times the largest, and never any at the numerical noise floor.
"""

import numpy as np
import scipy.linalg
from sklearn.utils.extmath import randomized_svd

from ..._array_api import is_numpy

__all__ = ["gram_weights", "svd_step", "truncation_rank"]


def truncation_rank(singular_values, k, rtol, floor):
    """Number of leading singular values kept by the Sven truncation rule.

    Parameters
    ----------
    singular_values : ndarray of shape (m,)
        Non-negative, in descending order (NumPy, on the host).
    k : int or None
        Rank cap; ``None`` keeps every value that passes the tolerances.
    rtol : float
        Values at or below ``rtol * singular_values[0]`` are dropped.
    floor : float
        Values at or below ``floor * singular_values[0]`` are dropped as numerical noise.

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural._sven._pinv import truncation_rank
    >>> truncation_rank(np.array([4.0, 1.0, 1e-3, 0.0]), k=None, rtol=1e-2, floor=1e-12)
    2
    >>> truncation_rank(np.array([4.0, 1.0, 1e-3, 0.0]), k=1, rtol=0.0, floor=1e-12)
    1
    """
    if singular_values.shape[0] == 0 or not singular_values[0] > 0:
        return 0
    cut = max(rtol, floor) * singular_values[0]
    rank = int(np.count_nonzero(singular_values > cut))
    return rank if k is None else min(rank, int(k))


def gram_weights(G, r, k=None, rtol=1e-3, xp=np):
    """Sample-space weights ``w`` with ``Jᵀ w = J⁺_k r``, from the Gram matrix ``G = J Jᵀ``.

    Parameters
    ----------
    G : array of shape (m, m)
        The symmetric positive semi-definite Gram matrix, preferably float64 (its condition
        number is the square of the Jacobian's).
    r : array of shape (m,)
        The residual rows.
    k : int or None, default=None
        Rank cap of the truncated pseudo-inverse.
    rtol : float, default=1e-3
        Relative cut on the singular values ``sqrt(eigenvalues)`` of ``J``.
    xp : namespace, default=numpy
        Array namespace of ``G`` and ``r``.

    Returns
    -------
    w : array of shape (m,)
        In ``G``'s namespace and dtype, on its device.
    rank : int
        The number of singular directions used.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural._sven._pinv import gram_weights
    >>> J = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    >>> r = np.array([1.0, 1.0])
    >>> w, rank = gram_weights(J @ J.T, r)
    >>> J.T @ w, rank
    (array([1. , 0.5, 0. ]), 2)
    """
    m = G.shape[0]
    if is_numpy(xp):
        eigenvalues, vectors = scipy.linalg.eigh(G, check_finite=False, driver="evr")
        eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]
        host_eigenvalues = eigenvalues
    else:
        eigenvalues, vectors = xp.linalg.eigh(G)
        eigenvalues = xp.flip(eigenvalues)
        vectors = xp.flip(vectors, axis=1)
        host_eigenvalues = _to_host(eigenvalues, xp)
    singular = np.sqrt(np.maximum(host_eigenvalues, 0.0))
    floor = np.sqrt(max(m, 1) * np.finfo(np.float64).eps)
    rank = truncation_rank(singular, k, rtol, floor)
    if rank == 0:
        return xp.zeros_like(r), 0
    kept = vectors[:, :rank]
    coefficients = (xp.matmul(xp.permute_dims(kept, (1, 0)), xp.astype(r, G.dtype))
                    / eigenvalues[:rank])
    return xp.astype(xp.matmul(kept, coefficients), r.dtype), rank


def svd_step(J, r, k=None, rtol=1e-3, *, method="svd", random_state=None, xp=np):
    """The truncated pseudo-inverse solution ``d = J⁺_k r`` from an SVD of ``J``.

    Parameters
    ----------
    J : array of shape (m, p)
        The Jacobian.
    r : array of shape (m,)
        The residual rows.
    k : int or None, default=None
        Rank cap (required for ``method="randomized"``).
    rtol : float, default=1e-3
        Relative cut on the singular values.
    method : {"svd", "randomized"}, default="svd"
        Full thin SVD (:func:`scipy.linalg.svd`, or the namespace's ``linalg.svd``) or
        Halko's randomized SVD of rank ``k`` (NumPy only).
    random_state : int, RandomState or None
        Seed of the randomized SVD.
    xp : namespace, default=numpy

    Returns
    -------
    d : array of shape (p,)
    rank : int

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural._sven._pinv import svd_step
    >>> J = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> d, rank = svd_step(J, np.array([1.0, 1.0, 5.0]))
    >>> d, rank
    (array([1. , 0.5]), 2)
    """
    if method == "randomized":
        U, s, Vt = randomized_svd(J, n_components=int(k), n_oversamples=5, n_iter=2,
                                  random_state=random_state)
        host_s = s
    elif is_numpy(xp):
        U, s, Vt = scipy.linalg.svd(J, full_matrices=False, check_finite=False,
                                    lapack_driver="gesdd")
        host_s = s
    else:
        U, s, Vt = xp.linalg.svd(J, full_matrices=False)
        host_s = _to_host(s, xp)
    floor = max(J.shape) * float(xp.finfo(J.dtype).eps)
    rank = truncation_rank(np.asarray(host_s, dtype=np.float64), k, rtol, floor)
    if rank == 0:
        return xp.zeros((J.shape[1],), dtype=J.dtype, device=_device(J)), 0
    coefficients = xp.matmul(xp.permute_dims(U[:, :rank], (1, 0)), r) / s[:rank]
    return xp.matmul(xp.permute_dims(Vt[:rank, :], (1, 0)), coefficients), rank


def _to_host(array, xp):
    from ..._array_api import to_numpy

    return np.asarray(to_numpy(array), dtype=np.float64)


def _device(array):
    from array_api_compat import device

    return device(array)
