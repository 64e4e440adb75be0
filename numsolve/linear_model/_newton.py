"""Active-set Newton finish: Newton on the identified support with the signs held fixed.

Once the support ``S`` and the signs ``sigma`` of the solution are identified, the L1 problem
restricted to ``S`` is smooth, ``min f(X_S w + b) + l1 sigma'w + (l2/2)||w||^2``, and Newton's
method converges quadratically (least squares: in one step). Every step is truncated where a
coefficient would change sign (that coefficient is set to zero), and backtracked until the
true objective decreases, so the finish never makes the iterate worse.
"""

import numpy as np
import scipy.linalg

__all__ = ["newton_finish"]

_MAX_SUPPORT = 3000


def newton_finish(design, datafit, penalty, W, b, Z, y, a, fit_intercept, max_steps=30):
    """Improve ``(W, b, Z)`` in place by Newton steps on the support; True if it moved.

    Only single-task least-squares and logistic datafits are handled (K = 1).
    """
    if W.shape[1] != 1 or datafit.kind not in (0, 1):
        return False
    support = np.flatnonzero(W[:, 0])
    if support.size == 0 or support.size > _MAX_SUPPORT:
        return False
    XS = design.columns(support)
    if fit_intercept:
        XS = np.hstack([XS, np.ones((XS.shape[0], 1))])
    m = support.size
    sigma = np.zeros(XS.shape[1])
    sigma[:m] = np.sign(W[support, 0])
    ridge = np.zeros(XS.shape[1])
    ridge[:m] = penalty.l2
    theta = np.concatenate([W[support, 0], b]) if fit_intercept else W[support, 0].copy()
    z = Z[:, 0].copy()

    def objective(z_, theta_):
        return float(datafit.value(z_[:, None], y, a, np)) + float(
            penalty.l1 * np.abs(theta_[:m]).sum() + 0.5 * penalty.l2 * theta_[:m] @ theta_[:m])

    current = objective(z, theta)
    moved = False
    for _ in range(max_steps if datafit.kind == 1 else 1):
        G = datafit.raw_gradient(z[:, None], y, a, np)[:, 0]
        h = datafit.raw_hessian(z[:, None], y, a, np)[:, 0, 0]
        grad = XS.T @ G + penalty.l1 * sigma + ridge * theta
        H = XS.T @ (h[:, None] * XS)
        H[np.diag_indices_from(H)] += ridge + 1e-12 * max(np.trace(H) / H.shape[0], 1e-300)
        try:
            d = -scipy.linalg.solve(H, grad, assume_a="pos")
        except (np.linalg.LinAlgError, ValueError):
            d = -np.linalg.lstsq(H, grad, rcond=None)[0]
        decrement = -float(grad @ d)
        if not decrement > 1e-16 * max(abs(current), 1e-300):
            break
        limit, crossing = _sign_limit(theta[:m], d[:m])
        step = min(1.0, limit)
        at_boundary = limit <= 1.0
        dz = XS @ d
        accepted = False
        for _ in range(40):
            trial = theta + step * d
            if at_boundary:
                trial[crossing] = 0.0
            value = objective(z + step * dz, trial)
            if value <= current - 1e-4 * step * decrement or (
                    datafit.kind == 0 and value <= current):
                accepted = True
                break
            step *= 0.5
            at_boundary = False
        if not accepted:
            break
        z = z + XS @ (trial - theta)
        theta = trial
        current = value
        moved = True
        if at_boundary:
            break
    if moved:
        W[support, 0] = theta[:m]
        if fit_intercept:
            b[0] = theta[m]
        Z[:, 0] = z
    return moved


def _sign_limit(w, d):
    """Largest step keeping every coefficient's sign (inf if none changes), and the indices
    of the coefficients that reach zero first."""
    crossing = np.flatnonzero(np.sign(w + d) != np.sign(w))
    if crossing.size == 0:
        return np.inf, crossing
    t = -w[crossing] / d[crossing]
    first = float(t.min())
    return first, crossing[t <= first * (1 + 1e-12)]
