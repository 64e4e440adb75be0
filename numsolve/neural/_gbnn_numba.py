"""Numba kernels of the GBNN base learner: least-squares loss of a J-unit network and L-BFGS.

The parameters of ``activate(X W + c) V + d`` live in one flat vector ``theta`` in the order
``W`` (row-major, n_features x n_units), ``c``, ``V`` (row-major, n_units x n_outputs), ``d``.
Activations are coded as integers (:data:`ACTIVATION_CODES`) so one compiled signature serves
all of them.
"""

import numpy as np
from numba import njit

__all__ = ["ACTIVATION_CODES", "lsq_loss_grad", "lbfgs"]

ACTIVATION_CODES = {"logistic": 0, "tanh": 1, "relu": 2, "identity": 3}


@njit(cache=True, nogil=True)
def _activate(z, code):
    if code == 0:  # exp is cheaper than tanh
        return 1.0 / (1.0 + np.exp(-z))
    if code == 1:
        return 2.0 / (1.0 + np.exp(-2.0 * z)) - 1.0
    if code == 2:
        return z if z > 0.0 else 0.0
    return z


@njit(cache=True, nogil=True)
def _derivative(z, h, code):
    if code == 0:
        return h * (1.0 - h)
    if code == 1:
        return 1.0 - h * h
    if code == 2:
        return 1.0 if z > 0.0 else 0.0
    return 1.0


@njit(cache=True, nogil=True)
def lsq_loss_grad(X, R, theta, n_units, code, alpha, grad):
    """Loss ``||out - R||^2 / (2n) + alpha (||W||^2 + ||V||^2) / (2n)``; gradient into ``grad``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.ones((2, 3)); R = np.zeros((2, 1))
    >>> theta = np.zeros(3 * 4 + 4 + 4 + 1); theta[16:20] = 1.0
    >>> float(lsq_loss_grad(X, R, theta, 4, 0, 0.0, np.empty_like(theta)))
    2.0
    """
    n, p = X.shape
    k = R.shape[1]
    J = n_units
    oc = p * J
    ov = oc + J
    od = ov + J * k
    W = theta[:oc].reshape(p, J)
    V = theta[ov:od].reshape(J, k)
    Z = np.dot(X, W)
    H = np.empty((n, J))
    dH = np.empty((n, J))
    for i in range(n):
        for j in range(J):
            z = Z[i, j] + theta[oc + j]
            H[i, j] = _activate(z, code)
            dH[i, j] = _derivative(z, H[i, j], code)
    E = np.dot(H, V)
    loss = 0.0
    for o in range(k):
        grad[od + o] = 0.0
    for i in range(n):
        for o in range(k):
            s = E[i, o] + theta[od + o] - R[i, o]
            E[i, o] = s
            loss += s * s
            grad[od + o] += s
    grad[ov:od] = np.dot(H.T, E).ravel()
    dZ = np.dot(E, V.T)
    for j in range(J):
        grad[oc + j] = 0.0
    for i in range(n):
        for j in range(J):
            dZ[i, j] *= dH[i, j]
            grad[oc + j] += dZ[i, j]
    grad[:oc] = np.dot(X.T, dZ).ravel()
    penalty = 0.0
    for q in range(oc):
        penalty += theta[q] * theta[q]
        grad[q] += alpha * theta[q]
    for q in range(ov, od):
        penalty += theta[q] * theta[q]
        grad[q] += alpha * theta[q]
    grad /= n
    return (loss + alpha * penalty) / (2 * n)


@njit(cache=True, nogil=True)
def lbfgs(X, R, theta, n_units, code, alpha, max_iter, tol, memory):
    """Minimise :func:`lsq_loss_grad` over ``theta`` (updated in place) by L-BFGS.

    Two-loop recursion with ``memory`` pairs and an Armijo backtracking line search. Stops
    after ``max_iter`` iterations, when the largest gradient entry falls below ``tol``, or
    when an iteration lowers the loss by less than ``tol`` relative to its value.

    Returns
    -------
    loss : float
    n_iter : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(50, 1); R = 2.0 * X + 1.0
    >>> theta = np.array([1.0, 0.0, 0.0, 0.0])
    >>> loss, _ = lbfgs(X, R, theta, 1, 3, 0.0, 100, 1e-12, 5)
    >>> bool(loss < 1e-12)
    True
    """
    m = theta.shape[0]
    S = np.zeros((memory, m))
    Y = np.zeros((memory, m))
    rho = np.zeros(memory)
    a = np.zeros(memory)
    g = np.empty(m)
    g_new = np.empty(m)
    trial = np.empty(m)
    direction = np.empty(m)
    loss = lsq_loss_grad(X, R, theta, n_units, code, alpha, g)
    stored = 0
    head = 0
    n_iter = 0
    for it in range(max_iter):
        if np.max(np.abs(g)) <= tol:
            break
        direction[:] = -g
        for back in range(stored):
            slot = (head - 1 - back) % memory
            a[slot] = rho[slot] * np.dot(S[slot], direction)
            direction -= a[slot] * Y[slot]
        if stored > 0:
            last = (head - 1) % memory
            direction *= np.dot(S[last], Y[last]) / np.dot(Y[last], Y[last])
        for fwd in range(stored):
            slot = (head - stored + fwd) % memory
            b = rho[slot] * np.dot(Y[slot], direction)
            direction += (a[slot] - b) * S[slot]
        slope = np.dot(g, direction)
        if slope >= 0.0:  # not a descent direction: restart from steepest descent
            direction[:] = -g
            slope = -np.dot(g, g)
            stored = 0
        step = 1.0 if stored > 0 else min(1.0, 1.0 / np.sqrt(-slope))
        accepted = False
        for _ in range(40):
            trial[:] = theta + step * direction
            loss_new = lsq_loss_grad(X, R, trial, n_units, code, alpha, g_new)
            if loss_new <= loss + 1e-4 * step * slope:
                accepted = True
                break
            step *= 0.5
        if not accepted:
            break
        n_iter = it + 1
        s_vec = trial - theta
        y_vec = g_new - g
        sy = np.dot(s_vec, y_vec)
        if sy > 1e-12 * np.dot(y_vec, y_vec):
            S[head] = s_vec
            Y[head] = y_vec
            rho[head] = 1.0 / sy
            head = (head + 1) % memory
            stored = min(stored + 1, memory)
        decrease = loss - loss_new
        theta[:] = trial
        g[:] = g_new
        loss = loss_new
        if decrease <= tol * max(abs(loss), 1e-300):
            break
    return loss, n_iter
