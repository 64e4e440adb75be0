"""The design matrix for the array-code engine: an Array API array, or SciPy sparse (NumPy).

Coordinates are flattened feature-major: coordinate ``c = j K + k`` is class ``k`` of
feature ``j`` (``K = 1`` except for the multinomial loss).
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["ArrayDesign"]


class ArrayDesign:
    """Products with ``X`` and dense column blocks, in namespace ``xp``.

    Parameters
    ----------
    X : array of shape (n, p) in ``xp``, or SciPy sparse matrix (NumPy only)
    xp : namespace
    K : int
        Number of classes (columns of ``W``).
    """

    def __init__(self, X, xp, K):
        self.sparse = sp.issparse(X)
        self.X = sp.csc_matrix(X) if self.sparse else X
        self.xp = xp
        self.K = K
        self.shape = X.shape

    def matmul(self, W):
        """``X W`` for ``W`` of shape (p, K)."""
        if self.sparse:
            return np.asarray(self.X @ W)
        return self.X @ W

    def rmatmul(self, G):
        """``X' G`` for ``G`` of shape (n, K)."""
        if self.sparse:
            return np.asarray(self.X.T @ G)
        return self.X.T @ G

    def col_sq_norms(self, a):
        """``sum_i a_i x_ij^2`` per feature."""
        if self.sparse:
            return np.asarray(self.X.multiply(self.X).T @ a).reshape(-1)
        xp = self.xp
        return xp.sum(xp.reshape(a, (-1, 1)) * self.X * self.X, axis=0)

    def feature_columns(self, features):
        """Dense ``X[:, features]`` (features: 1-D int array in ``xp``)."""
        if self.sparse:
            return self.X[:, np.asarray(features)].toarray()
        return self.xp.take(self.X, features, axis=1)

    def block_grams(self, features, a):
        """``X_b' A X_b`` for every row of ``features`` (n_blocks, size) -> (n_blocks, s, s)."""
        xp = self.xp
        n_blocks, size = features.shape
        if self.sparse:
            out = np.empty((n_blocks, size, size))
            cols = [self.X[:, features[:, i]] for i in range(size)]
            weighted = [sp.diags(a) @ c for c in cols]
            for i in range(size):
                for j in range(i, size):
                    value = np.asarray(weighted[i].multiply(cols[j]).sum(axis=0)).reshape(-1)
                    out[:, i, j] = value
                    out[:, j, i] = value
            return out
        flat = xp.reshape(features, (-1,))
        Xg = xp.reshape(xp.take(self.X, flat, axis=1), (self.shape[0], n_blocks, size))
        weighted = xp.reshape(a, (-1, 1, 1)) * Xg
        rows = [xp.stack([xp.sum(weighted[:, :, i] * Xg[:, :, j], axis=0) for j in range(size)],
                         axis=1) for i in range(size)]
        return xp.stack(rows, axis=1)
