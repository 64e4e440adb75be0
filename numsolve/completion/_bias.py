"""Baseline predictors: global mean and shrunk row and column biases of the observed entries.

``r_ij ~ mu + b_i + c_j``, with ``b`` and ``c`` fitted by a few alternating passes of ridge
regression (``b_i = sum_j (r_ij - mu - c_j) / (n_i + bias_reg)``), as recommender baselines do.
The factorisation then fits what the biases leave.
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["fit_biases", "fit_biases_dense", "row_bias_sparse"]

_PASSES = 5


def fit_biases(X, kind, bias_reg):
    """Biases of CSR observations ``X``; returns ``(mu, row_bias, col_bias, residual CSR)``.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix
        The observations.
    kind : {"none", "global", "full"}
        ``"none"``: all zero; ``"global"``: the mean only; ``"full"``: mean, row and column biases.
    bias_reg : float
        Shrinkage of the row and column biases towards zero.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from numsolve.completion._bias import fit_biases
    >>> mu, b, c, R = fit_biases(sp.csr_matrix(np.array([[3.0, 5.0]])), "global", 0.0)
    >>> float(mu), R.toarray().tolist()
    (4.0, [[-1.0, 1.0]])
    """
    m, n = X.shape
    row_bias = np.zeros(m, dtype=X.dtype)
    col_bias = np.zeros(n, dtype=X.dtype)
    mu = X.dtype.type(X.data.mean()) if kind != "none" else X.dtype.type(0.0)
    coo = X.tocoo()
    residual = X.data - mu
    if kind == "full":
        row_counts = np.bincount(coo.row, minlength=m)
        col_counts = np.bincount(coo.col, minlength=n)
        for _ in range(_PASSES):
            row_bias = np.bincount(coo.row, residual - col_bias[coo.col], minlength=m)
            row_bias = (row_bias / (row_counts + bias_reg + 1e-300)).astype(X.dtype)
            col_bias = np.bincount(coo.col, residual - row_bias[coo.row], minlength=n)
            col_bias = (col_bias / (col_counts + bias_reg + 1e-300)).astype(X.dtype)
        residual = residual - row_bias[coo.row] - col_bias[coo.col]
    result = sp.csr_matrix((residual.astype(X.dtype), X.indices, X.indptr), shape=X.shape)
    return mu, row_bias, col_bias, result


def row_bias_sparse(X, mu, col_bias, bias_reg):
    """Row biases of new rows ``X`` (CSR) with ``mu`` and ``col_bias`` fixed."""
    coo = X.tocoo()
    counts = np.bincount(coo.row, minlength=X.shape[0])
    sums = np.bincount(coo.row, coo.data - mu - col_bias[coo.col], minlength=X.shape[0])
    return (sums / (counts + bias_reg + 1e-300)).astype(X.dtype)


def fit_biases_dense(xp, mask, filled, kind, bias_reg):
    """Array API version of :func:`fit_biases` on a 0/1 mask and zero-filled values.

    Returns ``(mu, row_bias, col_bias, residual)`` where ``residual`` has NaN where unobserved.
    """
    zero_rows = xp.zeros_like(filled[:, 0])
    zero_cols = xp.zeros_like(filled[0, :])
    mu = xp.sum(filled) / xp.sum(mask) if kind != "none" else xp.sum(zero_rows)
    row_bias, col_bias = zero_rows, zero_cols
    centred = mask * (filled - mu)
    if kind == "full":
        row_counts, col_counts = xp.sum(mask, axis=1), xp.sum(mask, axis=0)
        for _ in range(_PASSES):
            row_bias = xp.sum(centred - mask * col_bias[None, :], axis=1) / (
                row_counts + bias_reg + 1e-300)
            col_bias = xp.sum(centred - mask * row_bias[:, None], axis=0) / (
                col_counts + bias_reg + 1e-300)
    values = filled - mu - row_bias[:, None] - col_bias[None, :]
    nan = xp.full_like(filled, float("nan"))
    return mu, row_bias, col_bias, xp.where(mask > 0, values, nan)
