"""Random draws and parameter layout of the GBNN stages (the J-unit base networks)."""

import numpy as np

__all__ = ["input_scaling", "draw_stages", "unpack_stages"]


def input_scaling(X, sample_weight=None):
    """(Weighted) mean and standard deviation of the columns of ``X`` (1 where a column is
    constant)."""
    if sample_weight is None:
        x_mean = X.mean(axis=0, dtype=np.float64)
        x_scale = X.std(axis=0, dtype=np.float64)
    else:
        x_mean = np.average(X, axis=0, weights=sample_weight)
        x_scale = np.sqrt(np.average((X - x_mean) ** 2, axis=0, weights=sample_weight))
    x_scale[x_scale == 0] = 1.0
    return x_mean, x_scale


def draw_stages(rng, n_stages, n_samples, n_sub, n_features, n_units, n_outputs, activation):
    """Row subsamples and Glorot-uniform initial parameters of ``n_stages`` stages.

    Per stage, in this order: the sorted subsample of ``n_sub`` of the ``n_samples`` rows
    (without replacement; all rows when ``n_sub == n_samples``), then ``W``, ``c``, ``V``,
    ``d`` (the flat layout of :mod:`numsolve.neural.gbnn._boost`). The bounds are doubled for
    the logistic activation, as in scikit-learn's MLP.

    Returns
    -------
    rows : ndarray of shape (n_stages, n_sub), int64
    thetas : ndarray of shape (n_stages, n_params), float64

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural.gbnn._stages import draw_stages
    >>> rows, thetas = draw_stages(np.random.RandomState(0), 3, 10, 5, 2, 4, 1, "tanh")
    >>> rows.shape, thetas.shape
    ((3, 5), (3, 17))
    """
    bound_in = np.sqrt(6.0 / (n_features + n_units))
    bound_out = np.sqrt(6.0 / (n_units + n_outputs))
    if activation == "logistic":
        bound_in, bound_out = 2 * bound_in, 2 * bound_out
    sizes = (n_features * n_units, n_units, n_units * n_outputs, n_outputs)
    bound = np.repeat([bound_in, bound_in, bound_out, bound_out], sizes)
    rows = np.empty((n_stages, n_sub), dtype=np.int64)
    uniform = np.empty((n_stages, bound.shape[0]))
    subsample = n_sub < n_samples
    for t in range(n_stages):
        # the random streams of rng.choice(n, n_sub, replace=False) and rng.uniform per block;
        # the loop only draws (sorting and scaling run once on all stages)
        if subsample:
            rows[t] = rng.permutation(n_samples)[:n_sub]
        uniform[t] = rng.random_sample(bound.shape[0])
    if subsample:
        rows.sort(axis=1)
    else:
        rows[:] = np.arange(n_samples)
    return rows, bound * (2 * uniform - 1)


def unpack_stages(thetas, n_features, n_units, n_outputs, x_mean, x_scale):
    """Merged-network arrays of stages fitted on inputs standardised by ``x_mean, x_scale``.

    Returns
    -------
    W : ndarray of shape (n_features, n_stages * n_units)
        Hidden weights for the raw inputs, stage after stage.
    c : ndarray of shape (n_stages * n_units,)
    V : ndarray of shape (n_stages * n_units, n_outputs)
        Output weights (without the stage multipliers).
    d : ndarray of shape (n_stages, n_outputs)
        Output bias of each stage.
    """
    T, p, J, k = thetas.shape[0], n_features, n_units, n_outputs
    oc, ov, od = p * J, p * J + J, p * J + J + J * k
    W = thetas[:, :oc].reshape(T, p, J).transpose(1, 0, 2).reshape(p, T * J) / x_scale[:, None]
    c = thetas[:, oc:ov].reshape(T * J) - x_mean @ W
    V = thetas[:, ov:od].reshape(T * J, k)
    return W, c, V, thetas[:, od:]
