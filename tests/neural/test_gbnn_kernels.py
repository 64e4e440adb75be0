import numpy as np
import pytest

from numsolve.neural._activations import (ACTIVATION_CODES, GBNN_ACTIVATIONS, activate,
                                          activation_derivative)
from numsolve.neural.gbnn._boost import exp_neg, lbfgs, projected_loss_grad


def reference_loss_grad(xp, X, R, W, c, V, d, activation, alpha):
    """Loss ``||out - R||^2 / (2n) + alpha (||W||^2 + ||V||^2) / (2n)`` and its gradients in
    ``W, c, V, d``, by array code."""
    n = X.shape[0]
    Z = X @ W + c
    H = activate(xp, Z, activation)
    E = H @ V + d - R
    loss = (xp.sum(E * E) + alpha * (xp.sum(W * W) + xp.sum(V * V))) / (2 * n)
    gV = (H.T @ E + alpha * V) / n
    gd = xp.sum(E, axis=0) / n
    dZ = (E @ V.T) * activation_derivative(xp, Z, H, activation)
    gW = (X.T @ dZ + alpha * W) / n
    gc = xp.sum(dZ, axis=0) / n
    return float(loss), (gW, gc, gV, gd)


def _unpack(theta, p, J, k):
    W = theta[:p * J].reshape(p, J)
    c = theta[p * J:p * J + J]
    V = theta[p * J + J:p * J + J + J * k].reshape(J, k)
    return W, c, V, theta[-k:]


def _projected(X, R, theta, J, activation, alpha):
    """Value and gradient of the projected objective; ``theta`` gets the optimal V, d."""
    grad = np.empty_like(theta)
    value = projected_loss_grad(X, R, theta, J, ACTIVATION_CODES[activation], alpha, grad)
    return value, grad


def test_exp_neg_is_exp_to_round_off():
    z = np.concatenate([np.linspace(-700, 700, 20001), [0.0, 1e-300, -1e-300]])
    out = np.empty_like(z)
    exp_neg(z, out)
    np.testing.assert_allclose(out, np.exp(-z), rtol=4e-16, atol=0)


@pytest.mark.parametrize("k", [1, 4])  # one output takes its own back-propagation route
@pytest.mark.parametrize("activation", GBNN_ACTIVATIONS)
def test_projected_objective_is_the_stage_objective_at_the_optimal_output_layer(activation, k):
    # the value is the full objective (array code above) at the V, d it sets, and the
    # gradient in W, c is the full one there (envelope theorem); the full gradient in V, d
    # vanishes, since they are optimal
    rng = np.random.RandomState(0)
    n, p, J = 40, 5, 3
    X, R = rng.randn(n, p), rng.randn(n, k)
    theta = rng.randn(p * J + J + J * k + k)
    value, grad = _projected(X, R, theta, J, activation, 0.3)
    ref_loss, ref_grads = reference_loss_grad(np, X, R, *_unpack(theta, p, J, k), activation,
                                              0.3)
    assert value == pytest.approx(ref_loss, rel=1e-10)
    np.testing.assert_allclose(grad[:p * J + J],
                               np.concatenate([ref_grads[0].ravel(), ref_grads[1]]),
                               rtol=1e-8, atol=1e-12)
    assert np.max(np.abs(np.concatenate([ref_grads[2].ravel(), ref_grads[3]]))) < 1e-12
    assert np.all(grad[p * J + J:] == 0.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_projected_output_layer_is_the_ridge_optimum(dtype):
    rng = np.random.RandomState(4)
    n, p, J, k, alpha = 60, 3, 3, 2, 0.7
    X, R = rng.randn(n, p).astype(dtype), rng.randn(n, k) + 2.0
    theta = rng.randn(p * J + J + J * k + k)
    value, _ = _projected(X, R, theta, J, "logistic", alpha)
    W, c, V, d = _unpack(theta, p, J, k)
    H = 1 / (1 + np.exp(-(X.astype(float) @ W + c)))
    A = np.hstack([H, np.ones((n, 1))])
    expected = np.linalg.solve(A.T @ A + np.diag([alpha] * J + [0.0]), A.T @ R)
    tol = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(np.vstack([V, d]), expected, rtol=tol, atol=tol)
    full = np.sum((A @ expected - R) ** 2) + alpha * (np.sum(V ** 2) + np.sum(W ** 2))
    assert value == pytest.approx(full / (2 * n), rel=tol)


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_projected_gradient_matches_finite_differences(dtype, k):
    rng = np.random.RandomState(5)
    n, p, J = 40, 3, 2
    X, R = rng.randn(n, p).astype(dtype), rng.randn(n, k)
    theta = rng.randn(p * J + J + J * k + k)
    _, grad = _projected(X, R, theta.copy(), J, "logistic", 0.2)
    m = p * J + J
    numeric = [(_projected(X, R, theta + 1e-5 * e, J, "logistic", 0.2)[0]
                - _projected(X, R, theta - 1e-5 * e, J, "logistic", 0.2)[0]) / 2e-5
               for e in np.eye(theta.size)[:m]]
    tol = 1e-7 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(grad[:m], numeric, rtol=tol, atol=tol)


def test_lbfgs_solves_linear_least_squares():
    # identity activation with one unit: the network is X w v + c v + d, a linear model
    rng = np.random.RandomState(2)
    X = rng.randn(200, 4)
    R = (X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.7)[:, None]
    theta = np.concatenate([rng.randn(4) * 0.1, [0.0], [1.0], [0.0]])
    loss, n_iter = lbfgs(X, R, theta, 1, ACTIVATION_CODES["identity"], 0.0, 500, 1e-14)
    assert loss < 1e-16
    assert 0 < n_iter < 500
    W, c, V, d = _unpack(theta, 4, 1, 1)
    np.testing.assert_allclose((W @ V).ravel(), [1.0, -2.0, 0.5, 3.0], rtol=1e-6)


def test_lbfgs_decreases_the_loss_and_leaves_data_unchanged():
    rng = np.random.RandomState(3)
    X, R = rng.randn(100, 6), rng.randn(100, 3)
    X0, R0 = X.copy(), R.copy()
    theta = rng.randn(6 * 4 + 4 + 4 * 3 + 3) * 0.3
    start, _ = _projected(X, R, theta.copy(), 4, "tanh", 1.0)
    loss, _ = lbfgs(X, R, theta, 4, ACTIVATION_CODES["tanh"], 1.0, 50, 1e-10)
    assert loss < start
    assert loss == pytest.approx(reference_loss_grad(np, X, R, *_unpack(theta, 6, 4, 3), "tanh",
                                                     1.0)[0], rel=1e-10)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(R, R0)


def test_lbfgs_reaches_a_stationary_point_of_the_full_objective():
    # the least-squares optimum of the stage: every gradient entry, output layer included
    rng = np.random.RandomState(6)
    X, R = rng.randn(150, 4), rng.randn(150, 2)
    theta = rng.randn(4 * 3 + 3 + 3 * 2 + 2) * 0.5
    loss, n_iter = lbfgs(X, R, theta, 3, ACTIVATION_CODES["tanh"], 1.0, 1000, 1e-13)
    full, grads = reference_loss_grad(np, X, R, *_unpack(theta, 4, 3, 2), "tanh", 1.0)
    assert full == pytest.approx(loss, rel=1e-10)
    assert max(np.max(np.abs(g)) for g in grads) < 1e-6
    assert n_iter < 1000
