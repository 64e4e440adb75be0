"""Block update rules: how far to move the chosen block.

With ``g_b`` the block gradient of the smooth part (ridge term included):

* ``lipschitz``: prox-gradient step with the block constant ``L_b = lambda_max(H_b)``;
* ``line-search``: the same with ``L_b`` found by doubling until the bound holds (kept per block);
* ``diagonal``: prox-gradient step scaled by the absolute row sums of the block bound ``H_b``;
* ``matrix``: minimise the bound model ``g_b'd + d'H_b d/2 + g(w_b + d)`` (a Newton-type step
  with the fixed curvature bound; a proximal-Newton step when ``g`` has an L1 part);
* ``newton``: the same model with the true block Hessian, then an Armijo backtracking search
  with quadratic interpolation (proximal Newton for L1 / bounds); the objective it tests
  includes the L1 part, read through the change of ``Z``, so it is not the smooth route's
  halving search on the whole smooth objective (``_smooth_route._armijo_step``);
* ``exact``: least squares only: the block subproblem solved exactly;
* ``two-metric``: two-metric projection for L1 / bounds (Gafni & Bertsekas): on the orthant
  fixed by the signs of ``w_b`` (zeros enter with the sign their gradient asks for), a
  Newton step on the free coordinates and a diagonally scaled step on those at the boundary
  moving towards it, projected back onto the orthant along an Armijo search.
"""

__all__ = ["UPDATES", "block_update"]

UPDATES = ("lipschitz", "line-search", "diagonal", "matrix", "newton", "exact", "two-metric")
_BOUNDARY = 1e-4
_QP_STEPS = 3000


def block_update(update, pb, state, idx, block_id, g_b):
    """Return the step ``d`` for coordinates ``idx`` and the change ``dZ`` it makes to ``Z``."""
    xp = pb.xp
    w_b = xp.take(state.w, idx)
    Xb, onehot = pb.block_columns(idx)
    if update in ("lipschitz", "diagonal"):
        H = pb.bound_block(Xb, idx)
        if update == "lipschitz":
            step = 1.0 / pb.cached_lambda_max(block_id, H)
        else:
            step = 1.0 / xp.sum(xp.abs(H), axis=1)
        d = pb.penalty.prox_l1(w_b - step * g_b, step, xp) - w_b
        return d, pb.delta_z(Xb, onehot, d)
    if update == "line-search":
        return _line_search(pb, state, block_id, w_b, g_b, Xb, onehot)
    if update in ("matrix", "exact"):
        H = pb.bound_block(Xb, idx)
        d = _model_minimiser(g_b, H, w_b, pb, exact=update == "exact")
        return d, pb.delta_z(Xb, onehot, d)
    H = pb.hessian_block(Xb, idx, state.Z)
    if update == "two-metric" and not pb.penalty.smooth:
        return _two_metric(pb, state, w_b, g_b, H, Xb, onehot)
    d = _model_minimiser(g_b, H, w_b, pb, exact=False)
    dZ = pb.delta_z(Xb, onehot, d)
    return _armijo(pb, state, w_b, g_b, d, dZ)


def _two_metric(pb, state, w_b, g_b, H, Xb, onehot):
    """Two-metric projection step on the orthant of the block's signs.

    ``s = sign(w_b)``; a zero coordinate takes ``-sign(g_i)`` when ``|g_i| > l1`` (only ``+``
    for the non-negative penalty) and stays at zero otherwise. On that orthant the penalty is
    the linear ``l1 s'w`` with gradient ``q = g_b + l1 s``. Coordinates within ``_BOUNDARY``
    of zero whose step points at it get the diagonal step ``-q_i / H_ii``, the others a
    Newton step on ``H`` restricted to them; the path ``P(w_b + alpha d)`` (``P``: projection
    onto the orthant) is searched by halving until ``F`` drops by ``1e-4 q'(w_new - w_b)``.
    """
    xp = pb.xp
    pen = pb.penalty
    one = xp.ones_like(w_b)
    zero = xp.zeros_like(w_b)
    enter = xp.where(g_b < -pen.l1, one, zero)
    if not pen.positive:
        enter = xp.where(g_b > pen.l1, -one, enter)
    s = xp.where(w_b != 0, xp.sign(w_b), enter)
    q = (g_b + pen.l1 * s) * xp.abs(s)
    diag = xp.linalg.diagonal(H)
    boundary = (s != 0) & (xp.abs(w_b) <= _BOUNDARY) & (s * q > 0)
    free = xp.astype((s != 0) & ~boundary, w_b.dtype)
    eye = xp.eye(w_b.shape[0], dtype=w_b.dtype, device=pb.device)
    system = H * (free[:, None] * free[None, :]) + (1.0 - free) * eye
    newton = -_solve(system, q * free, xp)
    safe = xp.where(diag > 0, diag, one)
    d = xp.where(boundary, -q / safe, newton * free)
    base = pb.smooth_value(state.Z, state.w)
    l1_before = pen.l1 * float(xp.sum(xp.abs(w_b)))
    alpha = 1.0
    for _ in range(50):
        trial = w_b + alpha * d
        trial = xp.where(s > 0, xp.maximum(trial, zero), xp.where(s < 0, xp.minimum(
            trial, zero), zero))
        step = trial - w_b
        linear = float(xp.sum(q * step))
        if not linear < 0:  # the projection spoilt the descent: shorter steps clip less
            alpha *= 0.5
            continue
        dZ = pb.delta_z(Xb, onehot, step)
        value = (pb.smooth_value(state.Z + dZ, state.w) + pb.ridge_change(w_b, step)
                 + pen.l1 * float(xp.sum(xp.abs(trial))) - l1_before)
        if value <= base + 1e-4 * linear:
            return step, dZ
        alpha *= 0.5
    return zero, xp.zeros_like(state.Z)


def _line_search(pb, state, block_id, w_b, g_b, Xb, onehot):
    xp = pb.xp
    key = block_id if block_id is not None else "variable"
    L = pb.ls_lipschitz.get(key, 1.0)
    base = pb.smooth_value(state.Z, state.w)
    for _ in range(200):
        d = pb.penalty.prox_l1(w_b - g_b / L, 1.0 / L, xp) - w_b
        dZ = pb.delta_z(Xb, onehot, d)
        new = pb.smooth_value(state.Z + dZ, state.w) + pb.ridge_change(w_b, d)
        model = base + float(xp.sum(g_b * d)) + 0.5 * L * float(xp.sum(d * d))
        if new <= model + 1e-12 * abs(base):
            break
        L *= 2.0
    pb.ls_lipschitz[key] = L
    return d, dZ


def _model_minimiser(g, H, w, pb, exact):
    """``argmin_d g'd + d'Hd/2 + g_ns(w + d)`` (g_ns: the L1 / sign part of the penalty)."""
    xp = pb.xp
    if pb.penalty.smooth:
        return -_solve(H, g, xp)
    # accelerated proximal gradient on u = w + d
    lmax = float(xp.linalg.eigvalsh(H)[-1])
    if lmax <= 0:
        return xp.zeros_like(w)
    step = 1.0 / lmax
    linear = g - H @ w
    u = w
    v = w
    t = 1.0
    tol = 1e-14 if exact else 1e-10
    for _ in range(_QP_STEPS):
        u_next = pb.penalty.prox_l1(v - step * (linear + H @ v), step, xp)
        t_next = 0.5 * (1.0 + (1.0 + 4.0 * t * t) ** 0.5)
        v = u_next + ((t - 1.0) / t_next) * (u_next - u)
        change = float(xp.max(xp.abs(u_next - u)))
        u, t = u_next, t_next
        if change <= tol * (1.0 + float(xp.max(xp.abs(u)))):
            break
    return _polish(u, linear, H, pb) - w


def _polish(u, linear, H, pb):
    """Solve the QP exactly on the support of ``u`` with its signs fixed; keep the better.

    Once the proximal gradient iterations have identified the QP's support, this is the
    exact minimiser, which lets prox-Newton steps terminate finitely.
    """
    xp = pb.xp
    mask = xp.astype(u != 0, u.dtype)
    if float(xp.sum(mask)) == 0:
        return u
    eye = xp.eye(u.shape[0], dtype=u.dtype, device=pb.device)
    system = H * (mask[:, None] * mask[None, :]) + (1.0 - mask) * eye
    rhs = -(linear + pb.penalty.l1 * xp.sign(u)) * mask
    exact = _solve(system, rhs, xp)
    consistent = bool(xp.all(xp.sign(exact) * mask == xp.sign(u)))

    def qp(v):
        return float(xp.sum(linear * v) + 0.5 * xp.sum(v * (H @ v))
                     + pb.penalty.l1 * xp.sum(xp.abs(v)))

    return exact if consistent and qp(exact) <= qp(u) else u


def _solve(H, g, xp):
    try:
        return xp.linalg.solve(H, g[:, None])[:, 0]
    except Exception:  # singular block: pseudo-inverse
        return xp.linalg.pinv(H) @ g


def _armijo(pb, state, w_b, g_b, d, dZ):
    """Backtrack ``alpha`` from 1 (quadratic interpolation) until sufficient decrease."""
    xp = pb.xp
    pen = pb.penalty
    base = pb.smooth_value(state.Z, state.w) + pen.l1 * float(xp.sum(xp.abs(w_b)))
    delta = float(xp.sum(g_b * d)) + pen.l1 * float(
        xp.sum(xp.abs(w_b + d)) - xp.sum(xp.abs(w_b)))
    if delta >= 0:
        return xp.zeros_like(d), xp.zeros_like(dZ)
    alpha = 1.0
    for _ in range(50):
        step = alpha * d
        value = (pb.smooth_value(state.Z + alpha * dZ, state.w) + pb.ridge_change(w_b, step)
                 + pen.l1 * float(xp.sum(xp.abs(w_b + step))))
        if value <= base + 1e-10 * alpha * delta or value <= base and alpha < 1e-8:
            return step, alpha * dZ
        curvature = value - base - alpha * delta
        trial = -delta * alpha * alpha / (2.0 * curvature) if curvature > 0 else 0.5 * alpha
        alpha = min(max(trial, 0.1 * alpha), 0.5 * alpha)
    return xp.zeros_like(d), xp.zeros_like(dZ)
