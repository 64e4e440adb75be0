"""Fit of the J-unit base network of one boosting stage (compiled L-BFGS on least squares)."""

import numpy as np

from ._gbnn_numba import ACTIVATION_CODES, lbfgs

__all__ = ["fit_base", "input_scaling"]


def input_scaling(X):
    """Mean and standard deviation of the columns of ``X`` (1 where a column is constant)."""
    x_mean = X.mean(axis=0, dtype=np.float64)
    x_scale = X.std(axis=0, dtype=np.float64)
    x_scale[x_scale == 0] = 1.0
    return x_mean, x_scale


def fit_base(X, R, n_units, activation, alpha, max_iter, tol, rng, x_mean=None, x_scale=None):
    """Fit ``activate(X W + c) V + d`` to the residuals ``R`` by L-BFGS.

    The inputs and the residuals are standardised before the fit and the weights are mapped
    back after it, so neither unscaled features nor unscaled targets need special care and
    the penalty ``alpha`` means the same at any feature scale. Glorot-uniform initialisation from ``rng``; the
    whole fit runs in one compiled call (:func:`numsolve.neural._gbnn_numba.lbfgs`).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    R : ndarray of shape (n_samples, n_outputs)
    n_units : int
    activation : str
    alpha : float
        L2 penalty on the weights.
    max_iter : int
    tol : float
        Gradient and relative-decrease tolerance of L-BFGS.
    rng : numpy.random.RandomState
    x_mean, x_scale : ndarray of shape (n_features,), optional
        Centre and scale used to standardise ``X`` (positive scales); by default the mean and
        standard deviation of ``X``. A boosting loop passes those of its full training set,
        so that stages fitted on row subsamples all see the same inputs.

    Returns
    -------
    W, c, V, d : ndarrays
        Hidden weights (n_features, n_units), hidden biases (n_units,), output weights
        (n_units, n_outputs) and output bias (n_outputs,), in the dtype of ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(50, 2); R = np.tanh(X[:, :1])
    >>> W, c, V, d = fit_base(X, R, 2, "tanh", 0.0, 200, 1e-10, rng)
    >>> bool(np.mean((np.tanh(X @ W + c) @ V + d - R) ** 2) < 1e-3)
    True
    """
    n_features = X.shape[1]
    n_outputs = R.shape[1]
    center = R.mean(axis=0)
    scale = R.std(axis=0)
    scale[scale == 0] = 1.0
    Rs = np.ascontiguousarray((R - center) / scale, dtype=np.float64)
    if x_mean is None:
        x_mean, x_scale = input_scaling(X)
    Xs = np.ascontiguousarray((X - x_mean) / x_scale, dtype=np.float64)
    bound_in = np.sqrt(6.0 / (n_features + n_units))
    bound_out = np.sqrt(6.0 / (n_units + n_outputs))
    if activation == "logistic":
        bound_in, bound_out = 2 * bound_in, 2 * bound_out
    sizes = [n_features * n_units, n_units, n_units * n_outputs, n_outputs]
    theta = np.concatenate([
        rng.uniform(-bound_in, bound_in, sizes[0]),
        rng.uniform(-bound_in, bound_in, sizes[1]),
        rng.uniform(-bound_out, bound_out, sizes[2]),
        rng.uniform(-bound_out, bound_out, sizes[3]),
    ])
    lbfgs(Xs, Rs, theta, n_units, ACTIVATION_CODES[activation], float(alpha), int(max_iter),
          float(tol), 10)
    W, c, V, d = np.split(theta, np.cumsum(sizes)[:-1])
    W = W.reshape(n_features, n_units) / x_scale[:, None]
    c = c - x_mean @ W
    V = V.reshape(n_units, n_outputs) * scale
    d = d * scale + center
    dtype = X.dtype
    return W.astype(dtype), c.astype(dtype), V.astype(dtype), d.astype(dtype)
