"""Fit of the J-unit base network of one boosting stage (compiled L-BFGS on least squares)."""

import numpy as np

from ._gbnn_numba import ACTIVATION_CODES, lbfgs

__all__ = ["fit_base"]


def fit_base(X, R, n_units, activation, alpha, max_iter, tol, rng):
    """Fit ``activate(X W + c) V + d`` to the residuals ``R`` by L-BFGS.

    The residuals are standardised before the fit and the output layer is rescaled after it,
    so unscaled targets need no special care. Glorot-uniform initialisation from ``rng``; the
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
    Xd = np.ascontiguousarray(X, dtype=np.float64)
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
    lbfgs(Xd, Rs, theta, n_units, ACTIVATION_CODES[activation], float(alpha), int(max_iter),
          float(tol), 10)
    W, c, V, d = np.split(theta, np.cumsum(sizes)[:-1])
    W = W.reshape(n_features, n_units)
    V = V.reshape(n_units, n_outputs) * scale
    d = d * scale + center
    dtype = X.dtype
    return W.astype(dtype), c.astype(dtype), V.astype(dtype), d.astype(dtype)
