"""Variable projection for the GBNN stage fit: the output layer solved, the hidden layer left.

For fixed hidden weights ``W, c`` the stage objective
``(||H V + d - R||^2 + alpha (||W||^2 + ||V||^2)) / (2n)``, ``H = activate(X W + c)``, is a
ridge regression in ``V, d`` with a closed-form minimiser. :func:`projected_loss_grad` returns
the objective at that minimiser and its gradient in ``W, c`` (by the envelope theorem, the
partial gradient at the optimal ``V, d``), so L-BFGS runs over the hidden layer only.

The arrays are laid out unit by unit (``H`` is stored as ``H'``, n_units x n_samples), so that
the elementwise loops run over long contiguous rows; the two products with ``X`` run in the
dtype of ``X`` (float32 halves their cost), everything else in float64.
"""

import numpy as np
from numba import njit

from ._gbnn_numba import activate_into, offsets

__all__ = ["projected_work", "ridge_output_layer", "projected_loss_grad"]


@njit(cache=True, nogil=True, error_model="numpy")
def projected_work(X, R, n_units):
    """Work arrays of :func:`projected_loss_grad` for the rows ``X`` and targets ``R``.

    Returns ``(ZT, HT, DT, GT, MT, dZT, WT, gWT, V, B, stats, bits, XT, RT)``: pre-activations
    in the dtype of ``X``, hidden units, derivatives, two float64 scratch arrays, the
    back-propagated residuals in the dtype of ``X`` (all n_units x n_samples), the hidden
    weights and their gradient (n_units x n_features, dtype of ``X``), ``V`` and ``B``
    (n_units x n_outputs), ``stats`` (column means of ``R`` and its centred sum of squares),
    an int64 work array, and contiguous copies of ``X'`` and ``R'``.
    """
    n, p = X.shape
    k = R.shape[1]
    J = n_units
    dt = X.dtype
    stats = np.zeros(k + 1)
    for o in range(k):
        total = 0.0
        for i in range(n):
            total += R[i, o]
        stats[o] = total / n
    for o in range(k):
        total = 0.0
        for i in range(n):
            total += (R[i, o] - stats[o]) ** 2
        stats[k] += total
    return (np.empty((J, n), dt), np.empty((J, n)), np.empty((J, n)), np.empty((J, n)),
            np.empty((J, n)), np.empty((J, n), dt), np.empty((J, p), dt), np.empty((J, p), dt),
            np.empty((J, k)), np.empty((J, k)), stats, np.empty(J * n, dtype=np.int64),
            np.ascontiguousarray(X.T), np.ascontiguousarray(R.T))


@njit(cache=True, nogil=True, error_model="numpy")
def ridge_output_layer(A, B, hm, n, alpha, stats, theta, ov, V):
    """Minimise ``||H V + d - R||^2 + alpha ||V||^2`` from the moments of ``H`` and ``R``.

    ``A = H'H`` and ``B = H'R`` are overwritten, ``hm`` holds the column means of ``H``,
    ``stats`` those of ``R`` and its centred sum of squares. ``V`` solves
    ``(Hc'Hc + alpha I) V = Hc'Rc`` for the centred ``Hc, Rc`` (Cholesky of the J x J matrix)
    and ``d = mean(R) - mean(H) V``; both go to ``theta[ov:]`` (and ``V`` to ``V``).

    Returns
    -------
    float
        The minimum, ``||Rc||^2 - <V, Hc'Rc>``.
    """
    J, k = B.shape
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


@njit(cache=True, nogil=True, error_model="numpy")
def projected_loss_grad(X, R, theta, n_units, code, alpha, grad, work):
    """Variable-projection objective of the stage at the hidden layer of ``theta``.

    The output layer of ``theta`` (``V, d``, the flat layout of
    :mod:`numsolve.neural._gbnn_numba`) is overwritten by its ridge optimum; ``grad`` gets
    the gradient in ``W, c`` and zeros for ``V, d``. ``work`` is :func:`projected_work` of
    ``X, R``; ``R`` is float64.

    Returns
    -------
    float
        The stage objective at ``W, c`` and the optimal ``V, d``.
    """
    ZT, HT, DT, GT, MT, dZT, WT, gWT, V, B, stats, bits, XT, RT = work
    n, p = X.shape
    k = R.shape[1]
    J = n_units
    oc, ov, od = offsets(p, J, k)
    for q in range(p):
        for j in range(J):
            WT[j, q] = theta[q * J + j]
    np.dot(WT, XT, ZT)
    hm = np.empty(J)
    for j in range(J):
        cj = theta[oc + j]
        for i in range(n):
            GT[j, i] = ZT[j, i] + cj
    activate_into(GT, code, HT, DT, bits)
    for j in range(J):
        total = 0.0
        for i in range(n):
            total += HT[j, i]
        hm[j] = total / n
    A = np.dot(HT, HT.T)
    np.dot(HT, R, B)
    loss = ridge_output_layer(A, B, hm, n, alpha, stats, theta, ov, V)
    # (E V')' = (V V') H' + (V d) 1' - V R', without forming the residuals E
    np.dot(np.dot(V, V.T), HT, GT)
    np.dot(V, RT, MT)
    for j in range(J):
        u = 0.0
        for o in range(k):
            u += V[j, o] * theta[od + o]
        total = 0.0
        for i in range(n):
            v = (GT[j, i] + u - MT[j, i]) * DT[j, i]
            dZT[j, i] = v
            total += v
        grad[oc + j] = total / n
    np.dot(dZT, X, gWT)
    for q in range(p):
        for j in range(J):
            w = theta[q * J + j]
            loss += alpha * w * w
            grad[q * J + j] = (gWT[j, q] + alpha * w) / n
    grad[ov:] = 0.0
    return loss / (2 * n)
