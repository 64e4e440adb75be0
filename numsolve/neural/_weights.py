"""Sample weights of the neural estimators: validated, zero rows dropped, mean one."""

import numpy as np
from sklearn.utils.validation import _check_sample_weight

__all__ = ["positive_rows"]


def positive_rows(sample_weight, X):
    """Rows of ``X`` that a fit sees and their weights, normalised to mean one.

    A row of zero weight is ignored: it is dropped before any other work, so the fit is the
    one without it (row subsamples, batches, input scaling and validation splits included).
    Dividing the weights by their mean makes a constant factor irrelevant.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        Non-negative, finite, not all zero.
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    keep : ndarray of bool or None
        Rows with positive weight (``None``: all).
    weights : ndarray of shape (keep.sum(),) or None
        Their weights, float64 of mean one (``None`` without ``sample_weight``).

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural._weights import positive_rows
    >>> keep, weights = positive_rows([2.0, 0.0, 6.0], np.zeros((3, 1)))
    >>> keep, weights
    (array([ True, False,  True]), array([0.5, 1.5]))
    """
    if sample_weight is None:
        return None, None
    weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    keep = weights > 0
    weights = weights[keep]
    return (None if keep.all() else keep), weights / weights.mean()
