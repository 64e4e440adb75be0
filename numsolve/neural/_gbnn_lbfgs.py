"""L-BFGS for the GBNN stage fit, by variable projection over the hidden layer."""

import numpy as np
from numba import njit

from ._gbnn_varpro import projected_loss_grad, projected_work

__all__ = ["lbfgs"]


@njit(cache=True, nogil=True, error_model="numpy")
def lbfgs(X, R, theta, n_units, code, alpha, max_iter, tol, memory):
    """Minimise the stage objective over the hidden layer of ``theta`` (in place) by L-BFGS.

    The objective is the variable-projection one of
    :func:`numsolve.neural._gbnn_varpro.projected_loss_grad`: a function of ``W, c``, the
    output layer being the ridge optimum at every evaluation (the initial ``V, d`` in
    ``theta`` are ignored; the optimal ones are in ``theta`` on return). Two-loop recursion
    with ``memory`` pairs and an Armijo backtracking line search. Stops after ``max_iter``
    iterations, when the largest gradient entry falls below ``tol``, or when an iteration
    lowers the loss by less than ``tol`` relative to its value.

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
    work = projected_work(X, R, n_units)
    size = theta.shape[0]
    m = X.shape[1] * n_units + n_units  # W and c
    S = np.zeros((memory, m))
    Y = np.zeros((memory, m))
    rho = np.zeros(memory)
    a = np.zeros(memory)
    g = np.empty(size)
    g_new = np.empty(size)
    trial = theta.copy()
    s_vec = np.empty(m)
    y_vec = np.empty(m)
    direction = np.empty(m)
    loss = projected_loss_grad(X, R, theta, n_units, code, alpha, g, work)
    stored = 0
    head = 0
    n_iter = 0
    for it in range(max_iter):
        if np.max(np.abs(g)) <= tol:
            break
        for q in range(m):
            direction[q] = -g[q]
        for back in range(stored):  # two-loop recursion, no temporaries
            slot = (head - 1 - back) % memory
            a[slot] = rho[slot] * np.dot(S[slot], direction)
            for q in range(m):
                direction[q] -= a[slot] * Y[slot, q]
        if stored > 0:
            last = (head - 1) % memory
            gamma = np.dot(S[last], Y[last]) / np.dot(Y[last], Y[last])
            for q in range(m):
                direction[q] *= gamma
        for fwd in range(stored):
            slot = (head - stored + fwd) % memory
            b = rho[slot] * np.dot(Y[slot], direction)
            for q in range(m):
                direction[q] += (a[slot] - b) * S[slot, q]
        slope = np.dot(g[:m], direction)
        if slope >= 0.0:  # not a descent direction: restart from steepest descent
            direction[:] = -g[:m]
            slope = -np.dot(direction, direction)
            stored = 0
        step = 1.0 if stored > 0 else min(1.0, 1.0 / np.sqrt(-slope))
        accepted = False
        for _ in range(40):
            for q in range(m):
                trial[q] = theta[q] + step * direction[q]
            loss_new = projected_loss_grad(X, R, trial, n_units, code, alpha, g_new, work)
            if loss_new <= loss + 1e-4 * step * slope:
                accepted = True
                break
            step *= 0.5
        if not accepted:
            break
        n_iter = it + 1
        for q in range(m):
            s_vec[q] = trial[q] - theta[q]
            y_vec[q] = g_new[q] - g[q]
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
