"""The GBNN boosting loop in one compiled call: stage fits, Newton multipliers, early stopping.

Every stage of :func:`boost` runs without returning to Python: pseudo-residuals of the loss,
the row subsample, the least-squares fit of the stage's J-unit network by L-BFGS
(:func:`numsolve.neural._gbnn_lbfgs.lbfgs`, on residuals standardised to unit variance), its
outputs on all training rows, the safeguarded Newton step for its multiplier and the
validation loss. The random draws (row subsamples, initial weights) are made beforehand, so
the result depends on ``random_state`` only.
"""

import numpy as np
from numba import njit

from ._gbnn_loss import loss_buffers, loss_value, newton_step, residuals_into
from ._gbnn_lbfgs import lbfgs
from ._gbnn_numba import hidden_into, work_arrays

__all__ = ["fit_stage", "forward_into", "boost"]


@njit(cache=True, nogil=True, error_model="numpy")
def fit_stage(X, R, theta, n_units, code, alpha, max_iter, tol):
    """Fit ``activate(X W + c) V + d`` to ``R`` by L-BFGS from ``theta`` (updated in place).

    The columns of ``R`` are standardised for the fit (the penalty ``alpha`` applies to the
    standardised problem) and the output layer is mapped back afterwards, so the returned
    ``theta`` predicts ``R`` itself.

    Returns
    -------
    loss : float
        Final value of the standardised least-squares objective.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(50, 2); R = 3.0 * np.tanh(X[:, :1]) + 1.0
    >>> theta = rng.uniform(-1, 1, 2 * 2 + 2 + 2 + 1)
    >>> _ = fit_stage(X, R, theta, 2, 1, 0.0, 200, 1e-12)
    >>> out = np.empty((50, 1))
    >>> forward_into(X, theta, 2, 1, out, work_arrays(X, 2, 1))
    >>> bool(np.mean((out - R) ** 2) < 1e-3)
    True
    """
    n, k = R.shape
    J = n_units
    ov = X.shape[1] * J + J
    od = ov + J * k
    center = np.zeros(k)
    scale = np.zeros(k)
    for i in range(n):
        for o in range(k):
            center[o] += R[i, o]
    center /= n
    for i in range(n):
        for o in range(k):
            scale[o] += (R[i, o] - center[o]) ** 2
    for o in range(k):
        scale[o] = np.sqrt(scale[o] / n)
        if scale[o] == 0.0:
            scale[o] = 1.0
    Rs = np.empty((n, k))
    for i in range(n):
        for o in range(k):
            Rs[i, o] = (R[i, o] - center[o]) / scale[o]
    loss, _ = lbfgs(X, Rs, theta, J, code, alpha, max_iter, tol, 10)
    for j in range(J):
        for o in range(k):
            theta[ov + j * k + o] *= scale[o]
    for o in range(k):
        theta[od + o] = theta[od + o] * scale[o] + center[o]
    return loss


@njit(cache=True, nogil=True, error_model="numpy")
def forward_into(X, theta, n_units, code, out, work):
    """Outputs ``activate(X W + c) V + d`` of the flat parameters ``theta`` into ``out``.

    ``work`` is ``work_arrays(X, n_units, out.shape[1])`` of :mod:`numsolve.neural._gbnn_numba`.
    """
    n, p = X.shape
    k = out.shape[1]
    J = n_units
    od = p * J + J + J * k
    hidden_into(X, theta, J, k, code, work)
    np.dot(work[1], work[5], out)
    for i in range(n):
        for o in range(k):
            out[i, o] += theta[od + o]


@njit(cache=True, nogil=True, error_model="numpy")
def boost(X, Y, F, Xv, Yv, Fv, rows, thetas, n_units, code, loss_code, alpha, max_iter,
          tol_inner, learning_rate, n_iter_no_change, tol, best, best_stage, start, since_best):
    """Fit ``thetas.shape[0]`` boosting stages; ``F`` and ``Fv`` are updated in place.

    Parameters
    ----------
    X, Y, F : ndarrays of shape (n, p), (n, k), (n, k)
        Standardised training inputs, targets (coded for ``loss_code``) and current scores.
    Xv, Yv, Fv : ndarrays
        The same for the validation rows (zero rows: no early stopping).
    rows : ndarray of shape (n_new, n_sub)
        Training rows each stage is fitted on.
    thetas : ndarray of shape (n_new, n_params)
        Initial parameters of each stage's network; the fitted ones on return (layout of
        :mod:`numsolve.neural._gbnn_numba`, output layer in the scale of the residuals,
        without the multiplier).
    n_units, code, loss_code, alpha, max_iter, tol_inner : stage fit settings
    learning_rate : float
        Shrinkage of the Newton multiplier.
    n_iter_no_change, tol : early-stopping rule on the validation loss.
    best, best_stage, start, since_best : float, int, int, int
        Best validation loss so far, the stage count where it was reached, the stages
        already fitted, and how many of them count against ``n_iter_no_change`` (0 on a
        warm start; ``start - best_stage`` when a fit continues in chunks).

    Returns
    -------
    rhos, train, val : ndarrays of shape (n_fitted,)
        Multipliers, training and validation losses of the stages fitted.
    best_stage : int
        Stage count of the best validation loss (``start + n_fitted`` without validation).
    """
    n = X.shape[0]
    k = Y.shape[1]
    n_new, n_sub = rows.shape
    p = X.shape[1]
    validate = Xv.shape[0] > 0
    R = np.empty((n, k))
    Xs = np.empty((n_sub, p), dtype=np.float32)  # the stage fits run their products in float32
    Rs = np.empty((n_sub, k))
    f = np.empty((n, k))
    fv = np.empty((Xv.shape[0], k))
    work = work_arrays(X, n_units, k)
    work_v = work_arrays(Xv, n_units, k)
    buf = loss_buffers(n, k)
    buf_v = loss_buffers(Xv.shape[0], k)
    rhos = np.zeros(n_new)
    train = np.zeros(n_new)
    val = np.zeros(n_new)
    current = loss_value(Y, F, F, 0.0, loss_code, buf)
    n_fitted = 0
    for t in range(n_new):
        residuals_into(Y, F, loss_code, R, buf)
        for a in range(n_sub):
            i = rows[t, a]
            Xs[a] = X[i]
            Rs[a] = R[i]
        theta = thetas[t]
        fit_stage(Xs, Rs, theta, n_units, code, alpha, max_iter, tol_inner)
        forward_into(X, theta, n_units, code, f, work)
        rho = learning_rate * newton_step(Y, R, f, loss_code)
        value = loss_value(Y, F, f, rho, loss_code, buf)
        while rho != 0.0 and value > current:  # safeguard: the step never raises the loss
            rho /= 2
            if abs(rho) < 1e-12:
                rho = 0.0
            value = loss_value(Y, F, f, rho, loss_code, buf)
        F += rho * f
        rhos[t] = rho
        train[t] = value
        current = value
        n_fitted = t + 1
        if validate:
            forward_into(Xv, theta, n_units, code, fv, work_v)
            Fv += rho * fv
            val[t] = loss_value(Yv, Fv, Fv, 0.0, loss_code, buf_v)
            if not np.isfinite(best) or val[t] < best - tol * abs(best):
                best = val[t]
                best_stage = start + t + 1
                since_best = 0
            else:
                since_best += 1
                if since_best >= n_iter_no_change:
                    break
    if not validate:
        best_stage = start + n_fitted
    n_val = n_fitted if validate else 0  # no validation rows: no validation losses
    return rhos[:n_fitted], train[:n_fitted], val[:n_val], best_stage
