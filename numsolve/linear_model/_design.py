"""The design matrix as the compiled kernels see it: dense Fortran float64 or CSC float64."""

import numpy as np
import scipy.sparse as sp

from . import _numba as kernels

__all__ = ["Design"]


class Design:
    """Column access to ``X`` for the working-set engine (no densification of sparse X).

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
        Converted once to Fortran-ordered float64 (dense) or CSC float64 with int32 indices.
    """

    def __init__(self, X):
        self.sparse = sp.issparse(X)
        if self.sparse:
            X = sp.csc_matrix(X, dtype=np.float64)
            if not X.has_canonical_format:
                X = X.copy()
                X.sum_duplicates()
            self.data = np.ascontiguousarray(X.data, dtype=np.float64)
            self.indices = np.ascontiguousarray(X.indices, dtype=np.int32)
            self.indptr = np.ascontiguousarray(X.indptr, dtype=np.int32)
        else:
            X = np.asfortranarray(X, dtype=np.float64)
        self.X = X
        self.shape = X.shape
        self._every = np.arange(X.shape[1], dtype=np.int32)

    def col_sq_norms(self, a):
        """``sum_i a_i x_ij^2`` for every column."""
        if self.sparse:
            return np.asarray(self.X.multiply(self.X).T @ a).reshape(-1)
        out = np.empty(self.shape[1])
        kernels.col_sq_norms_dense(self.X, np.ascontiguousarray(a, dtype=np.float64), out)
        return out

    def epoch(self, kind, y, a, W, Z, ws, lips, l1, l2, positive):
        if W.shape[1] == 1:  # views: the single-task kernels update them in place
            w, z = W[:, 0], Z[:, 0]
            if self.sparse:
                kernels.cd_epoch_sparse_single(kind, self.data, self.indices, self.indptr, y,
                                               a, w, z, ws, lips, l1, l2, positive)
            else:
                kernels.cd_epoch_dense_single(kind, self.X, y, a, w, z, ws, lips, l1, l2,
                                              positive)
            return
        if self.sparse:
            kernels.cd_epoch_sparse(kind, self.data, self.indices, self.indptr, y, a, W, Z,
                                    ws, lips, l1, l2, positive)
        else:
            kernels.cd_epoch_dense(kind, self.X, y, a, W, Z, ws, lips, l1, l2, positive)

    def predict(self, W, ws, b, Z):
        if self.sparse:
            kernels.predict_sparse(self.data, self.indices, self.indptr, W, ws, b, Z)
        else:
            kernels.predict_dense(self.X, W, ws, b, Z)

    def gradient(self, G, ws=None):
        """``X' G`` (all columns) or ``X[:, ws]' G``.

        Dense one-column products run in the compiled kernel too: a one-column BLAS
        product is memory-bound, and its threads only contend with each other on a small
        machine. Several columns (multinomial) go to BLAS.
        """
        if ws is None:
            if self.sparse or G.shape[1] > 1:
                return np.asarray(self.X.T @ G)
            ws = self._every
        out = np.empty((ws.shape[0], G.shape[1]))
        if self.sparse:
            kernels.ws_gradient_sparse(self.data, self.indices, self.indptr, G, ws, out)
        else:
            kernels.ws_gradient_dense(self.X, G, ws, out)
        return out

    def columns(self, cols):
        """Dense copy of ``X[:, cols]`` (small blocks only)."""
        if self.sparse:
            return self.X[:, cols].toarray()
        return self.X[:, cols]
