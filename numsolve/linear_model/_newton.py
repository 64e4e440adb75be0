"""Active-set Newton finish: Newton on the identified support with the signs held fixed.

Once the support ``S`` and the signs ``sigma`` of the solution are identified, the L1 problem
restricted to ``S`` is smooth, ``min f(X_S w + b) + l1 sigma'w + (l2/2)||w||^2``, and Newton's
method converges quadratically (least squares: in one step). A step that would change a
coefficient's sign is first projected onto the orthant (every flipped coefficient set to
zero and removed from the active set at once); if that does not decrease the objective, the
step is truncated at the first sign change instead and only that coefficient leaves the
active set. Newton continues on the rest (a primal active-set method). Steps are backtracked
until the true objective decreases, so the finish never makes the iterate worse.
"""

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

__all__ = ["newton_finish"]

_MAX_SUPPORT = 3000
_CONTROLLER = ThreadpoolController()


def newton_finish(design, datafit, penalty, W, b, Z, y, a, fit_intercept, max_steps=40):
    """Improve ``(W, b, Z)`` in place by Newton steps on the support; True if it moved.

    Only single-task least-squares and logistic datafits are handled (K = 1). The dense
    factorisations run single-threaded: on small machines a multi-threaded LAPACK call of
    this size is many times slower under load than one thread.
    """
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        return _newton(design, datafit, penalty, W, b, Z, y, a, fit_intercept, max_steps)


def _newton(design, datafit, penalty, W, b, Z, y, a, fit_intercept, max_steps):
    if W.shape[1] != 1 or datafit.kind not in (0, 1):
        return False
    support = np.flatnonzero(W[:, 0])
    if support.size == 0 or support.size > _MAX_SUPPORT:
        return False
    XS = design.X[:, support] if design.sparse else design.columns(support)
    if fit_intercept:
        ones = np.ones((XS.shape[0], 1))
        XS = sp.hstack([XS, ones], format="csc") if design.sparse else np.hstack([XS, ones])
    m = support.size
    sigma = np.zeros(XS.shape[1])
    sigma[:m] = np.sign(W[support, 0])
    ridge = np.zeros(XS.shape[1])
    ridge[:m] = penalty.l2
    theta = np.concatenate([W[support, 0], b]) if fit_intercept else W[support, 0].copy()
    active = np.ones(XS.shape[1], dtype=bool)
    z = Z[:, 0].copy()
    quadratic = datafit.kind == 0
    gram = _weighted_gram(XS, a) if quadratic else None

    def objective(z_, theta_):
        return float(datafit.value(z_[:, None], y, a, np)) + float(
            penalty.l1 * np.abs(theta_[:m]).sum() + 0.5 * penalty.l2 * theta_[:m] @ theta_[:m])

    current = objective(z, theta)
    moved = False
    for _ in range(max_steps):
        G = datafit.raw_gradient(z[:, None], y, a, np)[:, 0]
        grad = (np.asarray(XS.T @ G).reshape(-1) + penalty.l1 * sigma + ridge * theta)[active]
        if quadratic:
            H = gram[np.ix_(active, active)]
        else:
            h = datafit.raw_hessian(z[:, None], y, a, np)[:, 0, 0]
            H = _weighted_gram(XS[:, active], h)
        H = H + np.diag(ridge[active] + 1e-12 * max(np.trace(H) / H.shape[0], 1e-300))
        try:
            factor = scipy.linalg.cho_factor(H, check_finite=False)
            d_active = -scipy.linalg.cho_solve(factor, grad, check_finite=False)
        except np.linalg.LinAlgError:
            d_active = -np.linalg.lstsq(H, grad, rcond=None)[0]
        decrement = -float(grad @ d_active)
        if not decrement > 1e-16 * max(abs(current), 1e-300):
            break
        d = np.zeros_like(theta)
        d[active] = d_active
        projected = _project_step(theta, d, sigma, m)
        if projected is not None:
            value = objective(z + np.asarray(XS @ (projected - theta)).reshape(-1), projected)
            if value < current:
                z = z + np.asarray(XS @ (projected - theta)).reshape(-1)
                theta, current, moved = projected, value, True
                dropped = (theta[:m] == 0) & active[:m]
                active[:m][dropped] = False
                sigma[:m][dropped] = 0.0
                if not active[:m].any():
                    break
                continue
        limit, crossing = _sign_limit(theta[:m], d[:m])
        step = min(1.0, limit)
        at_boundary = limit <= 1.0
        dz = np.asarray(XS @ d).reshape(-1)
        accepted = False
        for _ in range(40):
            trial = theta + step * d
            if at_boundary:
                trial[crossing] = 0.0
            value = objective(z + step * dz, trial)
            if value <= current - 1e-4 * step * decrement or (quadratic and value <= current):
                accepted = True
                break
            step *= 0.5
            at_boundary = False
        if not accepted:
            break
        z = z + np.asarray(XS @ (trial - theta)).reshape(-1)
        theta = trial
        current = value
        moved = True
        if at_boundary:
            active[crossing] = False
            sigma[crossing] = 0.0
            if not active[:m].any():
                break
        elif quadratic:
            break
    if moved:
        W[support, 0] = theta[:m]
        if fit_intercept:
            b[0] = theta[m]
        Z[:, 0] = z
    return moved


def _weighted_gram(XS, h):
    """``XS' diag(h) XS`` as a dense array (sparse products for sparse XS)."""
    if sp.issparse(XS):
        return np.asarray((XS.T @ sp.diags(h) @ XS).toarray())
    return XS.T @ (h[:, None] * XS)


def _project_step(theta, d, sigma, m):
    """The full step projected onto the orthant of ``sigma`` (every coefficient that would
    change sign set to zero at once), or None when no sign changes. One projected Newton
    step drops all wrongly signed coefficients together, where the truncated step drops
    one per factorisation."""
    trial = theta + d
    flipped = np.flatnonzero(sigma[:m] * trial[:m] < 0)
    if flipped.size == 0:
        return None
    trial[flipped] = 0.0
    return trial


def _sign_limit(w, d):
    """Largest step keeping every coefficient's sign (inf if none changes), and the indices
    of the coefficients that reach zero first."""
    crossing = np.flatnonzero((np.sign(w + d) != np.sign(w)) & (w != 0))
    if crossing.size == 0:
        return np.inf, crossing
    t = -w[crossing] / d[crossing]
    first = float(t.min())
    return first, crossing[t <= first * (1 + 1e-12)]
