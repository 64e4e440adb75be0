"""The block engine: one block per iteration, chosen by a selection rule and moved by an
update rule, written once in array code (NumPy + SciPy sparse, CuPy, torch, array_api_strict).

This engine reproduces the paper's experiments (iterations of single block updates) and is
the generic array-namespace path: greedy rules use the full gradient (one product with
``X'``), large-block updates are dense linear algebra on the block.
"""

from types import SimpleNamespace

import numpy as np

from .._array_api import device_of
from ._objective import checkpoint, refine_intercept, stopping_scale
from ._partitions import make_partition
from ._rules import GREEDY, Selector
from ._updates import block_update

__all__ = ["solve_blocks"]


class _BlockProblem:
    """Everything the rules and updates read: constants, partition, block matrices."""

    def __init__(self, design, y, a, datafit, penalty, *, block_size, partition, rng, xp):
        self.design, self.y, self.a = design, y, a
        self.datafit, self.penalty, self.xp, self.rng = datafit, penalty, xp, rng
        self.device = device_of(y)
        self.K = design.K
        self.p = design.shape[1]
        self.m = self.p * self.K
        self.block_size = min(block_size, self.m)
        dtype = y.dtype
        self.S = datafit.bound_matrix(self.K, xp, dtype, self.device)
        norms = design.col_sq_norms(a)
        norms = xp.asarray(norms, dtype=dtype, device=self.device)
        diag = xp.stack([self.S[k, k] for k in range(self.K)])
        self.lips = xp.reshape(norms[:, None] * diag[None, :], (-1,)) + penalty.l2
        self.lips = xp.where(self.lips > 0, self.lips, xp.ones_like(self.lips))
        self.lips_host = np.asarray(_host(self.lips), dtype=float)
        self.blocks = None
        if partition != "variable":
            self.blocks = make_partition(self.lips_host, self.block_size, partition)
        self.ls_lipschitz = {}
        self._lmax_cache = {}
        self._bounds = None
        self._cache = {}

    def to_xp(self, array):
        return self.xp.asarray(np.asarray(array, dtype=np.int64), device=self.device)

    # -- fixed partitions ---------------------------------------------------------------
    def blocks_xp(self):
        if "blocks" not in self._cache:
            index, mask = self.blocks
            self._cache["blocks"] = (self.to_xp(index), self.xp.asarray(
                mask.astype(float), dtype=self.y.dtype, device=self.device))
        return self._cache["blocks"]

    def block_coordinates(self, block):
        index, mask = self.blocks
        return self.to_xp(index[block][mask[block]])

    def block_bounds(self):
        """Bound matrices of every block, padding rows replaced by identity rows."""
        if self._bounds is None:
            xp = self.xp
            index, mask = self.blocks_xp()
            features = index // self.K
            classes = index % self.K
            grams = xp.asarray(self.design.block_grams(_host_if_sparse(features, self),
                                                       _host_if_sparse(self.a, self)),
                               dtype=self.y.dtype, device=self.device)
            pair = classes[:, :, None] * self.K + classes[:, None, :]
            Sflat = xp.reshape(self.S, (-1,))
            coupling = xp.reshape(xp.take(Sflat, xp.reshape(pair, (-1,))), pair.shape)
            size = index.shape[1]
            eye = xp.eye(size, dtype=self.y.dtype, device=self.device)
            valid = mask[:, :, None] * mask[:, None, :]
            H = grams * coupling * valid + self.penalty.l2 * eye * valid
            self._bounds = H + (1.0 - mask)[:, :, None] * eye
        return self._bounds

    def block_lipschitz(self):
        if "block_lipschitz" not in self._cache:
            self._cache["block_lipschitz"] = self.xp.linalg.eigvalsh(self.block_bounds())[:, -1]
        return self._cache["block_lipschitz"]

    def block_lipschitz_host(self):
        return np.asarray(_host(self.block_lipschitz()), dtype=float)

    def block_bound_inverses(self):
        if "inverses" not in self._cache:
            H = self.block_bounds()
            size = H.shape[1]
            eye = self.xp.eye(size, dtype=H.dtype, device=self.device)
            self._cache["inverses"] = self.xp.linalg.inv(H + 1e-10 * eye)
        return self._cache["inverses"]

    # -- coordinate scores and the full bound -------------------------------------------
    def gsq_coordinate_scores(self, grad, w):
        xp, L = self.xp, self.lips
        d = self.penalty.prox_l1(w - grad / L, 1.0 / L, xp) - w
        change = self.penalty.l1 * (xp.abs(w + d) - xp.abs(w))
        return -(grad * d + 0.5 * L * d * d + change)

    def bound_matvec(self, d):
        """``H d`` for the full curvature bound ``S (x) X'AX`` (+ ridge)."""
        xp = self.xp
        D = xp.reshape(d, (self.p, self.K))
        Z = self.design.matmul(D)
        out = self.design.rmatmul(xp.reshape(self.a, (-1, 1)) * Z) @ self.S
        return xp.reshape(out, (-1,)) + self.penalty.l2 * d

    def bound_lambda_max(self, n_steps=30):
        xp = self.xp
        v = xp.ones((self.m,), dtype=self.y.dtype, device=self.device)
        value = 1.0
        for _ in range(n_steps):
            u = self.bound_matvec(v)
            value = float(xp.linalg.vector_norm(u))
            if value == 0:
                return 1.0
            v = u / value
        return value

    # -- one block ----------------------------------------------------------------------
    def block_columns(self, idx):
        """Dense columns of the block's features and the class one-hot (s, K)."""
        xp = self.xp
        features = idx // self.K
        classes = idx % self.K
        Xb = self.design.feature_columns(features)
        if self.design.sparse:
            Xb = xp.asarray(Xb, dtype=self.y.dtype)
        onehot = xp.astype(classes[:, None] == xp.arange(self.K, device=self.device)[None, :],
                           self.y.dtype)
        return Xb, onehot

    def bound_block(self, Xb, idx):
        xp = self.xp
        classes = idx % self.K
        gram = Xb.T @ (xp.reshape(self.a, (-1, 1)) * Xb)
        Sb = xp.take(xp.take(self.S, classes, axis=0), classes, axis=1)
        eye = xp.eye(idx.shape[0], dtype=gram.dtype, device=self.device)
        return gram * Sb + self.penalty.l2 * eye

    def hessian_block(self, Xb, idx, Z):
        xp = self.xp
        classes = idx % self.K
        Hraw = self.datafit.raw_hessian(Z, self.y, self.a, xp)
        T = xp.take(xp.take(Hraw, classes, axis=1), classes, axis=2)
        H = xp.sum(Xb[:, :, None] * T * Xb[:, None, :], axis=0)
        eye = xp.eye(idx.shape[0], dtype=H.dtype, device=self.device)
        return H + self.penalty.l2 * eye

    def cached_lambda_max(self, block_id, H):
        if block_id is not None and block_id in self._lmax_cache:
            return self._lmax_cache[block_id]
        value = float(self.xp.linalg.eigvalsh(H)[-1]) if H.shape[0] > 1 else float(H[0, 0])
        value = value if value > 0 else 1.0
        if block_id is not None:
            self._lmax_cache[block_id] = value
        return value

    def delta_z(self, Xb, onehot, d):
        return Xb @ (d[:, None] * onehot)

    def smooth_value(self, Z, w):
        return float(self.datafit.value(Z, self.y, self.a, self.xp)) + 0.5 * self.penalty.l2 * \
            float(self.xp.sum(w * w))

    def ridge_change(self, w_b, d):
        return 0.5 * self.penalty.l2 * float(self.xp.sum((w_b + d) ** 2 - w_b * w_b))


def _host(x):
    from .._array_api import to_numpy

    return to_numpy(x)


def _host_if_sparse(x, pb):
    return np.asarray(_host(x)) if pb.design.sparse else x


def solve_blocks(design, y, a, datafit, penalty, w, b, *, xp, rule, partition, block_size,
                 update, tol, max_iter, rng, fit_intercept, recorder, bar):
    """Run ``max_iter`` block updates at most; return ``(w, b, n_iter, converged, crit,
    primal, threshold)``.

    ``w`` has shape (p * K,) (feature-major), ``b`` shape (K,). Convergence is tested after
    every iteration for greedy rules (they compute the full gradient anyway) and once per
    pass over the coordinates otherwise.
    """
    pb = _BlockProblem(design, y, a, datafit, penalty, block_size=block_size,
                       partition=partition, rng=rng, xp=xp)
    selector = Selector(rule, pb)
    K, p = pb.K, pb.p
    n = design.shape[0]
    state = SimpleNamespace(w=w, Z=None)
    state.Z = design.matmul(xp.reshape(w, (p, K))) + b
    threshold = tol * stopping_scale(datafit, y, a, K, fit_intercept, xp) \
        if penalty.has_dual else tol
    col_means = None
    if fit_intercept:
        col_means = xp.asarray(design.rmatmul(xp.reshape(a, (-1, 1)) if not design.sparse
                                              else np.asarray(a).reshape(-1, 1))[:, 0],
                               dtype=y.dtype, device=pb.device)
    greedy = rule in GREEDY
    n_blocks = -(-pb.m // pb.block_size)
    check_every = 1 if greedy else n_blocks
    converged = False
    crit = primal = float("inf")
    k = stalled = 0
    for k in range(max_iter + 1):
        checking = greedy or k % check_every == 0 or k == max_iter
        if checking and fit_intercept:
            state.Z, b = refine_intercept(datafit, state.Z, y, a, b, xp)
        G = datafit.raw_gradient(state.Z, y, a, xp)
        if checking:
            grad_f = xp.reshape(design.rmatmul(G), (-1,))
            W = xp.reshape(state.w, (p, K))
            primal, crit = checkpoint(datafit, penalty, W, state.Z, y, a,
                                      xp.reshape(grad_f, (p, K)), G, xp, col_means,
                                      iteration=k, recorder=recorder, bar=bar)
            if crit <= threshold:
                converged = True
                break
            if k == max_iter:
                break
            grad = grad_f + penalty.l2 * state.w
        idx, block_id = selector.select(k, grad if greedy else None, state.w)
        if greedy:
            g_b = xp.take(grad, idx)
        else:
            Xb, _ = pb.block_columns(idx)
            g_b = xp.reshape(Xb.T @ G, (-1, K))
            classes = idx % K
            onehot = xp.astype(classes[:, None] == xp.arange(K, device=pb.device)[None, :],
                               y.dtype)
            g_b = xp.sum(g_b * onehot, axis=1) + penalty.l2 * xp.take(state.w, idx)
        d, dZ = block_update(update, pb, state, idx, block_id, g_b)
        stalled = stalled + 1 if float(xp.max(xp.abs(d))) == 0.0 else 0
        scatter = xp.astype(xp.arange(pb.m, device=pb.device)[:, None] == idx[None, :], y.dtype)
        state.w = state.w + scatter @ d
        state.Z = state.Z + dZ
        if fit_intercept:
            G = datafit.raw_gradient(state.Z, y, a, xp)
            step = xp.sum(G, axis=0) / datafit.bound
            b = b - step
            state.Z = state.Z - step
            if float(xp.max(xp.abs(step))) > 1e-15 * (1.0 + float(xp.max(xp.abs(b)))):
                stalled = 0
        if stalled > max(n_blocks, 50):  # nothing moves any more: round-off floor reached
            break
        bar.update(1)
    return state.w, b, k, converged, crit, primal, threshold
