"""The compiled Sven epoch for dense networks equals the generic array-namespace path."""

import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from numsolve.neural._activations import ACTIVATION_CODES, activation_derivative
from numsolve.neural._activations import SVEN_ACTIVATIONS as ACTIVATIONS
from numsolve.neural._activations import activate as numpy_activate
from numsolve.neural._sven._epochs import activate
from numsolve.neural._sven._network import (init_parameters, network_epochs, network_gram,
                                           network_residuals)
from numsolve.neural._sven._solver import descend, sven


def _both_paths(activation, n_outputs, dtype, epochs=1, **params):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(70, 3)).astype(dtype)
    Y = rng.normal(size=(70, n_outputs)).astype(dtype)
    sizes = (3, 5, 4, n_outputs)
    theta0 = init_parameters(sizes, random_state=0, dtype=dtype)

    def residuals(theta, rows):
        return network_residuals(theta, X[rows], Y[rows], sizes, activation)

    def gram(theta, rows):
        return network_gram(theta, X[rows], Y[rows], sizes, activation)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        generic = sven(residuals, theta0, gram=gram, batch_size=16, max_iter=epochs,
                       random_state=0, **params)
        all_rows, run_epoch = network_epochs(X, Y, sizes, activation, batch_size=16,
                                             random_state=check_random_state(0), **params)
        compiled = descend(theta0, all_rows, run_epoch, max_iter=epochs, tol=params.get(
            "tol", 1e-10))
    return generic, compiled


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("n_outputs, microbatch_size", [(1, 1), (2, 1), (1, 3), (2, 3)])
def test_compiled_epoch_equals_generic_steps(activation, n_outputs, microbatch_size):
    generic, compiled = _both_paths(activation, n_outputs, np.float64, rtol=1e-2,
                                    learning_rate=0.7, microbatch_size=microbatch_size)
    np.testing.assert_allclose(compiled.x, generic.x, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(compiled.history["rank"], generic.history["rank"])
    np.testing.assert_allclose(compiled.history["step_norm"], generic.history["step_norm"],
                               rtol=1e-8)
    assert compiled.extras["n_steps"] == generic.extras["n_steps"] == 5
    np.testing.assert_allclose(compiled.fun, generic.fun, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("params", [dict(k=2, rtol=0.0), dict(safeguard=False, rtol=1e-2),
                                    dict(learning_rate=1.0, rtol=1e-2)])
def test_compiled_truncation_and_safeguard_equal_generic(params):
    """Rank cap, no safeguard, and full steps that the safeguard halves."""
    generic, compiled = _both_paths("tanh", 1, np.float64, **params)
    np.testing.assert_allclose(compiled.x, generic.x, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(compiled.history["rank"], generic.history["rank"])


def test_compiled_float32_stays_float32_and_close():
    generic, compiled = _both_paths("gelu", 2, np.float32, rtol=1e-2, learning_rate=0.7)
    assert compiled.x.dtype == np.float32
    np.testing.assert_allclose(compiled.x, generic.x, rtol=0, atol=2e-3)
    assert compiled.cost == pytest.approx(generic.cost, rel=1e-3)


def test_compiled_rows_equal_network_residuals():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(37, 2)), rng.normal(size=(37, 3))
    sizes = (2, 6, 3)
    theta = init_parameters(sizes, random_state=1)
    all_rows, _ = network_epochs(X, Y, sizes, "logistic", batch_size=8,
                                 random_state=check_random_state(0))
    np.testing.assert_allclose(all_rows(theta),
                               network_residuals(theta, X, Y, sizes, "logistic"), rtol=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_compiled_activations_match_numpy_over_every_scale(activation):
    """The vectorised tanh/exp of the kernels agree with NumPy's to a few ulp from 1e-300 to
    beyond the clipping at +-700, with tanh's sign (and -0) kept: a tanh written as
    ``2 / (1 + exp(-2 z)) - 1`` loses every digit below ~1e-8 and fails here. GELU's
    ``z (1 + t) / 2`` cancels where t is near -1, so its error is relative to ``|z|``."""
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.uniform(-1, 1, 2000) * 10.0 ** rng.integers(-300, 3, 2000),
                        rng.uniform(-30, 30, 2000), [0.0, -0.0, 700.0, -800.0, 1e-310]])
    values, slopes = activate(z, ACTIVATION_CODES[activation])
    # NumPy's array path writes the logistic as 0.5 + 0.5 tanh(z / 2), which cancels for
    # z << 0; the kernels' 1 / (1 + exp(-z)) does not, so SciPy's expit is the reference
    expected = expit(z) if activation == "logistic" else numpy_activate(np, z, activation)
    scale = np.maximum(np.abs(expected), np.abs(z) if activation == "gelu" else 0.0)
    underflow = 1e-300 if activation == "logistic" else 0.0  # exp(-z) clipped at z = -700
    assert np.all(np.abs(values - expected) <= 4e-15 * scale + underflow)
    np.testing.assert_array_equal(np.signbit(values), np.signbit(expected))
    expected_slopes = activation_derivative(np, z, expected, activation)
    floor = 1e-14 * (1.0 + np.abs(z) if activation == "gelu" else 1.0)  # 1 - t^2 cancels
    assert np.all(np.abs(slopes - expected_slopes) <= 2e-14 * np.abs(expected_slopes) + floor)
