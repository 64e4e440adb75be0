"""The design matrix as the compiled kernels see it: dense Fortran or CSC, float32 or float64."""

import numpy as np
import scipy.sparse as sp

from . import _cd as kernels
from ._prox_newton_kernels import solve_model, ws_sq_norms

__all__ = ["Design"]

_NO_INDEX = np.empty(0, dtype=np.int32)
_NO_CHECK = np.empty((0, 1))
# sparse columns storing at least this many entries on average: the full gradient in the
# compiled kernel rather than SciPy's product
_KERNEL_COLUMN = 32


class Design:
    """Column access to ``X`` for the working-set engine (no densification of sparse X).

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
        Float32 and float64 values are kept (other types become float64), viewed once as a
        Fortran-ordered array or a canonical CSC matrix with int32 or int64 indices; no copy
        when ``X`` already has that form. The kernels sum in float64 either way.
    """

    def __init__(self, X):
        self.sparse = sp.issparse(X)
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        if self.sparse:
            if not (isinstance(X, sp.csc_matrix) and X.dtype == dtype):
                # a new object forgets the validated input's cached canonical-format check,
                # which costs a pass over the entries (about one coordinate epoch)
                X = sp.csc_matrix(X, dtype=dtype)
            if not X.has_canonical_format:
                X = X.copy()
                X.sum_duplicates()
            indices = np.ascontiguousarray(X.indices)
            self._columns = (np.ascontiguousarray(X.data), indices,
                             np.ascontiguousarray(X.indptr, dtype=indices.dtype))
        else:
            X = np.asfortranarray(X, dtype=dtype)
            self._columns = (X.ravel(order="F"), _NO_INDEX, _NO_INDEX)
        self.X = X
        self.shape = X.shape
        self._every = np.arange(X.shape[1], dtype=np.int32)
        self._weights = self._same = None

    def col_sq_norms(self, a):
        """``sum_i a_i x_ij^2`` for every column."""
        out = np.empty(self.shape[1])
        kernels.col_sq_norms(*self._columns, np.ascontiguousarray(a, dtype=np.float64), out)
        return out

    def col_sq_norms_gradient(self, a, G):
        """``(col_sq_norms(a), gradient(G))`` in one pass over ``X`` where the gradient runs
        in the compiled kernel (one column of ``G``): each column is read once for both, as
        the first evaluation of a fit needs them together (sparse 20000 x 2000 at density
        1e-2: 0.36 -> 0.27 ms). Equal bit for bit to the two calls."""
        if G.shape[1] > 1 or self._scipy_gradient():
            return self.col_sq_norms(a), self.gradient(G)
        norms = np.empty(self.shape[1])
        grad = np.empty((self.shape[1], 1))
        kernels.col_sq_norms_gradient(*self._columns, np.ascontiguousarray(a, dtype=np.float64),
                                      G, norms, grad)
        return norms, grad

    def ws_sq_norms(self, h, ws, out):
        """``out[j] = sum_i h_i x_ij^2`` for the features ``ws`` only (others untouched)."""
        ws_sq_norms(*self._columns, h, ws, out)

    def solve_model(self, model, ws, penalty, intercept, w, z, max_passes, tol, depth,
                    gram_after=0):
        """The proximal Newton model solve on ``ws`` in place on ``w`` (working-set
        coefficients, then the intercept) and ``z``; ``gram_after`` (dense ``X`` only, 0:
        never) moves a solve still running after that many passes onto the model's Gram
        matrix; see :func:`._prox_newton_kernels.solve_model`."""
        return solve_model(*self._columns, model.h, model.target, model.curvature_sum, ws,
                           model.lips, penalty.l1, penalty.l2, penalty.positive, intercept,
                           w, z, max_passes, tol, depth, gram_after)

    def epoch(self, kind, y, a, W, Z, ws, lips, l1, l2, positive):
        """One coordinate-descent epoch over the features ``ws``, in place on ``W`` and ``Z``."""
        kernels.cd_epoch(kind, *self._columns, y, a, W, Z, ws, lips, l1, l2, positive,
                         self._equal_weights(a))

    def epochs(self, kind, y, a, W, Z, ws, lips, l1, l2, positive, snapshots, G=None):
        """``len(snapshots)`` epochs as :meth:`epoch` takes them, in one compiled call; row
        ``e`` of ``snapshots`` receives ``W[ws]`` (raveled) after epoch ``e`` in its first
        ``len(ws) K`` entries. With ``G`` (n, 1), single-task datafits only, the call ends
        with a check's gradient: ``G`` receives the raw gradient at the final iterate and
        ``X[:, ws]' G`` (len(ws), 1) is returned (:func:`._cd.cd_epochs`: the last epoch
        then takes the model's features first, and the gradient is read again only up to
        the last feature that moved)."""
        grad = _NO_CHECK if G is None else np.empty((ws.shape[0], 1))
        kernels.cd_epochs(kind, *self._columns, y, a, W, Z, ws, lips, l1, l2, positive,
                          snapshots, grad, _NO_CHECK if G is None else G,
                          self._equal_weights(a))
        return None if G is None else grad

    def _equal_weights(self, a):
        """Whether every sample weight in ``a`` is the same, remembered for the array last
        asked about: a fit hands the same weights, never written, to each of its epochs,
        which would otherwise each scan them (10 us at n = 20000, sparse 20000 x 2000 ran
        10 epochs in 4.2 ms)."""
        if a is not self._weights:
            self._weights = a
            self._same = bool(a.size) and bool(np.all(a == a[0]))
        return self._same

    def predict(self, W, ws, b, Z):
        """``Z = X[:, ws] W[ws] + b`` in place."""
        kernels.predict(*self._columns, W, ws, b, Z)

    def gradient(self, G, ws=None):
        """``X' G`` (all columns) or ``X[:, ws]' G``.

        Dense one-column products run in the compiled kernel too: a one-column BLAS
        product is memory-bound, and its threads only contend with each other on a small
        machine. Several columns (multinomial) go to BLAS, and so do sparse columns of
        fewer than ``_KERNEL_COLUMN`` entries on average (SciPy's loop has less overhead
        per column; on longer ones the kernel's four partial sums win: 20000 x 2000 at
        density 1e-2, 0.39 -> 0.36 ms).
        """
        if ws is None:
            if G.shape[1] > 1 or self._scipy_gradient():
                return np.asarray(self.X.T @ G)
            ws = self._every
        out = np.empty((ws.shape[0], G.shape[1]))
        kernels.ws_gradient(*self._columns, G, ws, out)
        return out

    def _scipy_gradient(self):
        """Whether SciPy's product computes a full one-column gradient (short sparse
        columns, see :meth:`gradient`)."""
        return self.sparse and self.X.nnz < _KERNEL_COLUMN * self.shape[1]

    def stored(self, cols):
        """Stored entries of ``X[:, cols]`` (what one coordinate epoch over them reads)."""
        if self.sparse:
            indptr = self.X.indptr
            return int((indptr[cols + 1] - indptr[cols]).sum())
        return self.shape[0] * len(cols)

    def weighted_cross(self, rows, cols, a):
        """``X[:, rows]' diag(a) X[:, cols]`` of a sparse ``X`` as a dense float64 array (the
        compiled :func:`._cd.weighted_cross_csc`; the sparse Gram blocks of the least-squares
        Gram route, whose dense blocks are BLAS products of buffered columns)."""
        values, indices, indptr = self._columns
        out = np.empty((len(rows), len(cols)))
        kernels.weighted_cross_csc(values, indices, indptr,
                                   np.ascontiguousarray(rows, dtype=indices.dtype),
                                   np.ascontiguousarray(cols, dtype=indices.dtype),
                                   np.ascontiguousarray(a, dtype=np.float64), out)
        return out

    def columns(self, cols):
        """Dense copy of ``X[:, cols]`` (small blocks only)."""
        if self.sparse:
            return self.X[:, cols].toarray()
        return self.X[:, cols]
