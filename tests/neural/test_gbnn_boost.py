import numpy as np
import pytest
from scipy.special import expit, logsumexp, softmax

from numsolve.neural import GBNNClassifier, GBNNRegressor
from numsolve.neural._activations import ACTIVATION_CODES
from numsolve.neural.gbnn._boost import fit_stage, forward_into
from numsolve.neural.gbnn._stages import draw_stages, input_scaling


def _reference_fit(X, Y, loss, n_stages, J, activation, learning_rate, subsample, seed):
    """The boosting loop in NumPy, stage fits by :func:`fit_stage` (on float32 inputs, as in
    the compiled loop), same random draws.

    Ten L-BFGS iterations per stage keep round-off differences from growing.
    """
    n, p = X.shape
    k = Y.shape[1]
    rng = np.random.RandomState(seed)
    x_mean, x_scale = input_scaling(X)
    Xs = (X - x_mean) / x_scale
    rows, thetas = draw_stages(rng, n_stages, n, max(1, round(subsample * n)), p, J, k,
                               activation)
    if loss == "squared":
        F = np.tile(Y.mean(axis=0), (n, 1))

        def value(F):
            return np.mean((Y - F) ** 2) / 2

        def residuals(F):
            return Y - F
    else:
        prior = Y.mean(axis=0)
        F = np.tile(np.log(prior / (1 - prior)) if k == 1
                    else np.log(prior) - np.log(prior).mean(), (n, 1))

        def value(F):
            if k == 1:
                return np.mean(np.logaddexp(0, F[:, 0]) - Y[:, 0] * F[:, 0])
            return np.mean(logsumexp(F, axis=1) - np.sum(Y * F, axis=1))

        def residuals(F):
            return Y - (expit(F) if k == 1 else softmax(F, axis=1))
    rhos = []
    for t in range(n_stages):
        R = residuals(F)
        theta = thetas[t].copy()
        fit_stage(Xs[rows[t]].astype(np.float32), np.ascontiguousarray(R[rows[t]]), theta,
                  J, ACTIVATION_CODES[activation], 5.0, 10, 1e-10)
        f = np.empty((n, k))
        forward_into(Xs, theta, J, ACTIVATION_CODES[activation], f)
        P = Y - R
        curvature = f * f if loss == "squared" else f * f * P * (1 - P)
        rho = learning_rate * np.sum(R * f) / np.sum(curvature)
        while value(F + rho * f) > value(F):
            rho /= 2
        F = F + rho * f
        rhos.append(rho)
    return F, np.array(rhos)


@pytest.mark.parametrize("kind", ["squared", "binary", "multinomial"])
def test_compiled_loop_equals_numpy_loop(kind):
    rng = np.random.RandomState(0)
    X = rng.randn(120, 5) * np.array([1.0, 10.0, 0.1, 3.0, 1.0]) + 2.0
    signal = np.tanh(X[:, 0] - 0.1 * X[:, 1]) + 0.3 * X[:, 3]
    if kind == "squared":
        y = 50 * signal + rng.randn(120)
        Y = y[:, None]
        model = GBNNRegressor(n_estimators=8, units_per_stage=3, activation="tanh",
                              max_iter=10, random_state=4).fit(X, y)
        raw = model.predict(X)[:, None]
    else:
        y = np.digitize(signal, [0.0] if kind == "binary" else [-0.5, 0.5])
        Y = (y[:, None] if kind == "binary" else np.eye(3)[y]).astype(float)
        model = GBNNClassifier(n_estimators=8, units_per_stage=3, activation="tanh",
                               max_iter=10, random_state=4).fit(X, y)
        raw = model.decision_function(X).reshape(len(y), -1)
    F, rhos = _reference_fit(X, Y, kind, 8, 3, "tanh", 0.4, 0.5, 4)
    np.testing.assert_allclose(model.multipliers_, rhos, rtol=1e-8)
    np.testing.assert_allclose(raw, F, rtol=1e-8, atol=1e-8 * np.abs(F).max())
