"""The split form the SOR kernels read: off-diagonal CSR, diagonal and its inverse."""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .._validation import check_matrix, check_square
from . import _sor

__all__ = ["SplitMatrix", "split_matrix"]


class SplitMatrix(NamedTuple):
    """Off-diagonal CSR arrays (strictly lower entries first in each row), diagonal, inverse.

    ``ustart[i]`` is where row ``i``'s strictly upper entries begin in ``odata``/``oind``.
    """

    odata: np.ndarray
    oind: np.ndarray
    optr: np.ndarray
    ustart: np.ndarray
    diag: np.ndarray
    inv_diag: np.ndarray

    @property
    def n(self):
        """Number of rows."""
        return self.diag.shape[0]

    @property
    def dtype(self):
        """Float dtype of the values."""
        return self.diag.dtype

    def kernel_args(self):
        """The six arrays in the order the Cython kernels take them."""
        return self.odata, self.oind, self.optr, self.ustart, self.diag, self.inv_diag


def _fast_csr(A, name, dtype):
    """``(data, indices, indptr)`` of a SciPy CSR matrix, checked without conversions.

    The split accepts any CSR layout (unsorted indices, duplicates). Returns None for every
    other input, which then goes through the general validation.
    """
    if not (sp.issparse(A) and A.format == "csr" and A.dtype.kind == "f"):
        return None
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {A.shape}")
    target = dtype if dtype is not None else (
        A.dtype if A.dtype in (np.float32, np.float64) else None)
    if target is None or A.indices.dtype not in (np.int32, np.int64) or A.shape[0] == 0:
        return None
    if not np.isfinite(A.data).all():
        raise ValueError(f"Input {name} contains NaN or infinity.")
    return (A.data.astype(target, copy=False), A.indices,
            A.indptr.astype(A.indices.dtype, copy=False))


def split_matrix(A, name="A", dtype=None):
    """Validate square ``A`` (dense or sparse) and split it for the SOR kernels.

    Parameters
    ----------
    A : array-like or sparse matrix of shape (n, n)
        Finite real matrix with a non-zero diagonal.
    name : str, default="A"
        Argument name for error messages.
    dtype : {np.float32, np.float64}, optional
        Value dtype; by default float32 stays float32 and everything else becomes float64.

    Returns
    -------
    SplitMatrix

    Raises
    ------
    ValueError
        If ``A`` is not square, not finite, or has a zero or missing diagonal entry.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linalg._operator import split_matrix
    >>> M = split_matrix(np.array([[4.0, -1.0], [-1.0, 4.0]]))
    >>> M.diag, M.odata
    (array([4., 4.]), array([-1., -1.]))
    """
    arrays = _fast_csr(A, name, dtype)
    if arrays is None:
        A = check_square(check_matrix(A, name, accept_sparse=True, dtype=dtype), name)
        if not isinstance(A, sp.csr_matrix):
            A = sp.csr_matrix(A)
        arrays = A.data, A.indices, A.indptr.astype(A.indices.dtype, copy=False)
    data, indices, indptr = arrays
    n = indptr.shape[0] - 1
    nnz = int(indptr[-1])
    odata = np.empty(nnz, dtype=data.dtype)
    oind = np.empty(nnz, dtype=indices.dtype)
    optr = np.empty(n + 1, dtype=indices.dtype)
    ustart = np.empty(n, dtype=indices.dtype)
    diag = np.empty(n, dtype=data.dtype)
    count = _sor.split_csr(data, indices, indptr, odata, oind, optr, ustart, diag)
    zero = np.flatnonzero(diag == 0)
    if zero.size:
        shown = ", ".join(str(i) for i in zero[:5]) + (", ..." if zero.size > 5 else "")
        raise ValueError(
            f"{name} has {zero.size} zero (or missing) diagonal entries, at rows {shown}; "
            "SOR divides by the diagonal"
        )
    return SplitMatrix(odata[:count], oind[:count], optr, ustart, diag, 1 / diag)
