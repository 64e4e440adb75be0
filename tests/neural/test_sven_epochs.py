"""The compiled Sven epoch for dense networks equals the generic array-namespace path."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from numsolve.neural._activations import SVEN_ACTIVATIONS as ACTIVATIONS
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
