"""One half-step of alternating minimisation on a block of rows: the per-row ridge regressions.

:func:`solve_rows` is self-contained (arrays in, factor rows out) so that a block of rows can be
solved anywhere, for instance on a Dask worker that holds the block's CSR slice and a copy of
the fixed factor.
"""

import numpy as np

from .._array_api import array_namespace
from ._row_solves import cg_rows, exact_rows, sketched_rows
from ._threads import kernel_threads

__all__ = ["SOLVERS", "count_reference", "row_ridge", "solve_rows"]

SOLVERS = ("cg", "sketched", "exact")


def row_ridge(counts, reg, reg_scaling, reference=None):
    """Per-row ridge weights (float64 for NumPy counts, any Array API namespace otherwise).

    ``"none"``: ``reg`` for every row; ``"count"``: ``reg * count`` (ALS-WR); a number ``a``
    in ``[0, 1]``: ``reg * (count / reference) ** a``, the ridge of a row with ``reference``
    observations (default: :func:`count_reference` of ``counts``) being ``reg``.
    """
    counts = counts.astype(np.float64) if isinstance(counts, np.ndarray) else counts
    if reg_scaling == "count":
        return reg * counts
    if reg_scaling == "none":
        return reg + 0.0 * counts
    if reference is None:
        reference = count_reference(counts)
    return reg * (counts / reference) ** reg_scaling


def count_reference(counts):
    """Mean count of the rows that have any observation (1 when none has)."""
    xp = array_namespace(counts)
    observed = float(xp.sum(xp.astype(counts > 0, counts.dtype)))
    return float(xp.sum(counts)) / observed if observed else 1.0


def solve_rows(indptr, indices, data, fixed, start, lam, *, solver="cg", inner_iter=3,
               inner_tol=1e-10, sketch_size=None, fixed_counts=None, random_state=None,
               num_threads=None):
    """Solve ``min_x ||fixed[idx_i] x - b_i||^2 + lam_i ||x||^2`` for every row of a CSR block.

    Parameters
    ----------
    indptr, indices, data : ndarray
        CSR arrays of the block's observed entries; ``indices`` are rows of ``fixed``. Index
        arrays must be int64 and ``data`` of ``fixed``'s dtype (checked by the caller).
    fixed : ndarray of shape (n_fixed, k)
        The factor held fixed in this half-step (C-contiguous).
    start : ndarray of shape (n_rows, k)
        Current factor rows, the warm start of the approximate solvers (ignored by ``"exact"``).
    lam : ndarray of shape (n_rows,)
        Ridge weight of every row (see :func:`row_ridge`).
    solver : {"cg", "sketched", "exact"}, default="cg"
        ``"exact"``: Cholesky of each row's normal equations, ``O(|idx_i| k^2 + k^3)``.
        ``"cg"``: at most ``inner_iter`` warm-started CG steps per row, ``O(|idx_i| k)`` each,
        preconditioned by the Gram matrix expected under the block's sampling pattern,
        ``|idx_i| / nnz * fixed^T diag(column counts) fixed`` (one k x k eigendecomposition per
        block; the fixed factor is rotated into its eigenbasis so the preconditioner is diagonal).
        ``"sketched"``: the paper's sketch-and-precondition, a CountSketch of
        ``sketch_size`` rows per regression, CG preconditioned by its Cholesky factor.
    inner_iter : int, default=3
        Maximum CG steps per row and half-step (approximate solvers).
    inner_tol : float, default=1e-10
        CG stops once the normal-equation residual is below ``inner_tol * ||A^T b||``.
    sketch_size : int, optional
        Rows of the CountSketch (``"sketched"``); default ``4 k``.
    fixed_counts : ndarray of shape (n_fixed,), optional
        Observations of every row of ``fixed`` in the whole matrix, for the ``"cg"``
        preconditioner; counted in this block when omitted. Pass the global counts when the
        rows are split into blocks (on several workers) to get the same answer for any split.
    random_state : numpy.random.Generator, optional
        Draws the CountSketch hashes (``"sketched"`` only).
    num_threads : int, optional
        OpenMP threads sharing the rows; by default one for small blocks (see
        :func:`numsolve.completion._threads.kernel_threads`), the OpenMP pool otherwise. The
        result does not depend on it.

    Returns
    -------
    rows : ndarray of shape (n_rows, k)
    n_steps : int
        CG steps taken in all (0 for ``"exact"``).

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.completion import solve_rows
    >>> F = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> indptr, indices = np.array([0, 3]), np.array([0, 1, 2])
    >>> rows, _ = solve_rows(indptr, indices, np.array([1.0, 2.0, 3.0]), F,
    ...                      np.zeros((1, 2)), np.zeros(1), solver="exact")
    >>> np.round(rows, 6)
    array([[1., 2.]])
    """
    n_rows, k = start.shape
    threads = kernel_threads(indices.shape[0] * k) if num_threads is None else int(num_threads)
    lam = np.ascontiguousarray(lam, dtype=np.float64)
    out = np.empty((n_rows, k), dtype=fixed.dtype)
    if solver == "exact":
        exact_rows(indptr, indices, data, fixed, lam, out, threads)
        return out, 0
    if solver == "cg":
        if fixed_counts is None:
            fixed_counts = np.bincount(indices, minlength=fixed.shape[0])
        counts = np.asarray(fixed_counts, dtype=fixed.dtype)
        gram = (fixed.T * counts) @ fixed / max(float(counts.sum()), 1.0)
        scale, basis = np.linalg.eigh(gram.astype(np.float64))
        basis = basis.astype(fixed.dtype)
        rotated = np.ascontiguousarray(fixed @ basis)
        start_rotated = np.ascontiguousarray(start @ basis)
        n_steps = cg_rows(indptr, indices, data, rotated, lam, np.maximum(scale, 0.0),
                          start_rotated, int(inner_iter), float(inner_tol), out, threads)
        return out @ basis.T, int(n_steps)
    if solver == "sketched":
        size = int(sketch_size) if sketch_size is not None else 4 * k
        rng = np.random.default_rng() if random_state is None else random_state
        bucket = rng.integers(0, size, size=fixed.shape[0], dtype=np.int64)
        sign = rng.choice(np.array([-1.0, 1.0]), size=fixed.shape[0])
        n_steps = sketched_rows(indptr, indices, data, fixed, lam,
                                bucket.astype(indices.dtype, copy=False), sign, size,
                                np.ascontiguousarray(start), int(inner_iter),
                                float(inner_tol), out, threads)
        return out, int(n_steps)
    raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
