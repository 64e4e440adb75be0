"""Multi-colour SOR for ``cupyx.scipy.sparse`` matrices, on the GPU.

The colouring needs only the sparsity pattern: it is copied to the host explicitly (index
arrays, once per call), coloured there, and the permuted matrix, its colour blocks and all
sweeps stay on the device (:func:`~numsolve.linalg._multicolor.multicolor_loop`).
"""

import time

import numpy as np
import scipy.sparse as sp

from ._coloring import color_rows, colour_blocks
from ._multicolor import multicolor_loop

__all__ = ["is_cupyx_sparse", "sor_cupyx"]


def is_cupyx_sparse(A):
    """True for a ``cupyx.scipy.sparse`` matrix (checked without importing CuPy)."""
    return type(A).__module__.startswith("cupyx.scipy.sparse")


def sor_cupyx(A, b, x0, omega, tol, maxiter, symmetric, finish):
    """Run multi-colour SOR on CuPy sparse ``A``; ``finish`` builds the SolveResult."""
    import array_api_compat
    import cupy

    xp = array_api_compat.array_namespace(cupy.empty(0))
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {A.shape}")
    n = A.shape[0]
    A = A.tocsr()
    b = cupy.asarray(b)
    if b.shape != (n,):
        raise ValueError(f"b has shape {b.shape}, expected ({n},)")
    dtype = cupy.result_type(A.dtype, b.dtype)
    if not bool(cupy.all(cupy.isfinite(A.data))) or not bool(cupy.all(cupy.isfinite(b))):
        raise ValueError("A or b contains NaN or infinity")
    diag = A.diagonal()
    if bool(cupy.any(diag == 0)):
        raise ValueError("A has zero (or missing) diagonal entries; SOR divides by the diagonal")
    x = cupy.zeros(n, dtype=dtype) if x0 is None else cupy.array(x0, dtype=dtype, copy=True)
    start = time.perf_counter()
    pattern = sp.csr_matrix((np.ones(A.nnz), A.indices.get(), A.indptr.get()), shape=A.shape)
    order_host, bounds = colour_blocks(color_rows(pattern))
    order = cupy.asarray(order_host)
    Ap = A[order][:, order].tocsr().astype(dtype)
    blocks = [(int(lo), int(hi), Ap[int(lo):int(hi)]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    bnorm = float(cupy.linalg.norm(b))
    tol_abs = tol * bnorm
    xperm, n_iter, residuals = multicolor_loop(xp, Ap, blocks, diag[order].astype(dtype),
                                               b[order].astype(dtype), x[order], omega,
                                               symmetric, tol_abs, maxiter)
    out = cupy.empty_like(xperm)
    out[order] = xperm
    return finish(out, n_iter, np.asarray(residuals), bnorm, tol_abs, maxiter,
                  time.perf_counter() - start, omega, "multicolor", symmetric)
