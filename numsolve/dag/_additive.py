"""The additive-noise score: each node a sum of smooth functions of its parents plus Gaussian noise.

The model (CAM, Buehlmann, Peters and Ernest 2014) is ``X_j = c_j + sum_{p in pa(j)} f_pj(X_p)
+ e_j`` with ``e_j ~ N(0, s_j^2)``, one noise variance per node. Each ``f_pj`` is a cubic spline
with knots at quantiles of ``X_p`` (a block of basis columns, the constant left to the intercept),
fitted by least squares jointly over the parents. The score is minus the maximised
log-likelihood, ``sum_j (n / 2) log(RSS_j / n)``, plus a cost per parent block: the larger of
BIC's ``(log n) / 2`` per basis column and ``-(n / 2) log(1 - min_explained)``, the likelihood
gain of a parent that removes the share ``min_explained`` of its child's residual variance. The
second term is an effect-size floor: with thousands of samples pooled from several conditions
(flow cytometry) BIC keeps every weak but detectable dependence, whereas on a thousand samples
it is BIC that decides.

Quantile knots move with any affine map of a column, and ``log RSS_j`` only shifts when column
``j`` is rescaled, so the graph does not depend on the units. Unlike the linear-Gaussian score
the model can tell directions apart when the functions are nonlinear. A linear function is one
of the splines, so linear SEMs are inside the model too, at the price of more columns per edge.

Every regression is a block of the Gram matrix of the standardised columns and of all the
spline columns, formed once: an order's score then costs no pass over the samples.
"""

import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from numsolve._progress import progress
from numsolve.dag._additive_gram import conditional_rss
from numsolve.dag._checks import check_data_and_graph
from numsolve.dag._gaussian import EBIC, gaussian_search, search_result
from numsolve.dag._splines import SplineBasis

__all__ = ["additive_score", "additive_search", "additive_result", "check_min_explained", "AdditiveSEM",
           "BlockGram", "spline_blocks", "N_KNOTS", "MIN_EXPLAINED"]

# knots per column (quantiles 0, 1/3, 2/3, 1): cubic splines with 5 free columns per parent
N_KNOTS = 4
# the effect-size floor (module docstring): a parent must remove this share of residual variance
MIN_EXPLAINED = 0.1
# residual variances are kept above this fraction of the node's variance (log(0) would end the
# search; a node its parents determine is as good as any other exact fit)
RSS_FLOOR = 1e-12
# directions of a (whitened) block whose residual variance given the chosen blocks is below
# this are combinations of them and contribute nothing
_RCOND = 1e-10
# singular values below this fraction of a block's largest are rounding: the spline columns of a
# column with few distinct values are linearly dependent
_RANK_TOL = 1e-8


def spline_features(X, n_knots=N_KNOTS):
    """The spline bases of the columns of ``X``, one per column.

    Knots at ``n_knots`` quantiles (repeated values merged, so a column with few distinct values
    gets fewer columns).
    """
    bases = []
    for j in range(X.shape[1]):
        basis = SplineBasis.at_quantiles(X[:, j], n_knots)
        if basis is None:
            raise ValueError(f"column {j} of X is constant: its likelihood is unbounded; drop it "
                             "before learning the graph")
        bases.append(basis)
    return bases


def _explained(S, g, base):
    """``g' S^+ g`` for a stack of residual Gram matrices ``S`` (symmetric positive
    semi-definite) and covariances ``g``: the variance each block removes from ``base``.

    A plain solve first; where it fails or leaves ``[0, base]`` (a block nearly a combination of
    the chosen ones), the pseudo-inverse, whose directions below ``_RCOND`` contribute nothing.
    """
    try:
        drop = np.einsum("ck,ck->c", g, np.linalg.solve(S, g[..., None])[..., 0])
    except np.linalg.LinAlgError:
        drop = np.full(len(S), np.nan)
    bad = ~((drop >= 0) & (drop <= base))
    if bad.any():
        w, V = np.linalg.eigh(S[bad])
        inverse = np.where(w > _RCOND, 1 / np.where(w > _RCOND, w, 1), 0.0)
        projected = np.einsum("cji,cj->ci", V, g[bad])
        drop[bad] = np.einsum("ci,ci->c", projected * inverse, projected)
    return drop


def _block(basis, column):
    return basis.transform(column)


def _whitened(block):
    """An orthonormal basis (``Z' Z / n = I``) of the centred block's span: a column with few
    distinct values spans fewer dimensions than it has spline columns."""
    U, singular, _ = np.linalg.svd(block - block.mean(axis=0), full_matrices=False)
    rank = int(np.sum(singular > _RANK_TOL * singular[0]))
    return U[:, :rank] * np.sqrt(block.shape[0])


def spline_blocks(X, n_knots=N_KNOTS):
    """The spline bases of the columns of ``X`` and each column's whitened block (centred, an
    orthonormal basis of its span scaled to ``Z' Z / n = I``)."""
    bases = spline_features(X, n_knots)
    return bases, [_whitened(_block(basis, X[:, j])) for j, basis in enumerate(bases)]


def block_cost(n, n_columns, min_explained):
    """Score added by a parent block of ``n_columns`` columns (module docstring)."""
    return max(n_columns * np.log(n) / 2, -n / 2 * np.log1p(-min_explained))


class BlockGram:
    """Gram matrix of the standardised columns (first ``d`` rows) and every parent's spline block;
    the residual variances of standardised nodes given parent blocks."""

    def __init__(self, X, n_knots, min_explained):
        n, d = X.shape
        self.transformers, blocks = spline_blocks(X, n_knots)
        sizes = np.array([b.shape[1] for b in blocks])
        starts = d + np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.columns = [np.arange(s, s + k) for s, k in zip(starts, sizes)]
        self.first, self.sizes = starts.astype(np.intp), sizes.astype(np.intp)
        Z = np.hstack([X] + blocks)
        Z -= Z.mean(axis=0)
        G = Z.T @ Z / n
        scale = np.sqrt(np.diag(G)[:d])
        G[:d, :] /= scale[:, None]
        G[:, :d] /= scale[None, :]
        self.G, self.n, self.d, self.half_n = G, n, d, n / 2
        self.variances = scale ** 2
        self.costs = np.array([block_cost(n, k, min_explained) for k in sizes])

    def indices(self, parents):
        return (np.concatenate([self.columns[p] for p in parents]) if len(parents)
                else np.zeros(0, dtype=np.int64))

    def rss(self, v, parents):
        """Residual variance of standardised node ``v`` given the blocks of ``parents``."""
        if not len(parents):
            return 1.0
        parents = list(parents)
        return self._conditional(v, parents[:-1], parents[-1:], [len(parents) - 1])[0, 0]

    def _pseudo_inverse_rss(self, v, parents):
        """:meth:`rss` by the pseudo-inverse, for blocks (numerically) dependent."""
        I = self.indices(parents)
        if I.size == 0:
            return 1.0
        b = self.G[I, v]
        return max(1.0 - _explained(self.G[np.ix_(I, I)][None], b[None], 1.0)[0], RSS_FLOOR)

    def _conditional(self, v, path, candidates, prefixes):
        """Residual variances of ``v`` given each candidate's block with the blocks of
        ``path[:t]``, ``t`` in ``prefixes``: shape (len(candidates), len(prefixes)), compiled;
        the pseudo-inverse where a regression is (numerically) degenerate."""
        out = conditional_rss(self.G, self.first, self.sizes, v, np.asarray(path, dtype=np.intp),
                              np.asarray(prefixes, dtype=np.intp),
                              np.asarray(candidates, dtype=np.intp), RSS_FLOOR)
        if out is None:
            out = np.full((len(candidates), len(prefixes)), np.nan)
        for q, t in zip(*np.nonzero(np.isnan(out))):
            out[q, t] = self._pseudo_inverse_rss(v, list(path[:prefixes[t]]) + [candidates[q]])
        return out

    def rss_after_adding(self, v, parents, candidates):
        """Residual variance of ``v`` given ``parents`` plus each candidate's block in turn."""
        return self._conditional(v, parents, candidates, [len(parents)])[:, 0]

    def rss_along(self, v, path, x):
        """Residual variance of ``v`` given ``x``'s block and each prefix ``path[:t]``,
        ``t = 0 .. len(path)``, from one factorisation of the whole path."""
        return self._conditional(v, path, [x], np.arange(len(path) + 1))[0]

    def node_score(self, v, parents, rss=None):
        rss = self.rss(v, parents) if rss is None else rss
        return self.half_n * np.log(rss) + self.costs[list(parents)].sum()


class _Choice(NamedTuple):
    """A node's selection: its score and parents, and the forward path that led there: the
    blocks in the order added, the cost paid for the first ``t`` of them, and the score a block
    added after ``t`` of them had to beat (the next step's score, at the end the final score
    less the tolerance)."""

    score: float
    parents: tuple
    path: tuple
    paid: np.ndarray
    bounds: np.ndarray


class _Selection:
    """Each node's parents among the nodes allowed before it: forward selection of the block that
    lowers the node's score most, then backward elimination, memoised by candidate set.

    One candidate more or less changes the selection only if it changes the forward path
    (backward elimination starts from the path's end): a removed candidate off the path never
    does, an added one only if at some step it would have been chosen, which ``k + 1``
    single-block regressions tell for a path of ``k`` steps, against a whole selection anew.
    """

    def __init__(self, gram, tol):
        self.gram, self.tol, self.memo = gram, tol, {}

    def get(self, v, candidates):
        """The choice of ``v`` among the frozenset ``candidates``."""
        key = (v, candidates)
        if key not in self.memo:
            self.memo[key] = self._select(v, sorted(candidates))
        return self.memo[key]

    def changed(self, v, candidates, x, add):
        """The choice of ``v`` among ``candidates`` with ``x`` added (``add``) or removed."""
        target = candidates | {x} if add else candidates - {x}
        key = (v, target)
        if key not in self.memo:
            known = self.memo.get((v, candidates))
            if known is not None and (x not in known.path if not add else self._never_chosen(v, known, x)):
                self.memo[key] = known
            else:
                self.memo[key] = self._select(v, sorted(target))
        return self.memo[key]

    def _never_chosen(self, v, known, x):
        gram = self.gram
        values = gram.half_n * np.log(gram.rss_along(v, known.path, x)) + gram.costs[x] + known.paid
        # at each step the chosen block did better; at the end x does not lower the score
        return bool((values > known.bounds).all())

    def _select(self, v, rest):
        gram, half_n = self.gram, self.gram.half_n
        parents, current, values = [], 0.0, []
        while rest:
            rss = gram.rss_after_adding(v, parents, rest)
            step = half_n * np.log(rss) + gram.costs[rest] + gram.costs[parents].sum()
            best = int(np.argmin(step))
            if step[best] >= current - self.tol:
                break
            current = float(step[best])
            parents.append(rest.pop(best))
            values.append(current)
        path = tuple(parents)
        while parents:
            step = [gram.node_score(v, parents[:t] + parents[t + 1:]) for t in range(len(parents))]
            best = int(np.argmin(step))
            if step[best] >= current - self.tol:
                break
            current = float(step[best])
            parents.pop(best)
        paid = np.concatenate([[0.0], np.cumsum(gram.costs[list(path)])])
        bounds = np.array(values + [(values[-1] if values else 0.0) - self.tol])
        return _Choice(current, tuple(sorted(parents)), path, paid, bounds)


def _best_insertion(select, order, v_pos):
    """The position of ``order[v_pos]`` that scores best and the score change it brings."""
    v = order[v_pos]
    rest = order[:v_pos] + order[v_pos + 1:]
    without, with_v = np.empty(len(rest)), np.empty(len(rest))
    prefix = frozenset()
    for i, u in enumerate(rest):
        # u's candidates now: the prefix, with v when v stands before u
        if i < v_pos:
            without[i] = select.get(u, prefix).score
            with_v[i] = select.changed(u, prefix, v, add=True).score
        else:
            with_v[i] = select.get(u, prefix | {v}).score
            without[i] = select.changed(u, prefix | {v}, v, add=False).score
        prefix = prefix | {u}
    own = np.empty(len(order))
    own[0] = select.get(v, frozenset()).score
    for q, u in enumerate(rest):
        own[q + 1] = select.changed(v, frozenset(rest[:q]), u, add=True).score
    # v at position q: the nodes before it keep their sets, the ones after gain v
    before = np.concatenate([[0.0], np.cumsum(without)])
    after = np.concatenate([np.cumsum(with_v[::-1])[::-1], [0.0]])
    totals = own + before + after
    return int(np.argmin(totals)), float(totals.min() - totals[v_pos])


def _order_score(select, order):
    return sum(select.get(v, frozenset(order[:i])).score for i, v in enumerate(order))


def _insertion_search(select, order, max_iter, tol, verbose, shift):
    """Passes moving every node to its best position until a pass no longer lowers the score;
    the progress bar shows the score plus ``shift`` (in the units of the data)."""
    order = list(order)
    trace = [_order_score(select, order)]
    converged = len(order) < 2
    with progress(max_iter, verbose, desc="topo_swaps additive", unit="pass") as bar:
        while not converged and len(trace) <= max_iter:
            for v in list(order):
                v_pos = order.index(v)
                q, change = _best_insertion(select, order, v_pos)
                if change < -tol:
                    order.insert(q, order.pop(v_pos))
            trace.append(_order_score(select, order))
            converged = trace[-1] > trace[-2] - tol
            bar.update(1)
            bar.set_postfix(score=f"{trace[-1] + shift:.6g}")
    return order, trace, converged


def _greedy_order(gram, tol):
    """CAM's start: add the edge that lowers the score most while the graph stays acyclic, until
    none does; a topological order of the result."""
    d, half_n = gram.d, gram.half_n
    parents = [[] for _ in range(d)]
    current = np.zeros(d)
    reach = np.eye(d, dtype=bool)  # reach[i, j]: a path from i to j
    gains = np.full((d, d), -np.inf)

    def refresh(j):
        gains[:, j] = -np.inf
        free = [i for i in range(d) if not reach[j, i] and i not in parents[j]]
        if free:
            rss = gram.rss_after_adding(j, parents[j], free)
            gains[free, j] = current[j] - (half_n * np.log(rss) + gram.costs[free]
                                           + gram.costs[parents[j]].sum())

    for j in range(d):
        refresh(j)
    while True:
        i, j = np.unravel_index(int(np.argmax(gains)), gains.shape)
        if gains[i, j] <= tol:
            break
        current[j] -= gains[i, j]
        parents[j].append(int(i))
        reach |= np.outer(reach[:, i], reach[j, :])
        # an edge a -> u closes a cycle once u reaches a; the other gains stay valid (only j's
        # parents changed)
        gains[reach.T] = -np.inf
        refresh(j)
    depth = reach.sum(axis=0)  # ancestors (and itself): a topological key
    return [int(v) for v in np.argsort(depth, kind="stable")]


@dataclass
class AdditiveSEM:
    """A fitted additive-noise SEM: per node its parents, spline coefficients, intercept and noise
    variance; ``transformers`` give every column's spline block."""

    transformers: list
    parents: list
    coefficients: list
    intercept: np.ndarray
    noise_variance: np.ndarray

    @classmethod
    def fit(cls, X, parents, transformers):
        n, d = X.shape
        coefficients, intercept, variance = [], np.zeros(d), np.zeros(d)
        blocks = cls._blocks(X, parents, transformers)
        for v in range(d):
            Z = cls._design(blocks, parents[v], n)
            coef = np.linalg.lstsq(np.c_[np.ones(n), Z], X[:, v], rcond=None)[0]
            coefficients.append(coef[1:])
            intercept[v] = coef[0]
            residual = X[:, v] - coef[0] - Z @ coef[1:]
            variance[v] = max(residual @ residual / n, RSS_FLOOR * X[:, v].var())
        return cls(transformers, parents, coefficients, intercept, variance)

    @staticmethod
    def _blocks(X, parents, transformers):
        """Each parent's spline block, once however many children it has."""
        used = {p for ps in parents for p in ps}
        return {p: _block(transformers[p], X[:, p]) for p in used}

    @staticmethod
    def _design(blocks, parents, n):
        return np.hstack([blocks[p] for p in parents]) if len(parents) else np.zeros((n, 0))

    def residuals(self, X):
        R = np.empty_like(X, dtype=np.float64)
        blocks = self._blocks(X, self.parents, self.transformers)
        for v, parents in enumerate(self.parents):
            Z = self._design(blocks, parents, X.shape[0])
            R[:, v] = X[:, v] - self.intercept[v] - Z @ self.coefficients[v]
        return R

    def log_likelihood(self, X):
        """Log-density of each row: the product of the nodes' Gaussian conditionals."""
        R = self.residuals(X)
        return -0.5 * np.sum(np.log(2 * np.pi * self.noise_variance) + R * R / self.noise_variance,
                             axis=1)


def _support_parents(W):
    return [tuple(int(p) for p in np.flatnonzero(W[:, v])) for v in range(W.shape[0])]


def additive_score(X, W, *, n_knots=N_KNOTS, min_explained=MIN_EXPLAINED):
    """Additive-noise score of the graph with support ``W``: ``sum_j (n/2) log(RSS_j / n)`` plus
    the cost of each parent block.

    ``RSS_j`` is the residual sum of squares of column ``j`` regressed by least squares on an
    intercept and the spline blocks of its parents (the nonzero entries of ``W[:, j]``; the
    weights themselves are not used). Lower is better; rescaling a column shifts the score by a
    constant for every graph.

    Parameters
    ----------
    X : array of shape (n_samples, d)
    W : array of shape (d, d)
        ``W[i, j] != 0`` for the edge ``i -> j``.
    n_knots : int, default=4
        Knots per column (at its quantiles); each parent brings ``n_knots + 1`` columns.
    min_explained : float in [0, 1), default=0.1
        Effect-size floor: a parent block costs at least ``-(n/2) log(1 - min_explained)``, the
        likelihood gain of removing that share of the child's residual variance (0: BIC alone).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import additive_score
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-2, 2, 500)
    >>> X = np.c_[x, x ** 2 + 0.3 * rng.normal(size=500)]
    >>> edge = np.array([[0, 1], [0, 0]])
    >>> bool(additive_score(X, edge) < additive_score(X, np.zeros((2, 2))))
    True
    """
    if isinstance(n_knots, bool) or not isinstance(n_knots, numbers.Integral) or n_knots < 2:
        raise ValueError(f"n_knots must be an integer >= 2, got {n_knots!r}")
    check_min_explained(min_explained)
    X, W = check_data_and_graph(X, W)
    X = X.astype(np.float64)
    n, d = X.shape
    transformers = spline_features(X, n_knots)
    parents = _support_parents(W)
    R = AdditiveSEM.fit(X, parents, transformers).residuals(X)
    # the search's floor: a node its parents determine is as good as any other exact fit
    rss = np.maximum(np.einsum("ij,ij->j", R, R), RSS_FLOOR * n * X.var(axis=0))
    sizes = [_whitened(_block(t, X[:, j])).shape[1] for j, t in enumerate(transformers)]
    cost = sum(block_cost(n, sizes[p], min_explained) for ps in parents for p in ps)
    return float(n / 2 * np.sum(np.log(rss / n)) + cost)


def check_min_explained(min_explained):
    """``min_explained`` must be a real number in [0, 1)."""
    if (isinstance(min_explained, bool) or not isinstance(min_explained, numbers.Real)
            or not 0 <= min_explained < 1):
        raise ValueError(f"min_explained must be a number in [0, 1), got {min_explained!r}")


def additive_search(X, orders, *, n_knots=N_KNOTS, min_explained=MIN_EXPLAINED, max_iter=100,
                    verbose=0):
    """Order search on the additive-noise score; the lowest score wins.

    Each order of ``orders`` first goes through the linear-Gaussian search (extended BIC,
    compiled, cheap); its result and CAM's greedy order (edges added by score while acyclic)
    start the additive searches.

    Parameters
    ----------
    X : ndarray of shape (n_samples, d), float64, validated (at least two samples)
    orders : list of int arrays
    n_knots, min_explained : see :func:`additive_score`
    max_iter : int, default=100
        Passes over the nodes per search.
    verbose : int, default=0

    Returns
    -------
    dict
        ``W`` (1.0 on the selected edges), ``order``, ``score`` (in the units of
        :func:`additive_score`), ``n_iter``, ``converged``, ``trace`` and ``model`` (the fitted
        :class:`AdditiveSEM`).
    """
    n, d = X.shape
    gram = BlockGram(X, n_knots, min_explained)
    tol = 1e-9 * n * d
    select = _Selection(gram, tol)
    # back to the units of X: the search's variances are those of standardised columns
    shift = n / 2 * np.sum(np.log(gram.variances))
    starts = [gaussian_search(X, [order], edge_penalty=EBIC)["order"] for order in orders]
    starts.append(_greedy_order(gram, tol))
    best = None
    for start in starts:
        order, trace, converged = _insertion_search(select, [int(v) for v in start], max_iter, tol,
                                                    verbose, shift)
        if best is None or trace[-1] < best[1][-1] - tol:
            best = (order, trace, converged)
    order, trace, converged = best
    parents = [()] * d
    for i, v in enumerate(order):
        parents[v] = select.get(v, frozenset(order[:i])).parents
    W = np.zeros((d, d))
    for v, ps in enumerate(parents):
        W[list(ps), v] = 1.0
    return {"W": W, "order": np.array(order, dtype=np.int64), "score": float(trace[-1] + shift),
            "n_iter": len(trace) - 1, "converged": bool(converged),
            "trace": np.asarray(trace) + shift,
            "model": AdditiveSEM.fit(X, parents, gram.transformers)}


def additive_result(X, dtype, starts, min_explained, max_iter, verbose):
    """``topo_swaps`` for ``score='additive'``: ``x`` is 1 on the edges, extras ``order``,
    ``score``, ``cpdag`` (the DAG's support) and ``model`` (the fitted :class:`AdditiveSEM`)."""
    run = additive_search(X, starts, min_explained=min_explained, max_iter=max_iter, verbose=verbose)
    return search_result(run, dtype, max_iter, {"order": run["order"], "score": run["score"],
                                                "cpdag": (run["W"] != 0).astype(int),
                                                "model": run["model"]})
