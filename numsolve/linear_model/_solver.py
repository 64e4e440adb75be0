"""``bcd``: the low-level block coordinate descent solver (Nutini, Laradji & Schmidt 2022)."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from .._array_api import (array_namespace, backend_of, device_of, from_numpy,
                          require_backend, to_numpy)
from .._progress import progress
from .._result import HistoryRecorder, SolveResult
from .._validation import check_matrix, check_vector, check_xp_array
from ._array_design import ArrayDesign
from ._block_engine import solve_blocks
from ._datafits import Logistic, Quadratic, _Datafit
from ._design import Design
from ._gram_engine import gram_engine_centres, gram_engine_pays, solve_gram_engine
from ._heap_engine import GRAM_NNZ_LIMIT, gram_size_bound, heap_unsupported, solve_heap
from ._partitions import PARTITIONS
from ._penalties import _Penalty
from ._rules import RULES
from ._smooth_route import smooth_route_applies, solve_least_squares_targets, solve_smooth
from .._blas_threads import blas_threads_for
from ._updates import UPDATES
from ._working_set import solve_working_set

__all__ = ["bcd", "least_squares_targets", "updates_per_epoch"]

_AUTO_BLOCK = 64
_ENGINES = ("auto", "block", "heap")
# p0="auto" for dense binary logistic: p // _AUTO_P0_DIVISOR clipped to _AUTO_P0_RANGE
_AUTO_P0_DIVISOR = 16
_AUTO_P0_RANGE = (10, 80)
# The working-set engines run on one BLAS thread on dense X of at most this many
# multiply-adds per product by X (n p K; see numsolve._blas_threads): default threads on 2 loaded cores
# against one, CPU time, best of 5 interleaved: lasso 1000 x 1000 at alpha_max/10 69 / 20 ms,
# L1 LogisticRegression on digits 640 / 441 ms
_SMALL_DENSE_WORK = 2_000_000


def bcd(X, y, datafit, penalty, *, rule="auto", block_size=1, partition="variable",
        update="auto", engine="auto", tol=1e-6, max_iter=None, fit_intercept=False,
        coef_init=None, intercept_init=None, max_epochs=50_000, p0="auto", screening=True,
        gram="auto", random_state=None, verbose=0, check_input=True):
    """Minimise ``f(XW + b) + g(W)`` by block coordinate descent.

    Parameters
    ----------
    X : array or sparse matrix of shape (n_samples, n_features)
        Design. NumPy arrays and SciPy sparse matrices (CSC preferred; never densified) run on
        the compiled kernels; other Array API arrays (CuPy, torch, array_api_strict) on the
        array-code engine, results returned in their namespace and on their device.
    y : array of shape (n_samples,)
        Targets in the datafit's encoding (floats, -1/+1 labels, or class indices 0..K-1).
    datafit : Quadratic, Logistic or Multinomial
        The loss, with its sample weights: least squares, binary logistic (labels -1/+1)
        or multinomial (class indices, ``K`` coefficient columns).
    penalty : NoPenalty, L2, L1, NonNegL1 or L1PlusL2
        The penalty on the coefficients (never on the intercept), with its strength.
    rule : {"auto", "cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq", "gs-q"}
        ``"auto"`` (NumPy/SciPy input): for a smooth penalty (L2 or none, elastic net
        without L1 part) the whole-block second-order route of :mod:`._smooth_route`: one
        Cholesky solve for least squares on dense ``X`` whose smaller side is at most 4000
        (``X'AX + l2 I``, or the dual system when ``p > n``), damped Newton steps on the
        explicit Hessian for the binary logistic loss with an L2 penalty on small dense
        ``X``, trust-region Newton-CG (scipy's ``trust-ncg``) for the other logistic fits
        with at most 256 variables (``(p + 1) K``), L-BFGS above; otherwise greedy GS-q working sets solved by
        compiled proximal coordinate epochs with Anderson extrapolation, then a Newton
        finish on the identified support (the fast path for L1 penalties). Any other rule runs the block engine: one block of
        ``block_size`` coordinates per iteration, chosen by that rule (or, for ``"gs"``,
        ``"gsl"`` and ``"gs-q"`` on single coordinates of least squares, the heap engine, see
        ``engine``). ``"auto"`` on other
        namespaces is the block engine with ``gs-q`` (``gsl`` for smooth penalties), variable
        blocks of up to 64 coordinates and Newton updates.
    block_size : int, default=1
        Coordinates per block (block engine).
    partition : {"variable", "order", "sort", "avg"}, default="variable"
        Variable blocks (any ``block_size`` coordinates) or a fixed partition.
    update : {"auto", "lipschitz", "line-search", "diagonal", "matrix", "newton", "exact", \
            "two-metric"}
        Block update (block engine; ``"auto"`` is ``"lipschitz"``). With ``rule="auto"``,
        ``"lipschitz"`` switches the Newton finish (binary logistic: the proximal Newton
        steps) off.
    engine : {"auto", "block", "heap"}, default="auto"
        ``"heap"``: greedy single-coordinate descent with incremental gradient updates on the
        Gram matrix ``X'AX`` and an indexed max-heap of scores; each update is exact and
        costs ``O(nnz(column) log p)``. It needs NumPy/SciPy input, the Quadratic datafit,
        rule ``"gs"``, ``"gsl"`` or ``"gs-q"``, ``block_size=1``, update ``"auto"``,
        ``"lipschitz"`` or ``"exact"`` (all the exact minimiser here), and a Gram matrix
        whose size bound is at most ``2**24`` entries (``p^2`` for dense ``X`` and for
        sparse ``X`` with an intercept; ``min(p^2, sum_i nnz(row_i)^2)`` for sparse ``X``
        without); ``max_iter`` counts coordinate updates, the gap is checked periodically
        (about every ``min(p, n + 1)`` updates for dense ``X``; :mod:`._heap_engine` gives
        the rule), and ties go to the smallest index. ``"auto"`` takes the heap whenever
        these hold and the block engine otherwise; ``"block"`` always the block engine;
        ``"heap"`` raises ``ValueError`` when they do not hold.
    tol : float, default=1e-6
        Stop when the duality gap is at most ``tol * P(0)`` (``P(0)``: objective at zero
        coefficients, with the intercept at its optimum when one is fitted; the scale of
        scikit-learn's ``tol * ||y - mean(y)||^2 / n`` and celer's ``tol * log 2``). With
        an intercept the gap is that of the problem at fixed intercept plus
        ``||sum_i G_i||^2 / (2 bound)``. Without penalty: max KKT violation at most ``tol``.
        The working-set engine returns a point whose certified gap (``extras["gap"]``) is at
        most ``tol * P(0)`` and, where its solve overshoots to below a hundredth of that,
        stepped back toward the previous outer iterate on the exact solution's support
        until the gap lies in ``[tol * P(0) / 100, tol * P(0)]`` (the zero pattern is the
        exact solution's; :mod:`._landing`). A smaller ``tol`` asks for a closer point.
    max_iter : int, optional
        Outer iterations (working-set engine, default 100), optimiser iterations (smooth
        route, default 100; a direct solve counts one), block updates (block engine,
        default 10000) or coordinate updates (heap engine, default 10000).
    fit_intercept : bool, default=False
        Fit an unpenalised intercept per class.
    coef_init : array of shape (n_features,) or (n_features, K), optional
        Warm start.
    intercept_init : float or array of shape (K,), optional
        Warm start of the intercept (with ``fit_intercept``).
    max_epochs : int, default=50000
        Coordinate epochs per working set (working-set engine).
    p0 : int or "auto", default="auto"
        Smallest working set. ``"auto"``: ``p // 16`` clipped to [10, 80] for the binary
        logistic datafit on dense ``X`` (a proximal Newton step costs about the same on 10
        features as on 80 there, and larger first sets save outer iterations: 2000 x 500 and
        200 x 5000 need 25-40 % fewer epochs), 10 otherwise.
    screening : bool, default=True
        Gap-safe screening in the working-set engine (L1 penalties), once the gap is below
        ``P(0)/100``: features proved zero at the solution are dropped for good; the
        history's ``n_screened`` counts them.
    gram : {"auto", True, False}, default="auto"
        Least squares in the working-set engine (``rule="auto"``, NumPy/SciPy input): solve a
        working set on its Gram matrix ``X_S' A X_S`` (kept and grown between working sets),
        so an epoch costs ``O(|S|^2)`` instead of reading every stored entry of ``X[:, S]``.
        ``"auto"`` takes it when those entries number at least four times the Gram's
        (tall data: ``n >= 4 |S|`` for dense ``X``) and ``|S| <= 3000``; ``True`` always,
        ``False`` never. On dense ``X`` with ``n >= 4 m`` and ``m <= 3000`` (``m``: the
        features, plus one for a fitted intercept), ``"auto"`` and ``True`` run the whole
        loop on the Gram: gradients, objective and gap are read from ``X' A X`` and
        ``X' A y``, and ``X`` is read only for ``X' A y``, the column norms and the features
        that never entered a working set (screening is not run there). Other datafits ignore
        ``"auto"`` and reject ``True``. ``True`` also keeps smooth least-squares problems on
        the working-set engine instead of the direct solve.
    random_state : int, RandomState or None
        For the random, Lipschitz-sampling and variable cyclic rules.
    verbose : int, default=0
        Positive: a progress bar with the current gap.
    check_input : bool, default=True
        Validate ``X`` and ``y``. False skips the dense checks for callers that ran them
        already (the estimators, through scikit-learn's ``validate_data``): a NumPy ``X``
        must then be a finite float32 or float64 matrix and ``y`` a finite vector of
        length ``n_samples``; sparse ``X`` is still brought to canonical CSC form (CSR
        input stays CSR on the smooth route).

    Returns
    -------
    SolveResult
        ``x``: coefficients, shape (n_features,) or (n_features, K); extras ``intercept``,
        ``gap`` (final stopping criterion, objective scale), ``threshold`` (``tol`` on that
        scale), ``objective``, ``engine`` (``"smooth"``, ``"working-set"``, ``"block"`` or
        ``"heap"``), ``route`` (smooth route: ``"cholesky"``, ``"dual-cholesky"``,
        ``"lstsq"``, ``"sparse-cholesky"``, ``"cg"``, ``"dual-cg"``, ``"newton"``,
        ``"trust-ncg"`` or ``"lbfgs"``; working-set engine: ``"gram"``,
        ``"columns"`` or ``"mixed"``, how its working sets were solved, see ``gram``; None
        otherwise), ``epochs``, ``key_updates`` (heap engine: scores recomputed, summed over updates);
        history ``objective``, ``gap``, ``kkt`` (and ``n_screened`` for the working-set
        engine; on the smooth route the per-iteration ``gap`` is the gradient's estimate
        described in :mod:`._smooth_route`, the last record the duality gap itself).

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model import bcd, Quadratic, L1
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 20)); w = np.zeros(20); w[:3] = [1.0, -2.0, 3.0]
    >>> res = bcd(X, X @ w, Quadratic(), L1(0.01))
    >>> res.converged, int(np.count_nonzero(res.x))
    (True, 3)
    """
    _check_options(datafit, penalty, rule, block_size, partition, update, engine, tol,
                   max_iter, max_epochs, p0, fit_intercept, screening, gram, check_input)
    gram = gram if isinstance(gram, str) else bool(gram)
    xp = array_namespace(X, y)
    backend = require_backend(xp, {"compiled", "generic"}, "bcd")
    heap_reason = heap_unsupported(datafit, rule, block_size, update, backend)
    if engine == "heap" and heap_reason is not None:
        raise ValueError(f"engine='heap': {heap_reason}")
    rng = check_random_state(random_state)
    if backend == "compiled":
        if check_input or sp.issparse(X):
            X = check_matrix(X, "X", accept_sparse=True,
                             sparse_format=_sparse_format(X, datafit, penalty, rule, engine, gram))
        n, p = X.shape
        y_host = (check_vector(y, n, "y", dtype=np.float64) if check_input
                  else np.asarray(y, dtype=np.float64))
        dtype = X.dtype
    else:
        X = check_xp_array(X, xp, "X", ndim=2)
        n, p = X.shape
        y = check_xp_array(y, xp, "y", ndim=1, shape=(n,))
        y_host = to_numpy(y).astype(np.float64)
        dtype = X.dtype
    y_enc = datafit.encode(y_host)
    K = datafit.n_tasks(y_enc)
    W0, b0 = _initial(coef_init, intercept_init, p, K)
    recorder = HistoryRecorder()
    use_heap = engine != "block" and heap_reason is None
    if use_heap:
        a = datafit.weights(n, np, np.float64)
        bound = gram_size_bound(X, a, fit_intercept)
        if bound > GRAM_NNZ_LIMIT:
            if engine == "heap":
                raise ValueError(f"engine='heap': the Gram matrix may hold {bound} entries, "
                                 f"more than the limit {GRAM_NNZ_LIMIT}")
            use_heap = False
    key_updates = route = None
    if use_heap:
        X, shift = _centred(X, a, fit_intercept)
        X = sp.csc_matrix(X, dtype=np.float64) if sp.issparse(X) else \
            np.asfortranarray(X, dtype=np.float64)
        w = np.ascontiguousarray(W0[:, 0])
        b = b0[0] if shift is None else b0[0] + shift @ w
        with progress(max_iter or 10_000, verbose, desc="bcd", unit="update") as bar:
            w, b, n_iter, converged, crit, primal, threshold, key_updates = solve_heap(
                X, y_enc, a, penalty, w, b, rule=rule, tol=tol, max_iter=max_iter or 10_000,
                fit_intercept=fit_intercept, recorder=recorder, bar=bar)
        if shift is not None:
            b = b - shift @ w
        engine, epochs, update = "heap", None, "exact"
        coef = w.reshape(-1, 1).astype(dtype, copy=False)
        intercept = np.array([b], dtype=dtype)
    elif backend == "compiled" and rule == "auto" and engine != "block" and \
            gram is not True and smooth_route_applies(X, datafit, penalty):
        a = datafit.weights(n, np, np.float64)
        X, shift = _centred(X, a, fit_intercept)
        W = W0
        b = b0 if shift is None else b0 + shift @ W0
        with progress(max_iter or 100, verbose, desc="bcd", unit="iteration") as bar:
            solved = solve_smooth(X, y_enc, a, datafit, penalty, W, b,
                                  fit_intercept=fit_intercept, tol=tol,
                                  max_iter=max_iter or 100, recorder=recorder, bar=bar)
        n_iter, converged, epochs = solved.n_iter, solved.converged, None
        crit, primal, threshold = solved.criterion, solved.primal, solved.threshold
        engine, route = "smooth", solved.method
        if shift is not None:
            b = b - shift @ W
        coef = W.astype(dtype, copy=False)
        intercept = b.astype(dtype, copy=False)
    elif backend == "compiled" and rule == "auto" and engine != "block":
        a = datafit.weights(n, np, np.float64)
        on_gram = gram_engine_pays(X, datafit, K, fit_intercept, gram)
        X, shift = ((X, None) if gram_engine_centres(X, datafit, K, fit_intercept, gram)
                    else _centred(X, a, fit_intercept))
        W = W0
        b = b0 if shift is None else b0 + shift @ W0
        work = np.inf if sp.issparse(X) else X.size * K
        with (progress(max_iter or 100, verbose, desc="bcd", unit="outer") as bar,
              blas_threads_for(work, _SMALL_DENSE_WORK)):
            options = dict(fit_intercept=fit_intercept, tol=tol, max_iter=max_iter or 100,
                           max_epochs=max_epochs, p0=_first_working_set(p0, datafit, X),
                           recorder=recorder, bar=bar)
            if on_gram:
                solved = solve_gram_engine(X, y_enc, a, penalty, W, b, **options)
            else:
                solved = solve_working_set(Design(X), y_enc, a, datafit, penalty, W, b,
                                           newton=update != "lipschitz", screening=screening,
                                           gram=gram, **options)
        n_iter, converged, epochs = solved.n_iter, solved.converged, solved.epochs
        crit, primal, threshold = solved.criterion, solved.primal, solved.threshold
        route = _route_name(solved.gram_solves, solved.n_iter)
        engine = "working-set"
        if shift is not None:
            b = b - shift @ W
        coef = W.astype(dtype, copy=False)
        intercept = b.astype(dtype, copy=False)
    else:
        device = device_of(X)
        if backend == "compiled":
            xp_work, X_work = xp, X
            float_dtype = xp.float64 if dtype == np.float64 else xp.float32
        else:
            xp_work, X_work, float_dtype = xp, X, X.dtype
        y_work = xp_work.asarray(y_enc, dtype=float_dtype, device=device)
        a = datafit.weights(n, xp_work, float_dtype, device)
        design = ArrayDesign(X_work, xp_work, K)
        if rule == "auto":
            rule = "gsl" if penalty.smooth else "gs-q"
            block_size = min(p * K, max(block_size, _AUTO_BLOCK))
            update = "newton" if update == "auto" else update
        update = "lipschitz" if update == "auto" else update
        shift = None
        if fit_intercept and not sp.issparse(X_work):  # centred columns, as above
            shift = xp_work.sum(xp_work.reshape(a, (-1, 1)) * X_work, axis=0)
            X_work = X_work - shift
            design = ArrayDesign(X_work, xp_work, K)
        w = xp_work.asarray(W0.reshape(-1), dtype=float_dtype, device=device)
        b = xp_work.asarray(b0, dtype=float_dtype, device=device)
        if shift is not None:
            b = b + shift @ xp_work.reshape(w, (p, K))
        with progress(max_iter or 10_000, verbose, desc="bcd", unit="block") as bar:
            w, b, n_iter, converged, crit, primal, threshold = solve_blocks(
                design, y_work, a, datafit, penalty, w, b, xp=xp_work, rule=rule,
                partition=partition, block_size=block_size, update=update, tol=tol,
                max_iter=max_iter or 10_000, rng=rng, fit_intercept=fit_intercept,
                recorder=recorder, bar=bar)
        engine, epochs = "block", None
        coef = xp_work.reshape(w, (p, K))
        if shift is not None:
            b = b - shift @ coef
        intercept = b
    if K == 1:
        coef = coef[:, 0]
    message = _outcome(converged, crit, threshold, n_iter, penalty)
    if backend == "compiled":
        coef = from_numpy(coef, xp)
    return SolveResult(
        x=coef, n_iter=int(n_iter), converged=bool(converged), message=message,
        history=recorder.as_dict(),
        extras={"intercept": intercept if K > 1 else intercept[0], "gap": float(crit),
                "threshold": float(threshold), "objective": float(primal), "engine": engine,
                "route": route, "epochs": epochs, "rule": rule, "update": update, "key_updates": key_updates})


def least_squares_targets(X, Y, datafit, penalty, *, fit_intercept=False, tol=1e-6):
    """:func:`bcd`'s smooth route for least squares on every column of ``Y`` at once.

    One factorisation serves all targets, where :func:`bcd` on each column would
    factorise once per column; each column's result is the one :func:`bcd` returns for it
    (its own stopping scale, gap and history).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense, finite, float32 or float64 (checked by the caller, as for :func:`bcd` with
        ``check_input=False``), its smaller side at most 4000.
    Y : ndarray of shape (n_samples, n_targets)
        Finite targets.
    datafit : Quadratic
        With its sample weights.
    penalty : L2 or NoPenalty
    fit_intercept : bool, default=False
    tol : float, default=1e-6
        As for :func:`bcd`: each column's result says whether its gap meets it.

    Returns
    -------
    list of SolveResult
        One per column of ``Y``, as :func:`bcd` describes it (``n_iter`` one).
    """
    a = datafit.weights(X.shape[0], np, np.float64)
    X_centred, shift = _centred(X, a, fit_intercept)
    recorders = [HistoryRecorder() for _ in range(Y.shape[1])]
    W, b, solved = solve_least_squares_targets(
        X_centred, np.asarray(Y, dtype=np.float64), a, datafit, penalty,
        fit_intercept=fit_intercept, tol=tol, recorders=recorders)
    if shift is not None:
        b = b - shift @ W
    return [SolveResult(
        x=W[:, k].astype(X.dtype), n_iter=1, converged=result.converged,
        message=_outcome(result.converged, result.criterion, result.threshold, 1, penalty),
        history=recorder.as_dict(),
        extras={"intercept": X.dtype.type(b[k]), "gap": result.criterion,
                "threshold": result.threshold, "objective": result.primal, "engine": "smooth",
                "route": result.method, "epochs": None, "rule": "auto", "update": "auto",
                "key_updates": None})
        for k, (result, recorder) in enumerate(zip(solved, recorders))]


def _outcome(converged, crit, threshold, n_iter, penalty):
    """The result's message; a ConvergenceWarning when the criterion was not met."""
    if not converged:
        warnings.warn(
            f"bcd did not converge: gap {crit:.3e} > tol * P(0) = {threshold:.3e} "
            f"(objective scale) after {n_iter} iterations; raise max_iter or tol",
            ConvergenceWarning, stacklevel=3)
    return ("duality gap below tolerance" if converged and penalty.has_dual else
            "KKT violation below tolerance" if converged else "iteration budget exhausted")


def updates_per_epoch(X, n_tasks=1, rule="auto", block_size=1):
    """How many of :func:`bcd`'s iterations make one pass over all coefficients.

    The estimators count ``max_iter`` and ``n_iter_`` in such passes (epochs), as
    scikit-learn's linear models do, whatever engine runs.

    Parameters
    ----------
    X : array or sparse matrix of shape (n_samples, n_features)
    n_tasks : int, default=1
        Columns of the coefficients (classes of the multinomial loss).
    rule, block_size : as for :func:`bcd` (the default engine)

    Returns
    -------
    int
        1 for the working-set engine (each outer iteration takes the full gradient, a pass
        over every coefficient); otherwise the blocks that cover all coefficients once.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model._solver import updates_per_epoch
    >>> updates_per_epoch(np.ones((5, 20)), rule="cyclic", block_size=3)
    7
    """
    n_coefs = X.shape[1] * n_tasks
    if rule == "auto":
        if backend_of(array_namespace(X)) == "compiled":
            return 1
        block_size = min(n_coefs, max(block_size, _AUTO_BLOCK))
    return -(-n_coefs // block_size)


def _route_name(gram_solves, n_solves):
    """How the working sets were solved: all on the Gram, none, or some."""
    if gram_solves == 0:
        return "columns"
    return "gram" if gram_solves == n_solves else "mixed"


def _sparse_format(X, datafit, penalty, rule, engine, gram):
    """The sparse format ``X`` is checked into: CSR when the caller's ``X`` is CSR and the
    smooth route takes it (whose products by ``X`` and ``X'`` take either format: on
    scipy.sparse.random 2000 x 20000 at density 1e-3 a product pair costs 75 us in CSR,
    250 us in CSC, and the conversion 170 us), CSC (the kernels' format) otherwise."""
    if (sp.issparse(X) and X.format == "csr" and rule == "auto" and engine != "block"
            and gram is not True and smooth_route_applies(X, datafit, penalty)):
        return "csr"
    return "csc"


def _centred(X, a, fit_intercept):
    """Dense ``X`` with an intercept: centred columns (decouples the intercept; float64, one
    Fortran-ordered copy) and the shift; otherwise ``X`` unchanged and ``None``."""
    if not fit_intercept or sp.issparse(X):
        return X, None
    if X.dtype == np.float64:
        shift = a @ X
        return np.subtract(X, shift, order="F"), shift
    X = np.asfortranarray(X, dtype=np.float64)  # first: the product would convert it again
    shift = a @ X
    X -= shift
    return X, shift


def _initial(coef_init, intercept_init, p, K):
    W = np.zeros((p, K))
    b = np.zeros(K)
    if coef_init is not None:
        c = np.asarray(to_numpy(coef_init), dtype=np.float64)
        if c.size != p * K:
            raise ValueError(f"coef_init has shape {c.shape}, expected ({p},) or ({p}, {K})")
        if not np.all(np.isfinite(c)):
            raise ValueError("coef_init contains NaN or infinity")
        W[:] = c.reshape(p, K)
    if intercept_init is not None:
        c = np.asarray(to_numpy(intercept_init), dtype=np.float64).reshape(-1)
        if c.size not in (1, K):
            raise ValueError(f"intercept_init has {c.size} entries, expected {K}")
        b[:] = c
    return W, b


def _first_working_set(p0, datafit, X):
    """The smallest working set ``p0`` resolves to (see :func:`bcd`) for the data ``X``."""
    if p0 != "auto":
        return p0
    if isinstance(datafit, Logistic) and not sp.issparse(X):
        return int(np.clip(X.shape[1] // _AUTO_P0_DIVISOR, *_AUTO_P0_RANGE))
    return _AUTO_P0_RANGE[0]


def _check_options(datafit, penalty, rule, block_size, partition, update, engine, tol,
                   max_iter, max_epochs, p0, fit_intercept, screening, gram, check_input):
    if not isinstance(datafit, _Datafit):
        raise TypeError(f"datafit must be Quadratic, Logistic or Multinomial, got {datafit!r}")
    if not isinstance(penalty, _Penalty):
        raise TypeError(
            f"penalty must be NoPenalty, L2, L1, NonNegL1 or L1PlusL2, got {penalty!r}")
    if rule not in ("auto", *RULES):
        raise ValueError(f"rule must be one of {('auto', *RULES)}, got {rule!r}")
    if update not in ("auto", *UPDATES):
        raise ValueError(f"update must be one of {('auto', *UPDATES)}, got {update!r}")
    if engine not in _ENGINES:
        raise ValueError(f"engine must be one of {_ENGINES}, got {engine!r}")
    if partition not in PARTITIONS:
        raise ValueError(f"partition must be one of {PARTITIONS}, got {partition!r}")
    if not (gram == "auto" or isinstance(gram, (bool, np.bool_))):
        raise ValueError(f"gram must be 'auto', True or False, got {gram!r}")
    if gram is True and not (isinstance(datafit, Quadratic) and rule == "auto"
                             and engine != "block"):
        raise ValueError("gram=True needs the Quadratic datafit and the working-set engine "
                         "(rule='auto', engine other than 'block')")
    if update == "exact" and not isinstance(datafit, Quadratic):
        raise ValueError("update='exact' needs the Quadratic datafit")
    checked = [("block_size", block_size, 1), ("max_epochs", max_epochs, 1)]
    if not (isinstance(p0, str) and p0 == "auto"):
        checked.append(("p0", p0, 1))
    for name, value, low in checked:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if max_iter is not None and (isinstance(max_iter, bool) or not isinstance(max_iter, Integral)
                                 or max_iter < 1):
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    if isinstance(tol, bool) or not isinstance(tol, Real) or not tol >= 0:
        raise ValueError(f"tol must be a non-negative number, got {tol!r}")
    for name, flag in (("fit_intercept", fit_intercept), ("screening", screening),
                       ("check_input", check_input)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool, got {flag!r}")
