"""Observed entries of a partially known matrix: validation and conversion to CSR/CSC.

A matrix with missing entries is given either as a SciPy sparse matrix whose stored entries are
the observations, or as a dense array with NaN for missing entries. Both become one canonical
CSR matrix (sorted indices, no duplicates) whose stored entries, explicit zeros included, are
exactly the observations; the caller's arrays are never modified and sparse input is never
densified.
"""

import numpy as np
import scipy.sparse as sp

from .._validation import FLOAT_DTYPES

__all__ = ["check_observed", "check_rank", "sparse_to_index_arrays"]


def check_observed(M, name="M", *, observe_zeros=False, dtype=None):
    """Validate a partially observed matrix and return its observations as CSR.

    Parameters
    ----------
    M : array-like of shape (m, n) with NaN for missing entries, or sparse matrix
        The observed entries.
    name : str, default="M"
        Argument name used in error messages.
    observe_zeros : bool, default=False
        For sparse ``M``: whether explicitly stored zeros are observations (by default they are
        dropped, as most sparse constructors store zeros only by accident). Zeros of a dense
        ``M`` are always observations.
    dtype : numpy dtype, optional
        float32 or float64; by default float32 stays float32, anything else becomes float64.

    Returns
    -------
    scipy.sparse.csr_matrix
        The observations, with int64 index arrays.

    Raises
    ------
    ValueError
        If ``M`` is not 2-D, is empty, has no observed entry, or an observed value is infinite
        (or NaN, for sparse input).
    TypeError
        If ``M`` is complex or not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.completion._observed import check_observed
    >>> X = check_observed(np.array([[1.0, np.nan], [0.0, 2.0]]))
    >>> X.nnz, X.toarray().tolist()
    (3, [[1.0, 0.0], [0.0, 2.0]])
    """
    if M is None:
        raise ValueError(f"{name} is required, got None")
    if sp.issparse(M):
        matrix = _check_sparse(M, name, observe_zeros)
    else:
        matrix = _check_dense(M, name)
    if dtype is not None:
        matrix = matrix.astype(dtype, copy=False)
    if matrix.nnz == 0:
        raise ValueError(f"{name} has no observed entries")
    return matrix


def _float_dtype(dtype):
    return np.dtype(dtype) if np.dtype(dtype) in FLOAT_DTYPES else np.dtype(np.float64)


def _check_sparse(M, name, observe_zeros):
    if np.issubdtype(M.dtype, np.complexfloating):
        raise TypeError(f"{name} has complex dtype {M.dtype}; numsolve solves real problems")
    if not (np.issubdtype(M.dtype, np.number) or M.dtype == np.bool_):
        raise TypeError(f"{name} must be numeric, got dtype {M.dtype}")
    if len(M.shape) != 2:
        raise ValueError(f"{name} must be 2-D, got shape {M.shape}")
    _check_shape(M.shape, name)
    coo = sp.coo_matrix(M)
    data = coo.data.astype(_float_dtype(M.dtype))
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{name} has non-finite (NaN or infinite) observed values")
    keep = slice(None) if observe_zeros else data != 0
    csr = sp.csr_matrix(
        (data[keep], (coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64))),
        shape=M.shape,
    )
    csr.sum_duplicates()
    return _int64_indices(csr)


def _check_dense(M, name):
    array = np.asarray(M)
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} has complex dtype {array.dtype}; numsolve solves real problems")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {array.shape}")
    _check_shape(array.shape, name)
    array = array.astype(_float_dtype(array.dtype), copy=False)
    observed = ~np.isnan(array)
    values = array[observed]
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} has non-finite (infinite) observed values")
    rows, cols = np.nonzero(observed)
    indptr = np.zeros(array.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=array.shape[0]), out=indptr[1:])
    return sp.csr_matrix((values, cols.astype(np.int64), indptr), shape=array.shape)


def _check_shape(shape, name):
    if shape[0] < 1 or shape[1] < 1:
        raise ValueError(f"{name} is empty (shape {tuple(shape)})")


def _int64_indices(matrix):
    matrix.indices = matrix.indices.astype(np.int64, copy=False)
    matrix.indptr = matrix.indptr.astype(np.int64, copy=False)
    return matrix


def check_rank(rank, shape, name="rank"):
    """Raise unless ``rank`` is an integer between 1 and ``min(shape)``; return it as int."""
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(rank).__name__}")
    if rank < 1:
        raise ValueError(f"{name} must be at least 1, got {rank}")
    if rank > min(shape):
        raise ValueError(
            f"{name}={rank} is larger than the matrix allows: min(m, n) = {min(shape)} "
            f"for shape {tuple(shape)}"
        )
    return int(rank)


def sparse_to_index_arrays(matrix):
    """``(indptr, indices, data)`` of a CSR or CSC matrix with int64 index arrays."""
    return (
        matrix.indptr.astype(np.int64, copy=False),
        matrix.indices.astype(np.int64, copy=False),
        matrix.data,
    )
