"""Block selection rules: cyclic, random, Lipschitz sampling and the greedy GS family.

Greedy rules score coordinates from the full gradient ``g`` (of the smooth part, ridge term
included) and pick, for a fixed partition, the block with the best total score, or, for
variable blocks, the ``block_size`` best coordinates:

* ``gs``: ``||g_b||^2``;  ``gsl``: ``||g_b||^2 / L_b`` (variable blocks: ``g_i^2 / L_i``);
* ``gsd``: ``sum_i g_i^2 / D_i`` with ``D`` the absolute row sums of the block bound;
* ``gsq``: ``g_b' H_b^{-1} g_b`` (variable blocks: iterative hard thresholding);
* ``gs-q``: the decrease promised by the proximal coordinate model (for L1 / bounds).

With an L1 part or a sign constraint, ``gs``, ``gsl``, ``gsd`` and ``gsq`` score the
minimum-norm subgradient instead of ``g`` (the "GS-s" variant), so that coordinates pinned at
zero by the penalty are not chosen.
"""

import numpy as np

__all__ = ["GREEDY", "RULES", "Selector"]

RULES = ("cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq", "gs-q")
GREEDY = frozenset(("gs", "gsl", "gsd", "gsq", "gs-q"))
_IHT_STEPS = 10


class Selector:
    """Choose the next block.

    Parameters
    ----------
    rule : str
        One of :data:`RULES`.
    problem : _BlockProblem
        Gives the coordinate constants, partition, block matrices, namespace and RNG.
    """

    def __init__(self, rule, problem):
        self.rule = rule
        self.problem = problem
        self.permutation = None
        self._lmax = None

    def select(self, k, grad, w):
        """Return ``(coordinates, block_id)``; ``block_id`` is None for variable blocks."""
        pb = self.problem
        if grad is not None and self.rule != "gs-q" and not pb.penalty.smooth:
            grad = pb.penalty.min_norm_subgradient(w, grad, pb.xp)
        if pb.blocks is None:
            return self._variable(k, grad, w), None
        n_blocks = pb.blocks[0].shape[0]
        if self.rule == "cyclic":
            block = k % n_blocks
        elif self.rule == "random":
            block = int(pb.rng.randint(n_blocks))
        elif self.rule == "lipschitz":
            weights = pb.block_lipschitz_host()
            block = int(pb.rng.choice(n_blocks, p=weights / weights.sum()))
        else:
            block = int(pb.xp.argmax(self._block_scores(grad, w)))
        return pb.block_coordinates(block), block

    def _block_scores(self, grad, w):
        pb = self.problem
        xp = pb.xp
        index, mask = pb.blocks_xp()
        gb = xp.take(grad, xp.reshape(index, (-1,)))
        gb = xp.reshape(gb, index.shape) * mask
        if self.rule == "gs":
            return xp.sum(gb * gb, axis=1)
        if self.rule == "gsl":
            return xp.sum(gb * gb, axis=1) / pb.block_lipschitz()
        if self.rule == "gsd":
            D = xp.sum(xp.abs(pb.block_bounds()), axis=2)
            return xp.sum(gb * gb / D, axis=1)
        if self.rule == "gsq":
            Hinv = pb.block_bound_inverses()
            return xp.sum(gb[:, :, None] * Hinv * gb[:, None, :], axis=(1, 2))
        scores = pb.gsq_coordinate_scores(grad, w)
        return xp.sum(xp.reshape(xp.take(scores, xp.reshape(index, (-1,))), index.shape) * mask,
                      axis=1)

    def _variable(self, k, grad, w):
        pb = self.problem
        xp, m, tau = pb.xp, pb.m, pb.block_size
        if self.rule == "cyclic":
            chunks = -(-m // tau)
            if k % chunks == 0 or self.permutation is None:
                self.permutation = pb.rng.permutation(m)
            start = (k % chunks) * tau
            return pb.to_xp(np.sort(self.permutation[start:start + tau]))
        if self.rule == "random":
            return pb.to_xp(np.sort(pb.rng.choice(m, tau, replace=False)))
        if self.rule == "lipschitz":
            L = pb.lips_host
            p = L / L.sum() if L.sum() > 0 else None
            return pb.to_xp(np.sort(pb.rng.choice(m, tau, replace=False, p=p)))
        if self.rule == "gs":
            scores = grad * grad
        elif self.rule in ("gsl", "gsd"):
            scores = grad * grad / pb.lips
        elif self.rule == "gs-q":
            scores = pb.gsq_coordinate_scores(grad, w)
        else:
            return self._iht(grad)
        return xp.sort(xp.argsort(-scores, stable=True)[:tau])

    def _iht(self, grad):
        """Support of an IHT approximation of ``argmin_{|d|_0 <= tau} g'd + d'Hd/2``.

        Starts from the GSL choice (``d = -g/L`` on the ``tau`` best ``g_i^2/L_i``) and keeps
        the IHT result only if its model value is lower.
        """
        pb = self.problem
        xp, tau = pb.xp, pb.block_size
        if self._lmax is None:
            self._lmax = pb.bound_lambda_max()
        mu = 1.0 / self._lmax

        def model(d):
            # model value at the best multiple of d: -(g'd)^2 / (2 d'Hd)
            curvature = float(xp.sum(d * pb.bound_matvec(d)))
            slope = float(xp.sum(grad * d))
            return -slope * slope / (2 * curvature) if curvature > 0 else 0.0

        start = _keep_top_by(-grad / pb.lips, grad * grad / pb.lips, tau, xp)
        d = start
        for _ in range(_IHT_STEPS):
            previous = d
            d = _keep_top_by(d - mu * (grad + pb.bound_matvec(d)), None, tau, xp)
            if float(xp.max(xp.abs(d - previous))) < 1e-10:
                break
        best = d if model(d) < model(start) else start
        return xp.sort(xp.argsort(-xp.abs(best), stable=True)[:tau])


def _keep_top_by(d, scores, tau, xp):
    """Zero all but the ``tau`` entries of ``d`` with the largest ``scores`` (default |d|)."""
    scores = xp.abs(d) if scores is None else scores
    order = xp.argsort(-scores, stable=True)[:tau]
    keep = xp.any(xp.arange(d.shape[0], device=_device(d))[:, None] == order[None, :], axis=1)
    return xp.where(keep, d, xp.zeros_like(d))


def _device(x):
    from array_api_compat import device

    return device(x)
