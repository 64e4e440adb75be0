import numpy as np
import pytest

from numsolve.neural._gbnn_lbfgs import lbfgs
from numsolve.neural._gbnn_numba import ACTIVATION_CODES, lsq_loss_grad
from numsolve.neural._gbnn_varpro import projected_loss_grad, projected_work
from numsolve.neural._mlp import lsq_loss_grad as reference_loss_grad


def _unpack(theta, p, J, k):
    W = theta[:p * J].reshape(p, J)
    c = theta[p * J:p * J + J]
    V = theta[p * J + J:p * J + J + J * k].reshape(J, k)
    return W, c, V, theta[-k:]


@pytest.mark.parametrize("activation", sorted(ACTIVATION_CODES))
def test_loss_and_gradient_match_the_array_code(activation):
    rng = np.random.RandomState(0)
    n, p, J, k = 40, 5, 3, 4
    X, R = rng.randn(n, p), rng.randn(n, k)
    theta = rng.randn(p * J + J + J * k + k)
    grad = np.empty_like(theta)
    loss = lsq_loss_grad(X, R, theta, J, ACTIVATION_CODES[activation], 0.3, grad)
    ref_loss, ref_grads = reference_loss_grad(np, X, R, *_unpack(theta, p, J, k), activation,
                                              0.3)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(grad, np.concatenate([g.ravel() for g in ref_grads]),
                               rtol=1e-10, atol=1e-12)


def test_gradient_matches_finite_differences():
    rng = np.random.RandomState(1)
    X, R = rng.randn(30, 3), rng.randn(30, 2)
    theta = rng.randn(3 * 2 + 2 + 2 * 2 + 2)
    grad = np.empty_like(theta)
    lsq_loss_grad(X, R, theta, 2, ACTIVATION_CODES["logistic"], 0.1, grad)
    scratch = np.empty_like(theta)
    numeric = np.array([
        (lsq_loss_grad(X, R, theta + 1e-6 * e, 2, 0, 0.1, scratch)
         - lsq_loss_grad(X, R, theta - 1e-6 * e, 2, 0, 0.1, scratch)) / 2e-6
        for e in np.eye(theta.size)])
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_lbfgs_solves_linear_least_squares():
    # identity activation with one unit: the network is X w v + c v + d, a linear model
    rng = np.random.RandomState(2)
    X = rng.randn(200, 4)
    R = (X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.7)[:, None]
    theta = np.concatenate([rng.randn(4) * 0.1, [0.0], [1.0], [0.0]])
    loss, n_iter = lbfgs(X, R, theta, 1, ACTIVATION_CODES["identity"], 0.0, 500, 1e-14, 10)
    assert loss < 1e-16
    assert 0 < n_iter < 500
    W, c, V, d = _unpack(theta, 4, 1, 1)
    np.testing.assert_allclose((W @ V).ravel(), [1.0, -2.0, 0.5, 3.0], rtol=1e-6)


def test_lbfgs_decreases_the_loss_and_leaves_data_unchanged():
    rng = np.random.RandomState(3)
    X, R = rng.randn(100, 6), rng.randn(100, 3)
    X0, R0 = X.copy(), R.copy()
    theta = rng.randn(6 * 4 + 4 + 4 * 3 + 3) * 0.3
    start = lsq_loss_grad(X, R, theta, 4, 1, 1.0, np.empty_like(theta))
    loss, _ = lbfgs(X, R, theta, 4, 1, 1.0, 50, 1e-10, 10)
    assert loss < start
    assert loss == pytest.approx(lsq_loss_grad(X, R, theta, 4, 1, 1.0, np.empty_like(theta)))
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(R, R0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_projected_output_layer_is_the_ridge_optimum(dtype):
    rng = np.random.RandomState(4)
    n, p, J, k, alpha = 60, 3, 3, 2, 0.7
    X, R = rng.randn(n, p), rng.randn(n, k) + 2.0
    theta = rng.randn(p * J + J + J * k + k)
    value = projected_loss_grad(X.astype(dtype), R, theta, J, 0, alpha, np.empty_like(theta),
                                projected_work(X.astype(dtype), R, J))
    W, c = theta[:p * J].reshape(p, J), theta[p * J:p * J + J]
    H = 1 / (1 + np.exp(-(X.astype(dtype).astype(float) @ W + c)))
    A = np.hstack([H, np.ones((n, 1))])
    P = np.diag([alpha] * J + [0.0])
    expected = np.linalg.solve(A.T @ A + P, A.T @ R)
    V, d = theta[p * J + J:-k].reshape(J, k), theta[-k:]
    tol = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(np.vstack([V, d]), expected, rtol=tol, atol=tol)
    full = np.sum((A @ expected - R) ** 2) + alpha * (np.sum(V ** 2) + np.sum(W ** 2))
    assert value == pytest.approx(full / (2 * n), rel=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_projected_gradient_matches_finite_differences(dtype):
    rng = np.random.RandomState(5)
    n, p, J, k = 40, 3, 2, 3
    X, R = rng.randn(n, p).astype(dtype), rng.randn(n, k)
    work = projected_work(X, R, J)
    theta = rng.randn(p * J + J + J * k + k)

    def value(t):
        return projected_loss_grad(X, R, t.copy(), J, 0, 0.2, np.empty_like(t), work)

    grad = np.empty_like(theta)
    projected_loss_grad(X, R, theta.copy(), J, 0, 0.2, grad, work)
    m = p * J + J
    numeric = [(value(theta + 1e-5 * e) - value(theta - 1e-5 * e)) / 2e-5
               for e in np.eye(theta.size)[:m]]
    tol = 1e-7 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(grad[:m], numeric, rtol=tol, atol=tol)
    assert np.all(grad[m:] == 0.0)


def test_projected_lbfgs_reaches_a_stationary_point_of_the_full_objective():
    # the least-squares optimum of the stage: every gradient entry, output layer included
    rng = np.random.RandomState(6)
    X, R = rng.randn(150, 4), rng.randn(150, 2)
    theta = rng.randn(4 * 3 + 3 + 3 * 2 + 2) * 0.5
    loss, n_iter = lbfgs(X, R, theta, 3, ACTIVATION_CODES["tanh"], 1.0, 1000, 1e-13, 10, True)
    grad = np.empty_like(theta)
    full = lsq_loss_grad(X, R, theta, 3, ACTIVATION_CODES["tanh"], 1.0, grad)
    assert full == pytest.approx(loss, rel=1e-10)
    assert np.max(np.abs(grad)) < 1e-6
    assert n_iter < 1000
