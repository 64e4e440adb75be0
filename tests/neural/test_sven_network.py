"""The dense network's residual rows, Jacobian and per-example Gram matrix."""

import numpy as np
import pytest

from numsolve._array_api import to_numpy
from numsolve.neural._activations import SVEN_ACTIVATIONS as ACTIVATIONS
from numsolve.neural._sven._network import (init_parameters, n_parameters, network_gram,
                                           network_jacobian, network_predict, network_residuals,
                                           unpack)


def problem(n_outputs=1, seed=0, n=9):
    sizes = (3, 5, 4, n_outputs)
    rng = np.random.default_rng(seed)
    theta = init_parameters(sizes, random_state=seed)
    X = rng.standard_normal((n, 3))
    Y = rng.standard_normal((n, n_outputs))
    return sizes, theta, X, Y


def test_parameter_counts_of_the_paper_networks():
    assert n_parameters((1, 16, 16, 16, 1)) == 593
    assert n_parameters((6, 16, 16, 16, 1)) == 673
    assert init_parameters((1, 16, 16, 16, 1), random_state=0).shape == (593,)


def test_unpack_matches_a_hand_written_forward_pass():
    sizes, theta, X, _ = problem()
    layers = unpack(theta, sizes)
    a = X
    for index, (W, b) in enumerate(layers):
        a = a @ W + b
        if index < len(layers) - 1:
            a = np.tanh(a)
    np.testing.assert_allclose(network_predict(theta, X, sizes, "tanh"), a)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_jacobian_matches_finite_differences(activation, n_outputs):
    sizes, theta, X, Y = problem(n_outputs)
    J = network_jacobian(theta, X, Y, sizes, activation)
    h = 1e-6
    numeric = np.empty_like(J)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        numeric[:, i] = (network_residuals(theta + e, X, Y, sizes, activation)
                         - network_residuals(theta - e, X, Y, sizes, activation)) / (2 * h)
    np.testing.assert_allclose(J, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("activation", ["gelu", "tanh", "logistic"])
@pytest.mark.parametrize("n_outputs", [1, 4])
def test_per_example_gram_equals_brute_force_jacobian_product(activation, n_outputs):
    sizes, theta, X, Y = problem(n_outputs, seed=3)
    r, G, rmatvec = network_gram(theta, X, Y, sizes, activation)
    J = network_jacobian(theta, X, Y, sizes, activation)
    assert G.dtype == np.float64 and G.shape == (X.shape[0], X.shape[0])
    np.testing.assert_allclose(G, J @ J.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r, network_residuals(theta, X, Y, sizes, activation))
    w = np.random.default_rng(0).standard_normal(X.shape[0])
    np.testing.assert_allclose(rmatvec(w), J.T @ w, rtol=1e-10, atol=1e-12)


def test_multi_output_rows_are_per_sample_norms():
    sizes, theta, X, Y = problem(3)
    out = network_predict(theta, X, sizes, "gelu")
    np.testing.assert_allclose(network_residuals(theta, X, Y, sizes, "gelu"),
                               np.linalg.norm(out - Y, axis=1))


def test_float32_gram_is_accumulated_in_float64():
    sizes, theta, X, Y = problem()
    r, G, rmatvec = network_gram(theta.astype(np.float32), X.astype(np.float32),
                                 Y.astype(np.float32), sizes, "gelu")
    assert r.dtype == np.float32 and G.dtype == np.float64
    assert rmatvec(np.ones(X.shape[0])).dtype == np.float32


def test_array_namespace_matches_numpy(xp_device):
    xp, device = xp_device
    sizes, theta, X, Y = problem(2)
    r_np, G_np, rmatvec_np = network_gram(theta, X, Y, sizes, "gelu")
    args = [xp.asarray(a, device=device) for a in (theta, X, Y)]
    r, G, rmatvec = network_gram(*args, sizes, "gelu", xp=xp)
    w = np.linspace(-1, 1, X.shape[0])
    np.testing.assert_allclose(to_numpy(r), r_np, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(G), G_np, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(rmatvec(xp.asarray(w, device=device))),
                               rmatvec_np(w), rtol=1e-12)
