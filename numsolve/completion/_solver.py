"""Robust alternating minimisation for matrix completion (Gu, Song, Yin, Zhang, 2023)."""

from numbers import Integral, Real

import numpy as np

from .._array_api import array_namespace, is_dask_collection, require_backend
from .._progress import progress
from .._result import HistoryRecorder
from .._validation import check_random_state, check_scalar
from ._generic import altmin_generic
from ._init import random_init, spectral_init
from ._numba import observed_squared_error, predict_entries
from ._observed import check_observed, check_rank, sparse_to_index_arrays
from ._rows import SOLVERS, row_ridge, solve_rows
from ._stopping import altmin_result, stop_reason
from ._threads import kernel_threads

__all__ = ["altmin", "check_altmin_params", "entry_rmse"]


def altmin(M, rank, *, reg=0.0, reg_scaling="count", bias=False, max_iter=100, tol=1e-6,
           solver="cg", init="svd", inner_iter=3, sketch_size=None, validation=None,
           observe_zeros=False, random_state=None, verbose=0, client=None,
           keep_factors=False):
    """Complete a low-rank matrix from some of its entries by alternating minimisation.

    Finds ``U`` (m x k) and ``V`` (n x k) minimising
    ``sum_{(i,j) observed} (U_i . V_j - M_ij)^2 + sum_i lam_i |U_i|^2 + sum_j lam_j |V_j|^2``
    by alternately solving the ridge regressions of every column (``V`` with ``U`` fixed) and
    of every row (``U`` with ``V`` fixed). As Gu, Song, Yin and Zhang (arXiv:2302.11068) show,
    each regression may be solved approximately: with the default ``solver="cg"`` a sweep
    costs ``O(|Omega| k)`` instead of the ``O(|Omega| k^2)`` of exact normal equations.

    Parameters
    ----------
    M : array of shape (m, n) with NaN for missing entries, or sparse matrix
        The observed entries (stored entries of a sparse matrix; non-NaN entries of a dense
        array). NumPy and SciPy inputs run the Numba kernels; other Array API arrays
        (array_api_strict, torch, CuPy) run the namespace-generic dense path on their device.
        A dask DataFrame of ``(row, col, value)`` triples, or a dask Array with NaN for
        missing entries, runs on a Dask cluster (see ``client``).
    rank : int
        Rank ``k`` of the factorisation, ``1 <= k <= min(m, n)``.
    reg : float, default=0.0
        Ridge weight. ``0`` for exact recovery of noiseless data; positive for noisy data.
    reg_scaling : {"count", "none"}, default="count"
        ``"count"`` scales the ridge of a row (column) by its number of observations
        (ALS-WR, as Spark MLlib does; best on ratings); ``"none"`` uses ``reg`` for all rows.
    bias : bool, default=False
        Also fit a row offset ``b`` and a column offset ``c`` jointly with the factors, so that
        ``M_ij ~ U_i . V_j + b_i + c_j`` (each regression gains one unknown; the offsets share
        the rows' ridge). Centre ``M`` by its mean first.
    max_iter : int, default=100
        Maximum number of sweeps (one sweep updates ``V`` then ``U``).
    tol : float, default=1e-6
        Stop when the observed-entry RMSE changes by less than ``tol`` relative to its previous
        value, or falls below ``tol`` times the RMS of the observations.
    solver : {"cg", "sketched", "exact"}, default="cg"
        How each row's regression is solved. ``"cg"``: at most ``inner_iter`` warm-started CG
        steps on the row's normal equations, each ``O(|Omega_i| k)``, preconditioned by the Gram
        matrix expected under the sampling pattern (one k x k eigendecomposition per half-step);
        ``O(|Omega| k)`` per sweep whatever the row lengths, the robust approximate update of the
        paper's analysis. ``"sketched"``: the paper's sketch-and-precondition solver, a
        CountSketch of ``sketch_size`` rows per regression whose Cholesky factor preconditions
        warm-started CG (rows with at most ``sketch_size`` observations are solved exactly);
        its O(k^3) per row pays only when rows hold many more than k^2 observations.
        ``"exact"``: Cholesky of each row's normal equations, ``O(|Omega| k^2 + (m + n) k^3)``.
    init : {"svd", "random"} or tuple (U0, V0), default="svd"
        ``"svd"``: top-k SVD of the rescaled observations with the rows of ``U`` trimmed
        (incoherence projection); ``"random"``: random orthonormal ``U``; a tuple gives the
        starting factors (warm start).
    inner_iter : int, default=3
        Maximum CG steps per row and half-step for ``"sketched"`` and ``"cg"``.
    sketch_size : int, optional
        CountSketch rows for ``"sketched"``; default ``4 * rank``.
    validation : array or sparse matrix of shape (m, n), optional
        Held-out entries (same format as ``M``); their RMSE is recorded every sweep.
    observe_zeros : bool, default=False
        Whether explicitly stored zeros of a sparse ``M`` (and ``validation``) are observations.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and the sketches.
    verbose : int, default=0
        Show a progress bar when positive.
    client : distributed.Client, optional
        For dask input: the cluster to run on (default: the current client). The entries are
        shuffled once into row and column blocks held by the workers, every block is solved
        where it lives, and only the factors travel (see
        :func:`numsolve.completion._distributed.altmin_distributed`). ``validation`` is not
        available with dask input.
    keep_factors : bool, default=False
        For dask input: return ``U`` and ``V`` (and the biases) as dask arrays whose data stays
        on the workers, instead of NumPy arrays.

    Returns
    -------
    SolveResult
        ``x`` and ``U``: the row factors (m, k); ``V``: the column factors (n, k); ``rmse``:
        final observed-entry RMSE; ``history``: ``rmse``, ``validation_rmse`` (when given)
        and ``cg_steps`` per sweep; ``row_bias`` and ``col_bias`` when ``bias`` is set. Arrays
        are in ``M``'s namespace and on its device.

    Raises
    ------
    ValueError
        If ``rank`` exceeds ``min(m, n)``, an observed value is infinite, or a parameter is out
        of range.

    Notes
    -----
    The row kernels run on Numba's thread pool (``NUMBA_NUM_THREADS`` threads, all cores by
    default); on a machine shared with other busy processes, fewer threads or Numba's
    ``workqueue`` threading layer avoid OpenMP threads waiting on each other. Each half-step is
    :func:`numsolve.completion.solve_rows` on the CSR (rows) or CSC (columns) arrays: blocks
    of rows can be solved independently, which is the seam for distributed solves.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.completion import altmin, make_low_rank
    >>> problem = make_low_rank(60, 50, 2, density=0.5, random_state=0)
    >>> result = altmin(problem.observed, 2, random_state=0)
    >>> error = result.U @ result.V.T - problem.matrix
    >>> bool(np.linalg.norm(error) < 1e-5 * np.linalg.norm(problem.matrix))
    True
    """
    if is_dask_collection(M):
        return _altmin_on_dask(M, rank, client=client, validation=validation, init=init,
                               observe_zeros=observe_zeros, random_state=random_state,
                               bias=bias, reg=reg, reg_scaling=reg_scaling, max_iter=max_iter,
                               tol=tol, solver=solver, inner_iter=inner_iter,
                               sketch_size=sketch_size, verbose=verbose,
                               keep_factors=keep_factors)
    if keep_factors:
        raise ValueError("keep_factors applies to dask input only")
    xp = array_namespace(M, validation)
    backend = require_backend(xp, ("compiled", "generic"), "altmin")
    params = check_altmin_params(
        bias=bias, reg=reg, reg_scaling=reg_scaling, max_iter=max_iter, tol=tol, solver=solver,
        inner_iter=inner_iter, sketch_size=sketch_size, verbose=verbose,
    )
    rng = check_random_state(random_state)
    if backend == "generic":
        return altmin_generic(M, rank, init=init, validation=validation, rng=rng, **params)
    X = check_observed(M, "M", observe_zeros=observe_zeros)
    rank = check_rank(rank, X.shape)
    val = None
    if validation is not None:
        val = check_observed(validation, "validation", observe_zeros=observe_zeros,
                             dtype=X.dtype)
        if val.shape != X.shape:
            raise ValueError(f"validation has shape {val.shape}, expected {X.shape}")
    U, V = _starting_factors(init, X, rank, rng)
    return _altmin_compiled(X, U, V, val, rng, **params)


def _altmin_on_dask(M, rank, *, client, validation, init, observe_zeros, random_state,
                    keep_factors, **params):
    from ._distributed import altmin_distributed, default_client

    if validation is not None:
        raise ValueError("validation is not available with dask input; score held-out "
                         "entries with the returned factors")
    if observe_zeros:
        raise ValueError("observe_zeros applies to sparse matrices, not to dask triples")
    params = check_altmin_params(**params)
    check_scalar(rank, "rank", Integral, min_val=1)
    client = client if client is not None else default_client()
    dtype = np.float32 if np.dtype(getattr(M, "dtype", np.float64)) == np.float32 else np.float64
    return altmin_distributed(M, rank, client=client, init=init, dtype=dtype,
                              random_state=check_random_state(random_state),
                              keep_factors=keep_factors, **params)


def check_altmin_params(*, bias, reg, reg_scaling, max_iter, tol, solver, inner_iter,
                        sketch_size, verbose):
    """Validate the scalar parameters of :func:`altmin`; return them as a dict."""
    check_scalar(reg, "reg", Real, min_val=0.0)
    check_scalar(max_iter, "max_iter", Integral, min_val=1)
    check_scalar(tol, "tol", Real, min_val=0.0)
    check_scalar(inner_iter, "inner_iter", Integral, min_val=1)
    if sketch_size is not None:
        check_scalar(sketch_size, "sketch_size", Integral, min_val=1)
    if reg_scaling not in ("count", "none"):
        raise ValueError(f"reg_scaling must be 'count' or 'none', got {reg_scaling!r}")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    return dict(bias=bool(bias), reg=float(reg), reg_scaling=reg_scaling,
                max_iter=int(max_iter), tol=float(tol), solver=solver, inner_iter=int(inner_iter),
                sketch_size=sketch_size, verbose=verbose)


def _starting_factors(init, X, rank, rng):
    if isinstance(init, tuple):
        if len(init) != 2:
            raise ValueError("init as a tuple must be (U0, V0)")
        U = np.array(init[0], dtype=X.dtype, order="C")
        V = np.array(init[1], dtype=X.dtype, order="C")
        if U.shape != (X.shape[0], rank) or V.shape != (X.shape[1], rank):
            raise ValueError(
                f"init factors have shapes {U.shape} and {V.shape}, expected "
                f"{(X.shape[0], rank)} and {(X.shape[1], rank)}"
            )
        if not (np.all(np.isfinite(U)) and np.all(np.isfinite(V))):
            raise ValueError("init factors contain NaN or infinity")
        return U, V
    if init == "svd":
        return spectral_init(X, rank, rng)
    if init == "random":
        return random_init(X, rank, rng)
    raise ValueError(f"init must be 'svd', 'random' or a tuple (U0, V0), got {init!r}")


def _orthonormalize(fixed, other):
    """QR of the fixed factor; the other factor absorbs ``R`` so ``U V^T`` is unchanged."""
    Q, R = np.linalg.qr(fixed)
    return np.ascontiguousarray(Q), np.ascontiguousarray(other @ R.T)


def _with_column(F, column):
    return np.ascontiguousarray(np.hstack([F, column.astype(F.dtype)[:, None]]))


def _biased_factors(U, V, row_bias, col_bias):
    """``(U | b | 1)`` and ``(V | 1 | c)``: their products are ``U V^T + b 1^T + 1 c^T``."""
    U_aug = _with_column(_with_column(U, row_bias), np.ones(U.shape[0]))
    V_aug = _with_column(_with_column(V, np.ones(V.shape[0])), col_bias)
    return U_aug, V_aug


def _half_step(arrays, fixed, start, lam, fixed_counts, options, own_bias=None,
               other_bias=None):
    """Solve one side; with biases the fixed side gains a column of ones and the data lose
    the fixed side's bias, and the solved side's bias is the last unknown of its rows."""
    indptr, indices, data = arrays
    if own_bias is None:
        return solve_rows(indptr, indices, data, fixed, start, lam,
                          fixed_counts=fixed_counts, **options)
    data = (data - other_bias[indices]).astype(data.dtype)
    fixed = _with_column(fixed, np.ones(fixed.shape[0]))
    start = _with_column(start, own_bias)
    solved, steps = solve_rows(indptr, indices, data, fixed, start, lam,
                               fixed_counts=fixed_counts, **options)
    return (np.ascontiguousarray(solved[:, :-1]), np.ascontiguousarray(solved[:, -1])), steps


def _altmin_compiled(X, U, V, val, rng, *, bias, reg, reg_scaling, max_iter, tol, solver,
                     inner_iter, sketch_size, verbose):
    dtype = X.dtype
    rows = sparse_to_index_arrays(X)
    cols = sparse_to_index_arrays(X.tocsc())
    sketch_rng = np.random.default_rng(rng.randint(0, 2**31 - 1))
    options = dict(solver=solver, inner_iter=inner_iter, sketch_size=sketch_size,
                   random_state=sketch_rng)
    row_counts, col_counts = np.diff(rows[0]), np.diff(cols[0])
    lam_rows = row_ridge(row_counts, reg, reg_scaling)
    lam_cols = row_ridge(col_counts, reg, reg_scaling)
    row_bias = np.zeros(X.shape[0], dtype=dtype) if bias else None
    col_bias = np.zeros(X.shape[1], dtype=dtype) if bias else None
    orthonormalize = reg == 0.0 and not bias
    data_rms = float(np.sqrt(np.mean(X.data.astype(np.float64) ** 2)))
    val_entries = _entries(val) if val is not None else None
    recorder = HistoryRecorder()
    previous = np.inf
    converged = False
    message = f"reached max_iter={max_iter} sweeps"
    sweep = 0
    with progress(max_iter, verbose, desc="altmin", unit="sweep") as bar:
        for sweep in range(1, max_iter + 1):
            if orthonormalize:
                U, V = _orthonormalize(U, V)
            V, steps_v = _half_step(cols, U, V, lam_cols, row_counts, options, col_bias,
                                    row_bias)
            if bias:
                V, col_bias = V
            if orthonormalize:
                V, U = _orthonormalize(V, U)
            U, steps_u = _half_step(rows, V, U, lam_rows, col_counts, options, row_bias,
                                    col_bias)
            if bias:
                U, row_bias = U
            U, V = U.astype(dtype, copy=False), V.astype(dtype, copy=False)
            U_eval, V_eval = (_biased_factors(U, V, row_bias, col_bias) if bias else (U, V))
            with kernel_threads(X.nnz * U.shape[1]):
                squared_error = observed_squared_error(*rows, U_eval, V_eval)
            rmse = float(np.sqrt(squared_error / X.nnz))
            figures = {"rmse": rmse, "cg_steps": steps_u + steps_v}
            if val_entries is not None:
                figures["validation_rmse"] = entry_rmse(U_eval, V_eval, *val_entries)
            recorder.record(sweep, **figures)
            bar.update(1)
            bar.set_postfix(rmse=f"{rmse:.3e}")
            verdict = stop_reason(rmse, previous, tol, data_rms)
            if verdict is not None:
                converged, message = verdict
                break
            previous = rmse
    return altmin_result(U, V, rmse=rmse, solver=solver, n_iter=sweep, converged=converged,
                         message=message, history=recorder.as_dict(), row_bias=row_bias,
                         col_bias=col_bias)


def _entries(X):
    coo = X.tocoo()
    return coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data


def entry_rmse(U, V, rows, cols, values):
    """Root mean squared error of ``U V^T`` on the entries ``(rows, cols, values)``."""
    pred = np.empty(rows.shape[0], dtype=U.dtype)
    with kernel_threads(rows.shape[0] * U.shape[1]):
        predict_entries(rows, cols, np.ascontiguousarray(U), np.ascontiguousarray(V), pred)
    diff = pred.astype(np.float64) - values
    return float(np.sqrt(np.mean(diff * diff)))

