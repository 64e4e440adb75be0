"""Block coordinate descent for sparse quadratics ``1/2 x'Qx - c'x (+ l1 ||x||_1, bounds)``.

``Q`` is a sparse symmetric positive definite matrix, ``c`` holds one or several right-hand
sides (one column each, all solved together). The blocks follow the graph of ``Q``: colour
classes (independent sets: the exact update is diagonal), forests (the exact update is the
linear-time two-sweep elimination of :mod:`numsolve.linear_model._tree_solve`), single
coordinates, or one forest grown greedily from the gradient at every iteration. With an L1
term or bounds, a block takes the proximal step of a diagonal majoriser of its Hessian (exact
for colour classes and coordinates).

Without penalty, the symmetric sweep over a fixed partition (forward, then backward) is a
symmetric positive definite preconditioner; ``acceleration="cg"`` runs conjugate gradients
on it, reusing the gradient the sweep maintains so that no extra product with ``Q`` is needed.
"""

import copy
import time
import warnings
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee
from sklearn.exceptions import ConvergenceWarning

from .._array_api import array_namespace, require_backend
from .._progress import progress
from .._result import HistoryRecorder, SolveResult
from .._validation import check_matrix, check_scalar, check_square, common_float_dtype
from ._graph_blocks import colour_partition, forest_order, forest_partition, ranking
from ._graph_partition import grow_forest, order_block
from ._tree_sweeps import (
    factor,
    forest_pcg,
    forest_sweep,
    greedy_update,
    positional,
    prox_sweep,
)

__all__ = ["QuadraticProblem", "locality_order", "quadratic_bcd"]

_BLOCK_RULES = ("forest", "greedy-forest", "colour", "coordinate")
# renumber graphs of at least this many nodes whose mean |i - j| over the entries of Q
# exceeds LOCALITY_SPAN * sqrt(n) (see locality_order)
LOCALITY_MIN_SIZE = 20_000
LOCALITY_SPAN = 8


class QuadraticProblem:
    """The sparse quadratic datafit ``f(x) = 1/2 x'Qx - c'x`` with optional L1 and bounds.

    Holds the validated CSR matrix, its diagonal and the right-hand sides (``(n, k)``), and
    evaluates the objective, the gradient and the relative residual used to stop.

    Parameters
    ----------
    Q : sparse matrix or ndarray of shape (n, n)
        Symmetric positive definite (a dense array is converted to CSR).
    c : ndarray of shape (n,) or (n, k)
        Right-hand side(s).
    l1 : float, default=0.0
        Weight of ``||x||_1`` (per column).
    bounds : tuple (lower, upper), optional
        Box constraints, scalars or arrays of shape (n,); ``None`` for no bound.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from numsolve.linear_model import QuadraticProblem
    >>> problem = QuadraticProblem(sp.identity(3, format="csr") * 2.0, np.ones(3))
    >>> problem.objective(np.full((3, 1), 0.5))
    array([-0.75])
    """

    def __init__(self, Q, c, *, l1=0.0, bounds=None):
        if sp.issparse(c):
            raise TypeError("c must be a dense array, got a sparse matrix")
        dense_q = not sp.issparse(Q)
        Q = check_matrix(Q, "Q", accept_sparse=True, sparse_format="csr")
        check_square(Q, "Q")
        c_array = check_matrix(np.asarray(c).reshape(len(c), -1) if np.ndim(c) == 1 else c,
                               "c", ensure_min_features=1)
        n = Q.shape[0]
        if c_array.shape[0] != n:
            raise ValueError(f"c has {c_array.shape[0]} rows, expected {n} (the size of Q)")
        dtype = common_float_dtype(Q, c_array)
        Q = sp.csr_matrix(Q) if dense_q else Q
        if Q.dtype != dtype:
            Q = Q.astype(dtype)
        if not Q.has_sorted_indices:
            Q = Q.sorted_indices()
        _check_symmetric(Q)
        diag = Q.diagonal()
        if np.any(diag <= 0):
            bad = np.flatnonzero(diag <= 0)[:5].tolist()
            raise ValueError(f"Q must have a positive diagonal (SPD); rows {bad} do not")
        self.Q = Q
        self.diag = diag
        self.c = np.ascontiguousarray(c_array, dtype=dtype)
        self.vector = np.ndim(c) == 1
        self.l1 = float(check_scalar(l1, "l1", (int, float), min_val=0.0))
        self.lower, self.upper = _check_bounds(bounds, n, dtype)
        self.penalised = self.l1 > 0 or np.isfinite(self.lower).any() or np.isfinite(
            self.upper).any()
        norms = np.linalg.norm(self.c, axis=0)
        self.c_norms = np.where(norms > 0, norms, 1.0)

    def renumbered(self, order):
        """The same problem with variable ``order[i]`` as its variable ``i``."""
        other = copy.copy(self)
        other.Q = self.Q[order][:, order].tocsr()
        other.Q.sort_indices()
        other.diag = self.diag[order]
        other.c = np.ascontiguousarray(self.c[order])
        other.lower, other.upper = self.lower[order], self.upper[order]
        return other

    @property
    def shape(self):
        """``(n, k)``: variables and right-hand sides."""
        return self.c.shape

    def gradient(self, x):
        """``Q x - c``."""
        return np.asarray(self.Q @ x) - self.c

    def objective(self, x):
        """``1/2 x'Qx - c'x + l1 ||x||_1`` per column (ignores the bounds)."""
        value = 0.5 * np.sum(x * np.asarray(self.Q @ x), axis=0) - np.sum(self.c * x, axis=0)
        return value + self.l1 * np.abs(x).sum(axis=0)

    def residual(self, x, g):
        """Relative residual per column, ``||r|| / ||c||``.

        ``r = c - Qx`` without penalty; with one, the scaled proximal-gradient residual
        ``r_i = Q_ii (x_i - prox(x_i - g_i / Q_ii))``, zero exactly at the solution.
        """
        if not self.penalised:
            return np.linalg.norm(g, axis=0) / self.c_norms
        d = self.diag[:, None]
        v = x - g / d
        z = np.sign(v) * np.maximum(np.abs(v) - self.l1 / d, 0.0)
        z = np.clip(z, self.lower[:, None], self.upper[:, None])
        return np.linalg.norm(d * (x - z), axis=0) / self.c_norms


def _check_symmetric(Q):
    scale = np.abs(Q.data).max() if Q.nnz else 0.0
    asym = abs(Q - Q.T)
    if asym.nnz and asym.max() > 1e-10 * scale * (1e5 if Q.dtype == np.float32 else 1.0):
        raise ValueError("Q must be symmetric (Q != Q.T)")


def _check_bounds(bounds, n, dtype):
    if bounds is None:
        return np.full(n, -np.inf, dtype=dtype), np.full(n, np.inf, dtype=dtype)
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise ValueError("bounds must be a pair (lower, upper)")
    out = []
    for value, name, default in ((bounds[0], "lower", -np.inf), (bounds[1], "upper", np.inf)):
        array = np.full(n, default) if value is None else np.asarray(value, dtype=float)
        array = np.broadcast_to(array, (n,)) if array.ndim == 0 else array
        if array.shape != (n,):
            raise ValueError(f"bounds {name} must be a scalar or have shape ({n},)")
        if np.isnan(array).any():
            raise ValueError(f"bounds {name} contains NaN")
        out.append(np.ascontiguousarray(array, dtype=dtype))
    if np.any(out[0] > out[1]):
        raise ValueError("bounds lower must not exceed upper")
    return out[0], out[1]


def _partition_labels(problem, blocks):
    Q = problem.Q
    n = Q.shape[0]
    if isinstance(blocks, str):
        if blocks == "forest":
            return forest_partition(Q)
        if blocks == "colour":
            return colour_partition(Q)
        if blocks == "coordinate":
            return np.arange(n, dtype=np.int64)
        raise ValueError(f"blocks must be one of {_BLOCK_RULES} or a label array, got {blocks!r}")
    labels = np.asarray(blocks)
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"blocks must be a string or an integer label array of shape ({n},)")
    if n and labels.min() < 0:
        raise ValueError("blocks labels must be non-negative")
    labels = labels.astype(np.int64)
    if n and labels.max() >= n:
        return np.unique(labels, return_inverse=True)[1].astype(np.int64)
    present = np.zeros(n, dtype=np.int64)
    present[labels] = 1
    return np.cumsum(present)[labels] - 1


class _FixedPartition:
    """A fixed partition into forests: rooted orders, factored pivots, and either the entries
    of ``Q`` between blocks (exact updates) or the block curvatures (proximal updates)."""

    def __init__(self, problem, labels):
        Q = problem.Q
        self.order, self.start, self.parent, self.parent_pos = forest_order(Q, labels)
        self.n_blocks = self.start.size - 1
        self.pivot = np.empty(Q.shape[0], dtype=Q.dtype)
        self.up = np.empty_like(self.parent)
        self.coef = np.empty_like(self.pivot)
        self.inv = np.empty_like(self.pivot)
        factor(Q.data, problem.diag, self.order, self.parent, self.parent_pos, self.pivot)
        positional(Q.data, self.order, self.parent, self.parent_pos, self.pivot, self.up,
                   self.coef, self.inv)
        rows = np.repeat(np.arange(Q.shape[0], dtype=Q.indices.dtype), np.diff(Q.indptr))
        same = labels[rows] == labels[Q.indices]
        if problem.penalised:
            self.scale = np.bincount(rows[same], weights=np.abs(Q.data[same]),
                                     minlength=Q.shape[0]).astype(Q.dtype)
        else:
            cross = ~same
            self.cross_indptr = np.zeros_like(Q.indptr)
            np.cumsum(np.bincount(rows[cross], minlength=Q.shape[0]), out=self.cross_indptr[1:])
            self.cross_indices = Q.indices[cross]
            self.cross_data = Q.data[cross]
        del rows, same
        self.forward = np.arange(self.n_blocks, dtype=np.int64)
        self.symmetric = np.concatenate([self.forward, self.forward[-2::-1]])

    def sweep(self, problem, sequence, x, g, work):
        Q = problem.Q
        if problem.penalised:
            prox_sweep(Q.indptr, Q.indices, Q.data, self.order, self.start, sequence,
                       self.scale, problem.l1, problem.lower, problem.upper, x, g, work)
        else:
            forest_sweep(self.cross_indptr, self.cross_indices, self.cross_data, self.order,
                         self.start, self.up, self.coef, self.inv, sequence, x, g, work)

    def pcg(self, problem, x, r, buffers, rho, residuals, n_iter, max_iter, tol):
        """Continue the CG run preconditioned by the symmetric sweep (see ``forest_pcg``);
        return the iteration reached. A run starts with zero ``buffers`` and ``rho``."""
        return forest_pcg(self.cross_indptr, self.cross_indices, self.cross_data, self.order,
                          self.start, self.up, self.coef, self.inv, self.symmetric,
                          problem.c_norms.astype(np.float64), tol, x, r, buffers, rho,
                          residuals, n_iter, max_iter)


class _GreedyForest:
    """Buffers of the greedy forest rule (one block grown from the gradient per iteration)."""

    n_blocks = 1

    def __init__(self, problem):
        n = problem.Q.shape[0]
        self.in_block = np.zeros(n, dtype=np.int64)
        self.uf = np.empty(n, dtype=np.int64)
        self.roots = np.empty(n, dtype=np.int64)
        self.tree = np.empty((4, n), dtype=np.int64)
        self.pivot = np.empty(n, dtype=problem.Q.dtype)
        self.size = 0

    def step(self, problem, x, g, work):
        Q = problem.Q
        if problem.penalised:
            d = problem.diag[:, None]
            v = x - g / d
            z = np.clip(np.sign(v) * np.maximum(np.abs(v) - problem.l1 / d, 0.0),
                        problem.lower[:, None], problem.upper[:, None])
            scores = np.sqrt(np.sum(d * (x - z) ** 2, axis=1))
        else:
            scores = np.sqrt(np.sum(g * g, axis=1) / problem.diag)
        grow_forest(Q.indptr, Q.indices, ranking(scores.astype(np.float64)), self.in_block,
                    self.uf, self.roots)
        self.size = order_block(Q.indptr, Q.indices, self.in_block, self.tree)
        greedy_update(Q.indptr, Q.indices, Q.data, problem.diag, self.in_block, self.tree,
                      self.size, problem.penalised, problem.l1, problem.lower, problem.upper,
                      self.pivot, x, g, work)


def quadratic_bcd(Q, c, *, blocks="forest", l1=0.0, bounds=None, acceleration=None, x0=None,
                  tol=1e-8, max_iter=1000, verbose=0):
    """Minimise ``1/2 x'Qx - c'x (+ l1 ||x||_1, bounds)`` by BCD on graph blocks.

    Without penalty this solves ``Q x = c`` for every column of ``c``.

    Parameters
    ----------
    Q : sparse matrix or ndarray of shape (n, n)
        Symmetric positive definite; its off-diagonal non-zeros form the graph.
    c : ndarray of shape (n,) or (n, k)
        Right-hand side(s), all solved together.
    blocks : {"forest", "greedy-forest", "colour", "coordinate"} or ndarray of int, default="forest"
        ``"forest"``: greedy first-fit partition into forests, exact two-sweep updates;
        ``"greedy-forest"``: one forest grown from the largest scaled gradients every iteration;
        ``"colour"``: greedy multi-colour partition (red-black on a lattice);
        ``"coordinate"``: one coordinate per block (Gauss-Seidel);
        an array of shape (n,): block labels of a partition whose blocks are forests (say
        :func:`~numsolve.linear_model._graph_blocks.lattice_forests`).
        Arrays of other namespaces (CuPy, torch, array_api_strict: a dense ``Q``) support
        ``"colour"`` only, coloured on their device (Jones-Plassmann rounds), since the tree
        sweeps are sequential.
    l1 : float, default=0.0
        Weight of the L1 penalty.
    bounds : tuple (lower, upper), optional
        Box constraints (scalars or arrays of shape (n,), ``None`` for unbounded).
    acceleration : {None, "cg"}, default=None
        ``"cg"``: conjugate gradients preconditioned by the symmetric sweep over the fixed
        partition (no penalty, fixed partitions only).
    x0 : ndarray of the shape of ``c``, optional
        Starting point (zero by default).
    tol : float, default=1e-8
        Stop when the relative residual ``||c - Qx|| / ||c||`` (with a penalty: the scaled
        proximal-gradient residual over ``||c||``) is at most ``tol`` for every column.
    max_iter : int, default=1000
        Iteration budget. One iteration is one pass over a fixed partition (every block updated
        once), one greedy forest update, or one conjugate-gradient step.
    verbose : int, default=0
        Show a progress bar when positive.

    Returns
    -------
    SolveResult
        ``x`` (shape of ``c``), ``n_iter``, ``converged``, ``message``, ``history`` (iteration,
        elapsed, residual, block_updates) and extras ``residual`` (final relative residual),
        ``n_blocks``, ``block_updates``, ``objective`` and ``renumbered`` (whether the sweeps
        ran on a bandwidth-reducing renumbering of a large, shuffled graph: the same block
        updates, laid out for the cache; ``x`` is in the original numbering either way).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from numsolve.linear_model import quadratic_bcd
    >>> Q = sp.diags([[-1.0] * 9, [2.1] * 10, [-1.0] * 9], [-1, 0, 1], format="csr")
    >>> result = quadratic_bcd(Q, np.ones(10), blocks="colour", tol=1e-10)
    >>> result.converged, bool(np.allclose(Q @ result.x, 1.0))
    (True, True)
    """
    xp = array_namespace(Q, c, x0)
    backend = require_backend(xp, {"compiled", "generic"}, "quadratic_bcd")
    tol = check_scalar(tol, "tol", (int, float), min_val=0.0, include_boundaries="neither")
    max_iter = check_scalar(max_iter, "max_iter", int, min_val=1)
    if acceleration not in (None, "cg"):
        raise ValueError(f"acceleration must be None or 'cg', got {acceleration!r}")
    if backend == "generic":
        return _quadratic_bcd_xp(xp, Q, c, blocks=blocks, l1=l1, bounds=bounds,
                                 acceleration=acceleration, x0=x0, tol=tol, max_iter=max_iter,
                                 verbose=verbose)
    problem = QuadraticProblem(Q, c, l1=l1, bounds=bounds)
    greedy = isinstance(blocks, str) and blocks == "greedy-forest"
    if acceleration == "cg" and (greedy or problem.penalised):
        raise ValueError("acceleration='cg' needs a fixed partition and no l1 or bounds")
    x = _start(problem, x0)
    if greedy:
        return _run_bcd(problem, _GreedyForest(problem), True, x, tol, max_iter, verbose)
    labels = _partition_labels(problem, blocks)
    renumbering = locality_order(problem.Q)
    if renumbering is not None:
        # the partition is kept: the same block updates, on arrays laid out for the sweeps
        problem, labels, x = problem.renumbered(renumbering), labels[renumbering], x[renumbering]
    rule = _FixedPartition(problem, labels)
    if acceleration == "cg":
        result = _run_cg(problem, rule, x, tol, max_iter, verbose)
    else:
        result = _run_bcd(problem, rule, False, x, tol, max_iter, verbose)
    result.extras["renumbered"] = renumbering is not None
    if renumbering is not None:
        x = np.empty_like(result.x)
        x[renumbering] = result.x
        result.x = x
    return result


def locality_order(Q):
    """A bandwidth-reducing renumbering (reverse Cuthill-McKee) of a large graph whose
    numbering scatters neighbours across memory, or None.

    The sweeps read and update the neighbours of every node; with a shuffled numbering (a kNN
    graph of points in random order) each of those accesses misses the cache. Renumbering the
    two-moons graph (n = 95,000, ``make_moons_problem``) halves the CPU time of the
    forest-preconditioned CG; a lattice in row-major order (mean ``|i - j|`` about
    ``0.4 sqrt(n)``) is left as it is.
    """
    n = Q.shape[0]
    if n < LOCALITY_MIN_SIZE:
        return None
    rows = np.repeat(np.arange(n), np.diff(Q.indptr))
    if np.abs(rows - Q.indices).mean() <= LOCALITY_SPAN * np.sqrt(n):
        return None
    return reverse_cuthill_mckee(Q, symmetric_mode=True).astype(np.int64)


def _start(problem, x0):
    n, k = problem.shape
    if x0 is None:
        return np.zeros((n, k), dtype=problem.c.dtype)
    expected = (n,) if problem.vector else (n, k)
    if np.shape(x0) != expected:
        raise ValueError(f"x0 must have the shape of c {expected}, got {np.shape(x0)}")
    x = check_matrix(np.reshape(x0, (n, k)), "x0")
    return np.array(x, dtype=problem.c.dtype, order="C")


def _run_bcd(problem, rule, greedy, x, tol, max_iter, verbose):
    g = np.ascontiguousarray(problem.gradient(x))
    work = np.zeros_like(x)
    recorder = HistoryRecorder()
    residual = problem.residual(x, g).max()
    recorder.record(0, residual=residual, block_updates=0)
    updates = 0
    n_iter = 0
    converged = residual <= tol
    with progress(max_iter, verbose, desc="quadratic_bcd") as bar:
        while not converged and n_iter < max_iter:
            if greedy:
                rule.step(problem, x, g, work)
                updates += 1
            else:
                rule.sweep(problem, rule.forward, x, g, work)
                updates += rule.n_blocks
            n_iter += 1
            residual = problem.residual(x, g).max()
            if residual <= tol:
                g[...] = problem.gradient(x)
                residual = problem.residual(x, g).max()
                converged = residual <= tol
            recorder.record(n_iter, residual=residual, block_updates=updates)
            bar.update(1)
            bar.set_postfix(residual=f"{residual:.2e}", refresh=False)
    return _result(problem, x, n_iter, converged, residual, tol, recorder.as_dict(), rule,
                   updates)


def _run_cg(problem, rule, x, tol, max_iter, verbose):
    """Conjugate gradients preconditioned by the symmetric sweep, run by the compiled kernel.

    The kernel stops when its recursive residual meets ``tol``; the true residual
    ``c - Q x`` is then computed here and the run goes on from it when it does not. With a
    progress bar the kernel returns after every iteration; otherwise the whole run is one
    call, and ``history["elapsed"]`` spreads its wall time evenly over the iterations.
    """
    n, k = problem.shape
    r = np.ascontiguousarray(-problem.gradient(x))
    buffers = np.zeros((5, n, k), dtype=r.dtype)
    rho = np.zeros(k)
    residuals = np.empty(max_iter + 1)
    residuals[0] = (np.linalg.norm(r, axis=0) / problem.c_norms).max()
    n_iter = 0
    converged = residuals[0] <= tol
    start = time.perf_counter()
    with progress(max_iter, verbose, desc="quadratic_bcd (cg)") as bar:
        while not converged and n_iter < max_iter:
            done = rule.pcg(problem, x, r, buffers, rho, residuals, n_iter,
                            n_iter + 1 if verbose > 0 else max_iter, tol)
            bar.update(done - n_iter)
            n_iter = done
            if residuals[n_iter] <= tol:
                r[...] = problem.c - np.asarray(problem.Q @ x)
                residuals[n_iter] = (np.linalg.norm(r, axis=0) / problem.c_norms).max()
                converged = residuals[n_iter] <= tol
            bar.set_postfix(residual=f"{residuals[n_iter]:.2e}", refresh=False)
    iterations = np.arange(n_iter + 1)
    history = {
        "iteration": iterations.astype(float),
        "elapsed": (time.perf_counter() - start) * (iterations + 1) / (n_iter + 1),
        "residual": residuals[:n_iter + 1].copy(),
        "block_updates": (iterations * len(rule.symmetric)).astype(float),
    }
    return _result(problem, x, n_iter, converged, residuals[n_iter], tol, history, rule,
                   n_iter * len(rule.symmetric))


def _result(problem, x, n_iter, converged, residual, tol, history, rule, updates):
    if converged:
        message = f"relative residual {residual:.3g} <= tol {tol:.3g}"
    else:
        message = (f"max_iter={n_iter} reached with relative residual {residual:.3g} "
                   f"> tol {tol:.3g}")
        warnings.warn(f"quadratic_bcd did not converge: {message}", ConvergenceWarning,
                      stacklevel=3)
    out = x[:, 0] if problem.vector else x
    return SolveResult(
        x=out,
        n_iter=n_iter,
        converged=bool(converged),
        message=message,
        history=history,
        extras={
            "residual": float(residual),
            "n_blocks": int(rule.n_blocks),
            "block_updates": int(updates),
            "objective": float(problem.objective(x).sum()),
            "renumbered": False,
        },
    )


def _quadratic_bcd_xp(xp, Q, c, *, blocks, l1, bounds, acceleration, x0, tol, max_iter,
                      verbose):
    """Array-namespace path: dense ``Q`` on its device, colour blocks, all work in ``xp``."""
    from .._array_api import device_of
    from .._validation import check_xp_array

    if not (isinstance(blocks, str) and blocks == "colour"):
        raise ValueError(f"blocks={blocks!r} needs NumPy/SciPy input (sequential tree solves); "
                         f"use blocks='colour' for {xp.__name__} arrays")
    device = device_of(Q, c, x0)
    Q = check_xp_array(Q, xp, "Q", ndim=2)
    n = Q.shape[0]
    if Q.shape[1] != n:
        raise ValueError(f"Q must be a square matrix, got shape {tuple(Q.shape)}")
    c = check_xp_array(c, xp, "c")
    vector = c.ndim == 1
    C = xp.reshape(c, (n, 1)) if vector else c
    if C.ndim != 2 or C.shape[0] != n:
        raise ValueError(f"c must have shape ({n},) or ({n}, k), got {tuple(c.shape)}")
    dtype = xp.float32 if Q.dtype == xp.float32 and C.dtype == xp.float32 else xp.float64
    Q, C = xp.astype(Q, dtype), xp.astype(C, dtype)
    scale = float(xp.max(xp.abs(Q)))
    if float(xp.max(xp.abs(Q - Q.T))) > (1e-5 if dtype == xp.float32 else 1e-10) * scale:
        raise ValueError("Q must be symmetric (Q != Q.T)")
    diag = xp.linalg.diagonal(Q)
    if bool(xp.any(diag <= 0)):
        raise ValueError("Q must have a positive diagonal (SPD)")
    l1 = float(check_scalar(l1, "l1", (int, float), min_val=0.0))
    lower, upper = _check_bounds(bounds, n, np.float64)
    penalised = l1 > 0 or bool(np.isfinite(lower).any() or np.isfinite(upper).any())
    if acceleration == "cg" and penalised:
        raise ValueError("acceleration='cg' needs a fixed partition and no l1 or bounds")
    lower = xp.asarray(lower[:, None], dtype=dtype, device=device)
    upper = xp.asarray(upper[:, None], dtype=dtype, device=device)
    masks = _colour_masks_xp(xp, Q, dtype, device)
    d = diag[:, None]
    norms = xp.linalg.vector_norm(C, axis=0)
    norms = xp.where(norms > 0, norms, xp.ones_like(norms))

    def prox(v):
        z = xp.sign(v) * xp.clip(xp.abs(v) - l1 / d, min=0.0)
        return xp.minimum(xp.maximum(z, lower), upper)

    def residual(x, g):
        r = g if not penalised else d * (x - prox(x - g / d))
        return float(xp.max(xp.linalg.vector_norm(r, axis=0) / norms))

    def sweep(sequence, x, g):
        for b in sequence:
            step = -g / d if not penalised else prox(x - g / d) - x
            step = masks[b] * step
            x = x + step
            g = g + Q @ step
        return x, g

    if x0 is None:
        x = xp.zeros((n, C.shape[1]), dtype=dtype, device=device)
    else:
        if tuple(x0.shape) != tuple(c.shape):
            raise ValueError(f"x0 must have the shape of c {tuple(c.shape)}")
        x = xp.reshape(xp.astype(x0, dtype), (n, C.shape[1]))
    forward = list(range(len(masks)))
    symmetric = forward + forward[-2::-1]
    recorder = HistoryRecorder()
    g = Q @ x - C
    res = residual(x, g)
    recorder.record(0, residual=res, block_updates=0)
    n_iter, updates, converged = 0, 0, res <= tol
    if acceleration == "cg":
        r = -g
        z, qz = sweep(symmetric, xp.zeros_like(r), -r)
        qz = qz + r
        p, q, rho = z, qz, xp.sum(r * z, axis=0)
        updates = len(symmetric)
    with progress(max_iter, verbose, desc="quadratic_bcd") as bar:
        while not converged and n_iter < max_iter:
            if acceleration == "cg":
                curvature = xp.sum(p * q, axis=0)
                safe = xp.where(curvature > 0, curvature, xp.ones_like(curvature))
                alpha = xp.where(curvature > 0, rho / safe, xp.zeros_like(rho))
                x = x + alpha * p
                r = r - alpha * q
                g = -r
            else:
                x, g = sweep(forward, x, g)
                updates += len(forward)
            n_iter += 1
            res = residual(x, g)
            if res <= tol:
                g = Q @ x - C
                res = residual(x, g)
                converged = res <= tol
                r = -g
            recorder.record(n_iter, residual=res, block_updates=updates)
            bar.update(1)
            if acceleration == "cg" and not converged:
                z, qz = sweep(symmetric, xp.zeros_like(r), -r)
                qz = qz + r
                updates += len(symmetric)
                rho_new = xp.sum(r * z, axis=0)
                safe = xp.where(rho > 0, rho, xp.ones_like(rho))
                beta = xp.where(rho > 0, rho_new / safe, xp.zeros_like(rho))
                rho = rho_new
                p = z + beta * p
                q = qz + beta * q

    problem = _XpProblem(xp, Q, C, vector, l1)
    rule = SimpleNamespace(n_blocks=len(masks))
    return _result(problem, x, n_iter, converged, res, tol, recorder.as_dict(), rule, updates)


class _XpProblem:
    """What :func:`_result` needs of a problem, for the array-namespace path."""

    def __init__(self, xp, Q, C, vector, l1):
        self.xp, self.Q, self.C, self.vector, self.l1 = xp, Q, C, vector, l1

    def objective(self, x):
        xp = self.xp
        value = 0.5 * xp.sum(x * (self.Q @ x)) - xp.sum(self.C * x)
        return np.asarray(float(value + self.l1 * xp.sum(xp.abs(x))))


def _colour_masks_xp(xp, Q, dtype, device):
    """Independent sets of the graph of dense ``Q`` by Jones-Plassmann rounds, as 0/1 columns.

    Every round, an uncoloured node whose (fixed pseudo-random) priority beats those of all its
    uncoloured neighbours joins the round's colour; all of it in the namespace of ``Q``.
    """
    n = Q.shape[0]
    eye = xp.eye(n, dtype=dtype, device=device)
    adjacency = xp.astype(Q != 0, dtype) * (1 - eye)
    priority = xp.asarray(np.random.default_rng(0).permutation(n) + 1.0, dtype=dtype,
                          device=device)
    uncoloured = xp.ones(n, dtype=xp.bool, device=device)
    masks = []
    while bool(xp.any(uncoloured)):
        active = xp.where(uncoloured, priority, xp.zeros_like(priority))
        rival = xp.max(adjacency * active[None, :], axis=1)
        chosen = uncoloured & (active > rival)
        masks.append(xp.astype(chosen, dtype)[:, None])
        uncoloured = uncoloured & ~chosen
    return masks
