"""Numba kernels of the GBNN base learner: least-squares loss of a J-unit network and L-BFGS.

The parameters of ``activate(X W + c) V + d`` live in one flat vector ``theta`` in the order
``W`` (row-major, n_features x n_units), ``c``, ``V`` (row-major, n_units x n_outputs), ``d``.
Activations are coded as integers (:data:`ACTIVATION_CODES`) so one compiled signature serves
all of them. The matrix products go to BLAS; the logistic and tanh units use a vectorisable
exponential (:func:`exp_neg`), since the scalar ``exp`` dominated the cost of an evaluation.
"""

import numpy as np
from numba import njit

__all__ = ["ACTIVATION_CODES", "exp_neg", "activate_into", "hidden_into", "set_targets",
           "output_layer_into", "loss_grad_into", "lsq_loss_grad", "lbfgs"]

ACTIVATION_CODES = {"logistic": 0, "tanh": 1, "relu": 2, "identity": 3}

_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 split so that k * _LN2_HI is exact for |k| < 2**20
_LN2_LO = 1.9082149292705877e-10


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def exp_neg(z, out, bits):
    """``out = exp(-z)`` elementwise (relative error ~1e-16, arguments clipped to +-700).

    Range reduction ``exp(x) = 2^k exp(r)``, ``|r| <= ln(2)/2``, a degree-12 Taylor
    polynomial for ``exp(r)`` and ``2^k`` assembled from its exponent bits in ``bits`` (an
    int64 work array as long as ``z``). Both loops vectorise, unlike calls to ``np.exp``.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([-1.0, 0.0, 2.5]); out = np.empty(3)
    >>> exp_neg(z, out, np.empty(3, dtype=np.int64))
    >>> bool(np.allclose(out, np.exp(-z), rtol=1e-15))
    True
    """
    scale = bits.view(np.float64)
    for i in range(z.shape[0]):
        x = min(max(-z[i], -700.0), 700.0)
        k = np.floor(x * _LOG2E + 0.5)
        r = (x - k * _LN2_HI) - k * _LN2_LO
        p = 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        out[i] = p * r + 1.0
        bits[i] = (np.int64(k) + 1023) << 52
    for i in range(z.shape[0]):
        out[i] *= scale[i]


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def activate_into(Z, code, H, D, bits):
    """Hidden units ``H = activate(Z)`` and derivatives ``D``; ``Z`` is overwritten.

    ``Z``, ``H``, ``D`` are C-contiguous arrays of one shape; ``bits`` an int64 work array of
    ``Z.size`` entries.
    """
    z = Z.ravel()
    h = H.ravel()
    dh = D.ravel()
    if code == 0:
        exp_neg(z, h, bits)
        for i in range(z.shape[0]):  # branch-free loops vectorise
            s = 1.0 / (1.0 + h[i])
            h[i] = s
            dh[i] = s - s * s
    elif code == 1:  # tanh(z) = 2 / (1 + exp(-2 z)) - 1
        z *= 2.0
        exp_neg(z, h, bits)
        for i in range(z.shape[0]):
            s = 2.0 / (1.0 + h[i]) - 1.0
            h[i] = s
            dh[i] = 1.0 - s * s
    elif code == 2:
        for i in range(z.shape[0]):
            h[i] = z[i] if z[i] > 0.0 else 0.0
            dh[i] = 1.0 if z[i] > 0.0 else 0.0
    else:
        h[:] = z
        dh[:] = 1.0


@njit(cache=True, nogil=True, error_model="numpy")
def _work(X, n_units, n_outputs):
    """Work arrays of :func:`loss_grad_into` for ``X``.

    Float64 ``Z, H, D, E, dZ`` (rows x units or outputs), int64 ``bits`` for
    :func:`exp_neg`, the hidden weights ``W`` and their gradient ``gW`` in the dtype of
    ``X``, the output weights ``V`` and their gradient ``gV``, ``stats`` (column means and
    centred sum of squares of the targets, set by :func:`set_targets`), and ``Zx, dZx``:
    ``Z`` and ``dZ`` in the dtype of ``X``, for the two products with ``X``.
    """
    n, p = X.shape
    dt = X.dtype
    return (np.empty((n, n_units)), np.empty((n, n_units)), np.empty((n, n_units)),
            np.empty((n, n_outputs)), np.empty((n, n_units)),
            np.empty(n * n_units, dtype=np.int64), np.empty((p, n_units), dt),
            np.empty((n_units, n_outputs)), np.empty((p, n_units), dt),
            np.empty((n_units, n_outputs)), np.zeros(n_outputs + 1),
            np.empty((n, n_units), dt), np.empty((n, n_units), dt))


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def set_targets(R, work):
    """Store the column means of ``R`` and its centred sum of squares in ``work``."""
    stats = work[10]
    n, k = R.shape
    stats[:] = 0.0
    for i in range(n):
        for o in range(k):
            stats[o] += R[i, o]
    stats[:k] /= n
    for i in range(n):
        for o in range(k):
            stats[k] += (R[i, o] - stats[o]) ** 2


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def hidden_into(X, theta, n_units, n_outputs, code, work):
    """Hidden units of ``theta`` on ``X`` into the work arrays of :func:`_work`.

    Fills ``H`` and the derivatives ``D`` and copies ``W`` and ``V`` into the work dtype.
    """
    Z, H, D, bits, W, V, Zx = work[0], work[1], work[2], work[5], work[6], work[7], work[11]
    n, p = X.shape
    J = n_units
    oc = p * J
    w = W.ravel()
    for q in range(oc):
        w[q] = theta[q]
    v = V.ravel()
    for q in range(J * n_outputs):
        v[q] = theta[oc + J + q]
    np.dot(X, W, Zx)
    for i in range(n):
        for j in range(J):
            Z[i, j] = Zx[i, j] + theta[oc + j]
    activate_into(Z, code, H, D, bits)


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def output_layer_into(H, R, alpha, theta, ov, work):
    """Ridge-optimal output layer for the hidden units ``H``: ``V`` and ``d`` into ``theta``.

    Minimises ``||H V + d - R||^2 + alpha ||V||^2`` (``d`` unpenalised): ``V`` solves
    ``(Hc' Hc + alpha I) V = Hc' Rc`` with the centred ``Hc``, ``Rc`` (Cholesky of the
    J x J matrix) and ``d = mean(R) - mean(H) V``. Needs :func:`set_targets` on ``R`` first.
    The solution is also left in the work array ``V``.

    Returns
    -------
    float
        The minimum ``||H V + d - R||^2 + alpha ||V||^2``, that is ``||Rc||^2 - <V, Hc' Rc>``.
    """
    V, B, stats = work[7], work[9], work[10]
    n, J = H.shape
    k = R.shape[1]
    hm = np.empty(J)
    for j in range(J):
        total = 0.0
        for i in range(n):
            total += H[i, j]
        hm[j] = total / n
    A = np.dot(H.T, H)
    np.dot(H.T, R, B)
    for j in range(J):
        for o in range(k):
            B[j, o] -= n * hm[j] * stats[o]
        for q in range(J):
            A[j, q] -= n * hm[j] * hm[q]
        A[j, j] += alpha
    for j in range(J):  # Cholesky, lower triangle in place
        for q in range(j):
            A[j, j] -= A[j, q] * A[j, q]
        A[j, j] = np.sqrt(max(A[j, j], 1e-300))
        for i in range(j + 1, J):
            for q in range(j):
                A[i, j] -= A[i, q] * A[j, q]
            A[i, j] /= A[j, j]
    fit = 0.0
    for o in range(k):
        for j in range(J):
            s = B[j, o]
            for q in range(j):
                s -= A[j, q] * V[q, o]
            V[j, o] = s / A[j, j]
        for j in range(J - 1, -1, -1):
            s = V[j, o]
            for q in range(j + 1, J):
                s -= A[q, j] * V[q, o]
            V[j, o] = s / A[j, j]
        s = stats[o]
        for j in range(J):
            s -= hm[j] * V[j, o]
            theta[ov + j * k + o] = V[j, o]
            fit += V[j, o] * B[j, o]
        theta[ov + J * k + o] = s
    return stats[k] - fit


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def loss_grad_into(X, R, theta, n_units, code, alpha, grad, work, project=False):
    """:func:`lsq_loss_grad` with the work arrays of :func:`_work` passed in.

    With ``project`` the output layer in ``theta`` is first replaced by the ridge optimum for
    the hidden units (:func:`output_layer_into`, after :func:`set_targets`) and its gradient
    entries are 0: the value and gradient of the variable-projection objective, a function
    of ``W`` and ``c`` only. ``R`` is float64; the two products with ``X`` run in its
    dtype (float32 halves their cost), everything else in float64.
    """
    Z, H, D, E, dZ, _, _, V, gW, gV, _, _, dZx = work
    n, p = X.shape
    k = R.shape[1]
    J = n_units
    oc = p * J
    ov = oc + J
    od = ov + J * k
    hidden_into(X, theta, J, k, code, work)
    if project:
        loss = output_layer_into(H, R, alpha, theta, ov, work)
        # E V' = H (V V') + 1 (V d)' - R V', without forming the residuals E
        np.dot(R, V.T, dZ)
        np.dot(H, np.dot(V, V.T), Z)
        u = np.zeros(J)
        for j in range(J):
            for o in range(k):
                u[j] += V[j, o] * theta[od + o]
        for i in range(n):
            for j in range(J):
                dZ[i, j] = Z[i, j] + u[j] - dZ[i, j]
        grad[ov:] = 0.0
    else:
        np.dot(H, V, E)
        loss = 0.0
        for o in range(k):
            grad[od + o] = 0.0
        for i in range(n):
            for o in range(k):
                s = E[i, o] + theta[od + o] - R[i, o]
                E[i, o] = s
                loss += s * s
                grad[od + o] += s
        np.dot(H.T, E, gV)
        gv = gV.ravel()
        for q in range(J * k):
            loss += alpha * theta[ov + q] * theta[ov + q]
            grad[ov + q] = gv[q] + alpha * theta[ov + q]
        np.dot(E, V.T, dZ)
    for i in range(n):
        for j in range(J):
            dZ[i, j] *= D[i, j]
            dZx[i, j] = dZ[i, j]
    for j in range(J):
        total = 0.0
        for i in range(n):
            total += dZ[i, j]
        grad[oc + j] = total
    np.dot(X.T, dZx, gW)
    gw = gW.ravel()
    for q in range(oc):
        loss += alpha * theta[q] * theta[q]
        grad[q] = gw[q] + alpha * theta[q]
    grad /= n
    return loss / (2 * n)


@njit(cache=True, nogil=True, error_model="numpy")
def lsq_loss_grad(X, R, theta, n_units, code, alpha, grad):
    """Loss ``||out - R||^2 / (2n) + alpha (||W||^2 + ||V||^2) / (2n)``; gradient into ``grad``.

    ``X`` (float64 or float32) and ``R`` (float64) are C-contiguous.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.ones((2, 3)); R = np.zeros((2, 1))
    >>> theta = np.zeros(3 * 4 + 4 + 4 + 1); theta[16:20] = 1.0
    >>> float(lsq_loss_grad(X, R, theta, 4, 0, 0.0, np.empty_like(theta)))
    2.0
    """
    work = _work(X, n_units, R.shape[1])
    return loss_grad_into(X, R, theta, n_units, code, alpha, grad, work)


@njit(cache=True, nogil=True, error_model="numpy")
def lbfgs(X, R, theta, n_units, code, alpha, max_iter, tol, memory, project=False):
    """Minimise :func:`lsq_loss_grad` over ``theta`` (updated in place) by L-BFGS.

    Two-loop recursion with ``memory`` pairs and an Armijo backtracking line search. Stops
    after ``max_iter`` iterations, when the largest gradient entry falls below ``tol``, or
    when an iteration lowers the loss by less than ``tol`` relative to its value. With
    ``project`` it minimises the variable-projection objective over the hidden layer
    ``W, c`` only, the output layer being the ridge optimum at every evaluation
    (:func:`output_layer_into`); the initial output layer in ``theta`` is then ignored.

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
    work = _work(X, n_units, R.shape[1])
    size = theta.shape[0]
    m = X.shape[1] * n_units + n_units if project else size
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
    if project:
        set_targets(R, work)
    loss = loss_grad_into(X, R, theta, n_units, code, alpha, g, work, project)
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
            loss_new = loss_grad_into(X, R, trial, n_units, code, alpha, g_new, work, project)
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
