"""TOPO: local search over topological orders by candidate swaps (Deng et al., ICML 2023)."""

import numbers
import warnings

import numpy as np
from scipy.linalg import solve_triangular
from scipy.linalg.lapack import dtrtri
from scipy.optimize import minimize
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from numsolve._progress import progress
from numsolve._result import HistoryRecorder, SolveResult
from numsolve._validation import check_matrix
from numsolve.dag._acyclicity import path_weights
from numsolve.dag._additive import MIN_EXPLAINED, additive_result, check_min_explained
from numsolve.dag._intervals import heaviest_disjoint
from numsolve.dag._gaussian import check_edge_penalty, gaussian_result, gaussian_search
from numsolve.dag._metrics import is_dag
from numsolve.dag._model_choice import AUTO, auto_result
from numsolve.dag._greedy_order import least_variance_order
from numsolve.dag._lasso_gram import lasso_gram
from numsolve.dag._prune import check_prune, check_threshold, prune_gram, select_parents
from numsolve.dag._order_scan import order_factor, scanned_changes, swap_factor
from numsolve.dag._path_update import order_paths, swap_paths

__all__ = ["topo_swaps", "refine", "order_from_W", "SCORES"]

SCORES = ("bic", "l2", "logistic", "additive", "auto")
# the equal-variance score warns when column standard deviations differ by more than this
# factor (equal-variance simulations themselves reach a few hundred along long paths)
_SCALE_RATIO_WARNING = 1000.0
# rounds of swaps grow with d (ER2, n = 2000, from the greedy start: 346 at d = 400, 715 at
# d = 1000; from increasing variance 241 and 1502); max_iter=None allows this many per
# variable, and at least 500
_ROUNDS_PER_VARIABLE = 3
_MIN_DEFAULT_ROUNDS = 500
# the l2 factor is updated in place after a round's swaps unless the windows' update cost
# (about sum m^2 (d - a) for a window of m positions from a) exceeds a fresh factorisation's
# d^3 / 3; and it is factored afresh every so many rounds, so that rounding cannot accumulate
_UPDATE_COST_LIMIT = 3
_REFACTOR_EVERY = 64
# the coefficients are updated likewise unless the windows' triangular solves (about sum b^2 m
# for a window of m positions ending at b) exceed d^3 / this: solves against a few right-hand
# sides run several times slower per flop than the blocked inverse that recomputes them
_COEFFICIENT_UPDATE_LIMIT = 15
# the log-det path weights likewise, unless the windows' block updates (about
# m (a^2 + 2 a (d - b) + 2 m d) flops each, matrix products) exceed d^3 / 3 times this
_PATH_UPDATE_LIMIT = 1
# a scan is sent to the Dask workers only when it costs more than this many flops: below,
# shipping the factor costs more than scanning here
_DASK_MIN_FLOPS = 1e8
# the candidates beyond the small set are scored in chunks, each this many times the ranks
# before it: a round stops at the first chunk with an improving swap
_CHUNK_GROWTH = 8
# the Gram matrix is accumulated over blocks of samples of about this many entries
_GRAM_BLOCK_ENTRIES = 1 << 22


def _candidate_sizes(d):
    base = np.sqrt(d) * (d - 1) * np.log10(max(d, 2))
    small = int(min(1.5 * d, base, d * (d - 1) / 2))
    large = int(max(1.5 * d, min(base, d * (d - 1) / 2)))
    return max(small, 1), max(large, 1)


class _LeastSquares:
    """Exact least squares on the Gram matrix: the Cholesky factor of the permuted Gram matrix.

    A scan scores candidate swaps from the factor, each first position as far as its farthest
    candidate, on ``n_threads`` threads (or split over ``client``'s Dask workers). After a
    round's swaps only the factor's rows from the first swapped position on change: the
    windows are refactored and the rows below them updated, instead of a fresh factorisation.
    """

    def __init__(self, G, n_threads=1, client=None):
        self.G = G
        self.n_threads = n_threads
        self.client = client
        d = G.shape[0]
        self.jitter = 1e-12 * max(np.trace(self.G) / max(d, 1), 1e-300)

    def setup(self, order):
        Gp = self.G[np.ix_(order, order)]
        Gp.flat[::len(order) + 1] += self.jitter
        self.order = order.copy()
        self.diag, self.C = order_factor(Gp)
        self.B = None
        self.P = None
        self.updates = 0
        return 0.5 * float(self.diag.sum())

    def swap(self, order, swaps):
        """The loss of ``order``, reached from the current order by the disjoint ``swaps``."""
        d = len(order)
        cost = sum((b - a + 1) ** 2 * (d - a) for a, b in swaps)
        if self.updates >= _REFACTOR_EVERY or _UPDATE_COST_LIMIT * cost > d ** 3:
            return self.setup(order)
        for a, b in swaps:
            if not swap_factor(self.C, self.diag, a, b):
                return self.setup(order)
        # the windows' regressions cost about sum b^2 m in triangular solves against the factor
        solves = sum((b + 1) ** 2 * (b - a + 1) for a, b in swaps)
        if self.B is not None and _COEFFICIENT_UPDATE_LIMIT * solves > d ** 3:
            self.B = None
        if self.B is None:
            self.P = None
        elif self.P is not None and _PATH_UPDATE_LIMIT * 3 * _path_update_flops(swaps, d) > d ** 3:
            self.P = None
        if self.B is not None:
            self._update_coefficients(swaps)
        self.order = order.copy()
        self.updates += 1
        return 0.5 * float(self.diag.sum())

    def _update_coefficients(self, swaps):
        """After swaps of positions ``a < b``: a later position keeps its regression with the
        coefficients of ``a`` and ``b`` exchanged; positions ``a .. b`` are regressed afresh
        from the factor, ``O(b^2 (b - a))`` each window instead of a full inverse, and the path
        weights (when kept) follow the window's new regressions. The windows go left to right,
        each from the order the windows before it left."""
        B = self.B
        for a, b in sorted(swaps):
            old = B[:b + 1, a:b + 1] ** 2 if self.P is not None else None
            B[[a, b], b + 1:] = B[[b, a], b + 1:]
            # column j of L^{-T} (L = C / diag(C)) solves C^T y = C[j, j] e_j
            rhs = np.zeros((b + 1, b - a + 1))
            rhs[np.arange(a, b + 1), np.arange(b - a + 1)] = np.diag(self.C)[a:b + 1]
            columns = solve_triangular(self.C[:b + 1, :b + 1], rhs, trans="T", lower=True,
                                       check_finite=False)
            B[:b + 1, a:b + 1] = -columns
            B[np.arange(a, b + 1), np.arange(a, b + 1)] = 0.0
            if old is not None:
                swap_paths(self.P, old, B[:b + 1, a:b + 1] ** 2, a, b)

    def improving(self, order, pa, pb, tol):
        """Every swap scanned to value the pairs ``(pa, pb)`` that lowers the loss by more than
        ``tol``: first positions, second positions and changes (see :func:`scanned_changes`)."""
        if self.client is not None and _scan_flops(pa, pb) > _DASK_MIN_FLOPS:
            first, second, change = _scanned_changes_on_dask(self.client, self.C, self.diag, pa, pb,
                                                             -2.0 * tol)
        else:
            first, second, change = scanned_changes(self.C, self.diag, pa, pb, -2.0 * tol,
                                                    self.n_threads)
        return first, second, 0.5 * change

    def coefficients(self, order):
        """``B[a, b]``: the coefficient of position ``a`` in the regression of position ``b``
        (kept up to date by :meth:`swap`; do not modify)."""
        if not np.array_equal(order, getattr(self, "order", None)):
            self.setup(order)
        if self.B is None:
            # B = I - L^{-T}, L = C / diag(C): LAPACK inverts the unit triangle L^T, read as the
            # column-major upper triangle of the row-major L (strict part only), without a copy
            inverse_t, _ = dtrtri((self.C / np.diag(self.C)).T, lower=0, unitdiag=1, overwrite_c=1)
            self.B = -inverse_t
            np.fill_diagonal(self.B, 0.0)
        return self.B

    def paths(self, order):
        """The log-det path weights of the fit (:func:`order_paths`), kept up to date by
        :meth:`swap` (do not modify)."""
        B = self.coefficients(order)
        if self.P is None:
            self.P = order_paths(B)
        return self.P

    def fit(self, order):
        d = len(order)
        W = np.zeros((d, d))
        W[np.ix_(order, order)] = self.coefficients(order)
        return W


def _scan_flops(pa, pb):
    """About the flops of scanning these pairs: each first position's window, cubed."""
    last = np.zeros(int(pa.max(initial=0)) + 1, dtype=np.int64)
    np.maximum.at(last, pa, pb - pa + 1)
    return float(np.sum(last.astype(float) ** 3))


def _path_update_flops(swaps, d):
    """About the flops of :func:`swap_paths` for these windows."""
    return sum((b - a + 1) * (a * a + 2 * a * (d - b) + 2 * (b - a + 1) * d) for a, b in swaps)


def _scanned_changes_on_dask(client, C, diag, pa, pb, below):
    """:func:`scanned_changes` split by first position over the workers (the same values, in
    the same order)."""
    n_workers = max(len(client.scheduler_info()["workers"]), 1)
    rows, row_of_pair = np.unique(pa, return_inverse=True)
    span = np.zeros(len(rows))
    np.maximum.at(span, row_of_pair, pb - pa)
    # the widest windows dealt first, round-robin, so the workers' shares cost about the same
    group_of_row = np.empty(len(rows), dtype=np.int64)
    group_of_row[np.argsort(-span, kind="stable")] = np.arange(len(rows)) % n_workers
    group = group_of_row[row_of_pair]
    # unhashed: a factor equal to an earlier one must not share its (possibly released) key
    C_future, diag_future = client.scatter([C, diag], broadcast=True, hash=False)
    members = [np.flatnonzero(group == g) for g in range(n_workers)]
    members = [m for m in members if m.size]
    futures = [client.submit(scanned_changes, C_future, diag_future, pa[m], pb[m], below, pure=False)
               for m in members]
    parts = client.gather(futures)
    first, second, change = (np.concatenate([part[k] for part in parts]) for k in range(3))
    by_position = np.lexsort((second, first))
    return first[by_position], second[by_position], change[by_position]


class _Refit:
    """Lasso (on the Gram matrix) or L1-logistic scores: a swap refits the nodes it touches."""

    def __init__(self, X, G, score, lambda1):
        self.X, self.G, self.score, self.lambda1 = X, G, score, lambda1
        self.cache = {}

    def node(self, v, P):
        key = (v, P.tobytes())
        if key not in self.cache:
            self.cache[key] = self._solve(v, P)
        return self.cache[key]

    def _solve(self, v, P):
        p = len(P)
        if self.score == "l2":
            w = lasso_gram(self.G, v, P, self.lambda1, np.zeros(p), 1000, 1e-10) if p else np.zeros(0)
            r = self.G[v, v] - 2 * w @ self.G[P, v] + w @ self.G[np.ix_(P, P)] @ w
            return 0.5 * r + self.lambda1 * np.abs(w).sum(), w
        Xp, y, n = self.X[:, P], self.X[:, v], self.X.shape[0]
        if p == 0:
            return float(np.log(2.0)), np.zeros(0)

        def fun(z):
            w = z[:p] - z[p:]
            m = Xp @ w
            s = 1.0 / (1.0 + np.exp(-m))
            g = Xp.T @ (s - y) / n
            f = np.sum(np.logaddexp(0.0, m) - y * m) / n + self.lambda1 * z.sum()
            return f, np.concatenate([g + self.lambda1, -g + self.lambda1])

        res = minimize(fun, np.zeros(2 * p), jac=True, method="L-BFGS-B", bounds=[(0, None)] * (2 * p))
        return float(res.fun), res.x[:p] - res.x[p:]

    def total(self, order):
        return sum(self.node(order[k], order[:k])[0] for k in range(len(order)))

    def setup(self, order):
        self.losses = np.array([self.node(order[k], order[:k])[0] for k in range(len(order))])
        return float(self.losses.sum())

    def improving(self, order, pa, pb, tol):
        """The pairs ``(pa, pb)`` whose swap lowers the score by more than ``tol``, with the changes."""
        out = np.empty(len(pa))
        for c, (a, b) in enumerate(zip(pa, pb)):
            new = order.copy()
            new[a], new[b] = new[b], new[a]
            out[c] = sum(self.node(new[k], new[:k])[0] for k in range(a, b + 1)) - self.losses[a:b + 1].sum()
        lower = out < -tol
        return pa[lower], pb[lower], out[lower]

    def swap(self, order, swaps):
        return self.setup(order)

    def coefficients(self, order):
        return self.fit(order)[np.ix_(order, order)]

    def paths(self, order):
        return order_paths(self.coefficients(order))

    def fit(self, order):
        d = len(order)
        W = np.zeros((d, d))
        for k in range(1, d):
            W[order[:k], order[k]] = self.node(order[k], order[:k])[1]
        return W


def order_from_W(W, w_threshold=0.3):
    """A topological order of the support of ``W`` (edges ``|W| < w_threshold`` dropped).

    If the thresholded graph still has cycles, its weakest edges are removed until it is a DAG.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import order_from_W
    >>> order_from_W(np.array([[0.0, 0.0], [1.0, 0.0]])).tolist()
    [1, 0]
    """
    A = np.abs(np.asarray(W, dtype=float))
    A[A < w_threshold] = 0.0
    np.fill_diagonal(A, 0.0)
    while not is_dag(A):
        nz = np.flatnonzero(A)
        A.flat[nz[np.argmin(A.flat[nz])]] = 0.0
    B = A != 0
    indeg = B.sum(axis=0)
    order = []
    ready = sorted(np.flatnonzero(indeg == 0).tolist())
    while ready:
        v = ready.pop(0)
        order.append(v)
        for c in np.flatnonzero(B[v]):
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(int(c))
        ready.sort()
    return np.asarray(order, dtype=np.int64)


def _initial_order(init, X, G, d, rng):
    if isinstance(init, str):
        if init == "columns":
            return np.arange(d, dtype=np.int64)
        if init == "random":
            return rng.permutation(d).astype(np.int64)
        if init == "variance":
            return np.argsort(X.var(axis=0), kind="stable").astype(np.int64)
        if init == "greedy":
            return least_variance_order(_gram(X) if G is None else G)
        raise ValueError("init must be 'auto', 'greedy', 'variance', 'columns', 'random', an order or a "
                         f"(d, d) matrix, got {init!r}")
    init = np.asarray(init)
    if init.shape == (d, d):
        return order_from_W(init)
    if init.ndim == 1 and init.shape[0] == d and np.array_equal(np.sort(init), np.arange(d)):
        return init.astype(np.int64)
    raise ValueError(f"init must be 'auto', 'greedy', 'variance', 'columns', 'random', a permutation of "
                     f"range({d}) or a ({d}, {d}) matrix")


def _check_params(score, acyclicity, lambda1, max_iter, candidate_size):
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    if acyclicity not in ("exp", "logdet", "poly"):
        raise ValueError(f"acyclicity must be 'exp', 'logdet' or 'poly', got {acyclicity!r}")
    if not isinstance(lambda1, numbers.Real) or not np.isfinite(lambda1) or lambda1 < 0:
        raise ValueError(f"lambda1 must be a non-negative number, got {lambda1!r}")
    if max_iter is not None and (not isinstance(max_iter, numbers.Integral) or max_iter < 1):
        raise ValueError(f"max_iter must be None or a positive integer, got {max_iter!r}")
    if candidate_size is not None:
        if (len(candidate_size) != 2 or any(not isinstance(c, numbers.Integral) or c < 1
                                            for c in candidate_size)):
            raise ValueError(f"candidate_size must be None or two positive integers, got {candidate_size!r}")


def topo_swaps(X, *, score="l2", acyclicity="logdet", init="auto", lambda1=0.0, edge_penalty=1.0,
               max_iter=None, candidate_size=None, exhaustive=True, n_restarts=0, n_jobs=None,
               client=None, prune=None, w_threshold=0.3, min_explained=MIN_EXPLAINED,
               random_state=None, verbose=0):
    """Learn a DAG by local search over topological orders (TOPO).

    For an order the best DAG regresses every node on its predecessors. Each round ranks the
    swaps of the forbidden pairs (edges ``i -> j`` with ``j`` before ``i``) by their acyclicity
    gradient (with respect to ``W o W``), smallest first, and scores them in rank-ordered
    chunks: the small candidate set, then chunks growing eightfold up to the large set, then
    (``exhaustive=True``) on to every pair; at the first chunk with a score-lowering swap it
    applies the non-overlapping set of improving swaps (among all those the scan valued) of
    the largest total decrease; swaps of disjoint windows do not change each other's
    decrease, so the round lowers the score by exactly their sum. It stops when no swap
    lowers the score: the result is then a local minimum over single swaps and a KKT point of
    the NOTEARS problem. For ``score='l2'`` and ``lambda1=0`` the Cholesky factor of the
    permuted Gram matrix scores a chunk exactly (one sweep of Givens rotations per first
    position values every swap of it up to its farthest candidate, ``O(m^2)`` for ``m``
    positions: ``O(d^3)`` for every pair), and after a round's swaps the factor, the
    coefficients and the log-det path weights are updated per swapped window (``O(m^2 d)``
    for the factor, ``O(m d^2)`` for the others) instead of computed afresh; memory is
    ``O(d^2)`` and the Gram matrix is accumulated over blocks of samples. Otherwise the touched nodes are refitted (Lasso by
    coordinate descent on the Gram matrix, L1-logistic by L-BFGS-B), with caching. Restarts
    run in parallel with ``n_jobs``.
    ``prune='bic'`` (or ``'ebic'``) then keeps, for every node, the parents chosen by BIC (the
    extended BIC) among the edges of the found fit with ``|w| >= w_threshold`` (see
    :func:`numsolve.dag.prune_parents`), or those chosen the same way from a forward-backward
    selection among all the node's predecessors in the found order, whichever the criterion
    prefers: with hundreds of collinear predecessors the full fit can shrink a true weight
    below the threshold (scale-free graphs at d = 1000: SHD 109 -> 0).

    ``score='bic'`` searches the same space of orders on the scale-invariant Gaussian score
    instead (see :func:`numsolve.dag.gaussian_score`): for an order, every node's parents are
    selected among its predecessors by grow-shrink on the correlation matrix (forward
    selection while an added parent lowers the node's BIC term, then backward elimination),
    and a pass moves every node to the position that scores best (moves between equally
    scored orders included), until a pass no longer lowers the score. A node's selection is
    recorded so that a move that cannot change it is recognised in ``O(k^2)`` for ``k``
    parents; only the others are selected again.

    ``score='additive'`` searches orders on the additive-noise score (see
    :func:`numsolve.dag.additive_score`): each node a sum of cubic splines of its parents plus
    Gaussian noise, parents selected by blocks (forward, then backward), from the order the
    ``'bic'`` search reaches from ``init`` and from CAM's greedy edge additions; the lowest
    score wins. Its regressions run compiled on a Gram matrix of all spline columns: under a
    second for ``d = 20``, seconds for ``d = 100``.

    ``score='auto'`` runs the ``'bic'`` search, then compares, on the parents it found, the
    linear regressions with the additive (spline) ones by BIC, each node's splines charged at
    least ``min_explained``'s effect-size floor; where the additive model's criterion is
    lower, the ``'additive'`` search runs from the ``'bic'`` order, otherwise the ``'bic'``
    result stands (see :class:`numsolve.dag.TopoDAG`).

    Parameters
    ----------
    X : array of shape (n_samples, d)
        Data (binary for ``score='logistic'``), at least two samples.
    score : {"l2", "bic", "logistic", "additive", "auto"}, default="l2"
        ``"l2"``: least squares ``1/(2n) ||X - XW||^2`` (NOTEARS), the linear SEM with equal
        noise variances; right when every node's noise has the same variance in the units
        given, and then the DAG itself is identifiable; the graph changes when a column is
        rescaled. ``"bic"``: the Gaussian likelihood with one noise variance per node and a
        BIC penalty, ``sum_j (n/2) log(RSS_j/n) + edge_penalty (log n)/2 |E|``; no assumption
        on the variances, the same graph in any units, but only the Markov equivalence class
        is identifiable (``cpdag`` in the result). ``"logistic"``: binary data, a logistic
        model per node. ``"additive"``: nonlinear additive functions of the parents, one noise
        variance per node, the same graph in any units; the DAG is identifiable where the
        functions are nonlinear (``cpdag`` is then the DAG's support). ``"auto"``: ``"bic"``,
        or ``"additive"`` where the data reject the linear model (above).
    acyclicity : {"logdet", "exp", "poly"}, default="logdet"
        Which acyclicity gradient ranks the candidate swaps (unused by ``score='bic'``).
    init : "auto", "greedy", "variance", "columns", "random", permutation or (d, d) array, default="auto"
        Initial order: ``"auto"`` is ``"greedy"`` for ``"l2"``, ``"variance"`` for
        ``"logistic"`` and ``"columns"`` for the others; ``"greedy"`` places next, each time,
        the variable of least residual variance given those already placed (the greedy order
        of the ``"l2"`` score, ``O(d^3)``; a topological order of the true graph for equal
        noise variances and enough samples); increasing marginal variance (this exploits the
        varsortability of simulated equal-variance data, see
        :func:`numsolve.dag.varsortability`, and depends on the units), the columns' order, a
        random permutation, a given order, or the order of another method's weighted graph.
    lambda1 : float, default=0.0
        L1 penalty (``"l2"`` and ``"logistic"``).
    edge_penalty : float or "ebic", default=1.0
        ``score='bic'`` (and ``'auto'``): penalty per edge in units of ``(log n) / 2`` (1 is BIC; larger values
        give sparser graphs); ``"ebic"`` is the extended BIC, ``(log n) / 2 + log d`` per
        edge, :class:`TopoDAG`'s default.
    max_iter : int, optional
        Rounds of the outer search (passes over the nodes for ``score='bic'``); by default
        ``max(500, 3 d)``: the rounds a search needs grow with ``d`` (ER2, ``n = 2000``, the
        ``"l2"`` search from its greedy start: 346 at ``d = 400``, 715 at ``d = 1000``).
    candidate_size : (int, int), optional
        Sizes of the small and large candidate sets; the paper's defaults otherwise.
    exhaustive : bool, default=True
        Score every swap before declaring a local minimum.
    n_restarts : int, default=0
        Extra searches from random orders; the lowest score wins (the first on ties).
    n_jobs : int, optional
        Searches run at once, through joblib (threads unless a backend is set, e.g.
        ``joblib.parallel_backend("dask")``); a single search (``n_restarts=0``) with
        ``score='l2'`` and ``lambda1=0`` scores its candidate swaps on ``n_jobs`` threads
        instead. All initial orders are drawn from ``random_state`` first and every swap is
        scored the same way on any thread, so the result does not depend on ``n_jobs``. For
        ``score='bic'`` and ``'auto'`` the default runs the searches on one thread each, up to
        the CPU count (their kernels release the GIL), on graphs of 16 nodes or more.
    client : distributed.Client, optional
        ``score='l2'`` with ``lambda1=0``: the large swap scans are split by first position
        over this Dask cluster's workers (each gets the order's factor once per scan); the
        values, hence the result, are those of one process. Small scans stay here.
    prune : {None, "bic", "ebic"}, default=None
        ``"bic"``: the returned graph is the found fit pruned by BIC (backward elimination of
        each node's parents from the edges with ``|w| >= w_threshold``) and refitted by least
        squares on the kept parents (``score='l2'`` only), unless a forward-backward selection
        among the node's predecessors in the order, pruned the same way, scores better;
        ``"ebic"``: by the extended BIC, ``log(d - 1)`` more per parent, which keeps fewer
        spurious parents at large ``d`` (see :func:`numsolve.dag.prune_parents`).
    w_threshold : float, default=0.3
        The edges the pruning starts from; unused without ``prune``.
    min_explained : float in [0, 1), default=0.1
        ``score='additive'`` (and ``'auto'`` where it chooses it): a parent block costs at least
        the likelihood gain of removing this share of its child's residual variance (see
        :func:`numsolve.dag.additive_score`).
    random_state : int, RandomState or None
        Seeds the random starting orders (``init="random"`` and the restarts).
    verbose : int, default=0
        Positive: a progress bar per search on standard error, one step per round (per pass
        over the nodes for ``score='bic'``), with the score.

    Returns
    -------
    SolveResult
        ``x`` is the weighted adjacency ``W`` (``W[i, j]`` for ``i -> j``); extras ``order``,
        ``score`` (of the full fit for ``order``, the search objective); with ``prune``, ``x``
        is the pruned graph and the extra ``weights`` the full fit; history ``score`` and
        ``swaps`` per round. For ``score='bic'``, ``x`` holds the least-squares weights of
        every node on its selected parents (no threshold), ``score`` is
        :func:`numsolve.dag.gaussian_score` of ``x``, the extra ``cpdag`` marks the edges
        whose direction the score cannot tell (:func:`numsolve.dag.dag_to_cpdag`) and the
        history has the ``score`` after each pass. For ``score='auto'``, the chosen score's
        result with the extras ``loss`` (``"bic"`` or ``"additive"``) and ``model_scores`` (the
        criterion of each model on the linear graph's parents).

    Examples
    --------
    >>> from numsolve.dag import simulate_dag, simulate_parameter, simulate_linear_sem, topo_swaps
    >>> B = simulate_dag(8, 16, "ER", random_state=0)
    >>> X = simulate_linear_sem(simulate_parameter(B, random_state=0), 2000, random_state=0)
    >>> res = topo_swaps(X, random_state=0)
    >>> res.converged
    True
    >>> topo_swaps(X / X.std(axis=0), score="bic").converged  # any units
    True
    """
    X = check_matrix(X, "X", ensure_min_samples=2)
    _check_params(score, acyclicity, lambda1, max_iter, candidate_size)
    if not isinstance(n_restarts, numbers.Integral) or n_restarts < 0:
        raise ValueError(f"n_restarts must be a non-negative integer, got {n_restarts!r}")
    if n_jobs is not None and (not isinstance(n_jobs, numbers.Integral) or n_jobs == 0):
        raise ValueError(f"n_jobs must be None or a non-zero integer, got {n_jobs!r}")
    check_prune(prune)
    check_threshold(w_threshold)
    check_edge_penalty(edge_penalty)
    if prune is not None and score != "l2":
        raise ValueError(f"prune={prune!r} needs score='l2', got score={score!r}")
    check_min_explained(min_explained)
    if score in ("bic", "additive", AUTO) and lambda1 != 0:
        raise ValueError(f"lambda1 applies to score='l2' or 'logistic'; score={score!r} penalises "
                         "the number of edges")
    if client is not None and (score != "l2" or lambda1 != 0):
        raise ValueError("client= spreads the exact least-squares swap scans: it needs score='l2' "
                         f"and lambda1=0, got score={score!r}, lambda1={lambda1!r}")
    if score == "logistic" and not np.all((X == 0) | (X == 1)):
        raise ValueError("score='logistic' needs binary X (entries 0 or 1)")
    if score == "l2":
        _warn_if_scales_differ(X)
    rng = check_random_state(random_state)
    d = X.shape[1]
    if max_iter is None:
        max_iter = max(_MIN_DEFAULT_ROUNDS, _ROUNDS_PER_VARIABLE * d)
    Xd = X.astype(np.float64)
    if isinstance(init, str) and init == "auto":
        init = {"l2": "greedy", "logistic": "variance"}.get(score, "columns")
    G = _gram(X) if score in ("l2", "logistic") else None
    starts = [_initial_order(init if start == 0 else "random", Xd, G, d, rng)
              for start in range(n_restarts + 1)]
    if score == AUTO:
        return auto_result(Xd, X.dtype, starts, edge_penalty, min_explained, max_iter, n_jobs, verbose)
    if score == "additive":
        return additive_result(Xd, X.dtype, starts, min_explained, max_iter, verbose)
    if score == "bic":
        return gaussian_result(Xd, X.dtype, starts, edge_penalty, max_iter, n_jobs, verbose)
    small, large = candidate_size or _candidate_sizes(d)
    # one search: its swap scans use the threads; several: the searches do
    scan_threads = effective_n_jobs(n_jobs) if len(starts) == 1 else 1
    runs = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_search)(_model(Xd, G, score, float(lambda1), scan_threads, client), order, acyclicity,
                         max_iter, small, large, exhaustive, verbose)
        for order in starts)
    best = runs[0]
    for run in runs[1:]:
        if run[1] < best[1] - 1e-12:
            best = run
    model = _model(Xd, G, score, float(lambda1))
    order, value, n_iter, converged, history = best
    W = model.fit(order)
    extras = {"order": order, "score": value}
    if prune is not None:
        extras["weights"] = W.astype(X.dtype)
        n = Xd.shape[0]
        W = prune_gram(G, n, W, w_threshold, prune, selected=select_parents(G, n, order))
    if not converged:
        warnings.warn(f"topo_swaps stopped after max_iter={max_iter} rounds with improving swaps left",
                      ConvergenceWarning, stacklevel=2)
    return SolveResult(
        x=W.astype(X.dtype), n_iter=n_iter, converged=converged,
        message="no swap lowers the score" if converged else "max_iter reached",
        history=history, extras=extras,
    )


def _gram(X):
    """``X^T X / n`` in float64, accumulated over blocks of samples (no float64 copy of ``X``)."""
    n, d = X.shape
    rows = max(1, _GRAM_BLOCK_ENTRIES // max(d, 1))
    G = np.zeros((d, d))
    for start in range(0, n, rows):
        block = np.asarray(X[start:start + rows], dtype=np.float64)
        G += block.T @ block
    return G / n


def _warn_if_scales_differ(X):
    scale = X.std(axis=0)
    if scale.min() * _SCALE_RATIO_WARNING < scale.max():
        warnings.warn(
            f"the column standard deviations range from {scale.min():.3g} to {scale.max():.3g}: the "
            "equal-variance 'l2' score assumes every node's noise has the same variance, so its "
            "graph depends on the columns' units; the scale-invariant 'bic' score does not",
            UserWarning, stacklevel=3)


def _model(X, G, score, lambda1, n_threads=1, client=None):
    """A fresh scorer (searches running at once must not share one: it caches per order)."""
    if score == "l2" and lambda1 == 0:
        return _LeastSquares(G, n_threads, client)
    return _Refit(X, G, score, lambda1)


def _lowest(values, k, key=None):
    """The ``k`` lowest values, ordered by value, then by distinct keys (default: the index).

    ``key(indices)`` gives the keys of those entries, asked only for the entries that need
    one. ``np.lexsort((key(all), values))[:k]`` without sorting beyond the ``k``-th value.
    """
    if key is None:
        key = np.asarray
    if k >= len(values):
        return np.lexsort((key(np.arange(len(values))), values))
    kth = np.partition(values, k - 1)[k - 1]
    below = np.flatnonzero(values < kth)
    ties = np.flatnonzero(values == kth)
    needed = k - len(below)
    if needed < len(ties):
        ties = ties[np.argpartition(key(ties), needed - 1)[:needed]]
    chosen = np.concatenate([below, ties])
    return chosen[np.lexsort((key(chosen), values[chosen]))]


def _chunk_ends(small, large, total):
    """Ends of the rank-ordered chunks a round scores: ``small``, then growing geometrically to
    ``large``, then to ``total`` (every pair)."""
    ends = [min(small, total)]
    while ends[-1] < total:
        cap = large if ends[-1] < large else total
        ends.append(min(_CHUNK_GROWTH * ends[-1], cap, total))
    return ends


def _search(model, order, acyclicity, max_iter, small, large, exhaustive, verbose):
    d = len(order)
    rec = HistoryRecorder()
    value = model.setup(order)
    rec.record(0, score=value, swaps=0)
    converged = d < 2
    n_iter = 0
    # every pair of positions a < b; the swap is a candidate because the later node could
    # point at the earlier one
    first, second = np.triu_indices(d, 1)
    # the pairs' entries in a row-major d x d matrix
    flat = first * d + second

    def key(pairs):
        # ties go to the lower (later node, earlier node) index
        return order[second[pairs]] * d + order[first[pairs]]

    ends = _chunk_ends(small, large, len(first))
    if not exhaustive:
        ends = [end for end in ends if end <= max(large, ends[0])]
    with progress(max_iter, verbose, desc="topo_swaps", unit="round") as bar:
        while not converged and n_iter < max_iter:
            weights = _pair_weights(model, order, acyclicity, flat)
            applied = _improving_swaps(model, order, value, weights, key, first, second, ends)
            if not applied:
                converged = True
                break
            for a, b in applied:
                order[a], order[b] = order[b], order[a]
            value = model.swap(order, applied)
            n_iter += 1
            rec.record(n_iter, score=value, swaps=len(applied))
            bar.update(1)
            bar.set_postfix(score=f"{value:.6g}")
    return order, value, n_iter, converged, rec.as_dict()


def _pair_weights(model, order, acyclicity, flat):
    """The acyclicity gradient of each edge from a later position back to an earlier one, the
    pairs given by their entries ``flat`` (earlier * d + later).

    For the log-det function that is the weighted paths from the earlier position to the
    later, which the model keeps (:func:`order_paths`); the others from the coefficients, in
    the coordinates of the order.
    """
    if acyclicity == "logdet":
        return np.take(model.paths(order), flat)
    return np.take(path_weights(model.coefficients(order), acyclicity).T, flat)


def _improving_swaps(model, order, value, weights, key, first, second, ends):
    """The swaps of the first rank-ordered chunk that lowers the score: the non-overlapping
    set of the largest total decrease.

    The chunks follow the gradient ranking (the reference's small candidate set, then the
    large one, then every pair), each scored only when the ones before it found nothing;
    every swap the scan values on the way counts. Swaps of disjoint windows leave each
    other's decrease unchanged (each window's variances depend on the set of positions
    before it only), so the round lowers the score by exactly the sum.
    """
    tol = 1e-12 * max(abs(value), 1.0)
    start = 0
    for end in ends:
        chosen = _lowest(weights, end, key)[start:end]
        start = end
        pa, pb, delta = model.improving(order, first[chosen], second[chosen], tol)
        if pa.size:
            taken = heaviest_disjoint(pa, pb, -delta)
            return [(int(pa[c]), int(pb[c])) for c in taken]
    return []


def refine(W, X, *, w_threshold=0.3, **kwargs):
    """Post-process another method's graph: TOPO started from the order of ``W``.

    ``w_threshold`` drops the weak edges of ``W`` before its order is taken, and is also the
    threshold ``prune`` (passed on to :func:`topo_swaps`) starts from.

    The score of the result is never above that of the best DAG consistent with ``W``'s order,
    hence never above ``W``'s own score (for the same ``lambda1``) when ``W`` is a DAG.
    ``score='bic'`` (passed on) refines with the scale-invariant Gaussian score instead.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.dag import refine, simulate_linear_sem
    >>> W0 = np.array([[0.0, 1.0], [0.0, 0.0]])
    >>> X = simulate_linear_sem(W0, 500, random_state=0)
    >>> refine(W0, X).converged
    True
    """
    X = check_matrix(X, "X")
    W = check_matrix(W, "W")
    if W.shape != (X.shape[1], X.shape[1]):
        raise ValueError(f"W must have shape ({X.shape[1]}, {X.shape[1]}), got {W.shape}")
    if "init" in kwargs:
        raise TypeError("refine takes its initial order from W; do not pass init")
    return topo_swaps(X, init=order_from_W(W, w_threshold), w_threshold=w_threshold, **kwargs)
