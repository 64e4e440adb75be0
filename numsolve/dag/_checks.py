"""Input checks shared by the DAG scores and diagnostics: data and a graph over its columns."""

import numpy as np

from numsolve._validation import check_matrix

__all__ = ["check_data_and_graph"]


def check_data_and_graph(X, W):
    """Check the data ``X`` and a graph ``W`` over its columns.

    Parameters
    ----------
    X : array of shape (n_samples, d)
        Finite, at least two samples.
    W : array of shape (d, d)
        ``W[i, j]`` is the weight of the edge ``i -> j``.

    Returns
    -------
    X : ndarray
        Checked, its float dtype kept (float32 or float64).
    W : ndarray of float64
    """
    X = check_matrix(X, "X", ensure_min_samples=2)
    W = check_matrix(W, "W")
    d = X.shape[1]
    if W.shape != (d, d):
        raise ValueError(f"W must have shape ({d}, {d}), got {W.shape}")
    return X, W.astype(np.float64)
