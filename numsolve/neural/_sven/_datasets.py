"""The regression tasks of the Sven paper, generated exactly (no download)."""

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_sven_polynomial", "make_sven_toy_1d"]


def make_sven_toy_1d(n_train=10_000, n_val=10_000, random_state=None):
    """The toy 1-D task ``y = exp(-10 x²) sin(2x)``, ``x ~ U(-1, 1)``, y standardised.

    Targets of both splits are standardised with the training mean and standard deviation.

    Returns
    -------
    X_train : ndarray of shape (n_train, 1)
    y_train : ndarray of shape (n_train,)
    X_val : ndarray of shape (n_val, 1)
    y_val : ndarray of shape (n_val,)

    Examples
    --------
    >>> from numsolve.neural import make_sven_toy_1d
    >>> X, y, Xv, yv = make_sven_toy_1d(100, 50, random_state=0)
    >>> X.shape, yv.shape, round(float(y.std()), 6)
    ((100, 1), (50,), 1.0)
    """
    rng = check_random_state(random_state)
    X = rng.uniform(-1.0, 1.0, size=(n_train + n_val, 1))
    y = np.exp(-10.0 * X[:, 0] ** 2) * np.sin(2.0 * X[:, 0])
    mean, std = y[:n_train].mean(), y[:n_train].std()
    y = (y - mean) / std
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def make_sven_polynomial(n_train=10_000, n_val=10_000, n_features=6, degree=4,
                         random_state=None):
    """The paper's "random polynomial" task, with the authors' generator's additive form.

    ``x ~ N(0, I)``. For every exponent tuple ``p`` with entries below ``d`` summing to
    ``d`` (``d = 0..degree``) a coefficient ``c_p ~ N(0, 1)`` is drawn and the target is
    ``Σ_p c_p (1 + Σ_j x_j^{p_j})``: the per-variable powers are added, not multiplied, as in
    the generator the paper's results were produced with, so the target is an additive cubic
    in each variable. Targets are standardised with the training mean and deviation.

    Returns
    -------
    X_train, y_train, X_val, y_val : ndarrays

    Examples
    --------
    >>> from numsolve.neural import make_sven_polynomial
    >>> X, y, Xv, yv = make_sven_polynomial(200, 100, random_state=0)
    >>> X.shape, round(float(y.mean()), 6)
    ((200, 6), 0.0)
    """
    rng = check_random_state(random_state)
    grids = np.indices((degree,) * n_features).reshape(n_features, -1).T
    exponents = np.concatenate([grids[grids.sum(axis=1) == d] for d in range(degree + 1)])
    coefficients = rng.normal(size=exponents.shape[0])
    X = rng.normal(size=(n_train + n_val, n_features))
    # Σ_p c_p (1 + Σ_j x_j^{p_j}) = Σ_p c_p + Σ_j Σ_p c_p x_j^{p_j}
    y = np.full(X.shape[0], coefficients.sum())
    for j in range(n_features):
        powers = X[:, j][:, None] ** exponents[:, j][None, :]
        y += powers @ coefficients
    mean, std = y[:n_train].mean(), y[:n_train].std()
    y = (y - mean) / std
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]
