"""Alternating minimisation on one machine: the compiled half-steps and the sweep loop.

:func:`half_step` (one side's ridge regressions, biases included) is what every Dask worker runs
on its block too, so the distributed driver imports it from here, as it imports
:func:`altmin_compiled` for problems that fit one worker.
"""

from numbers import Integral, Real
from typing import NamedTuple

import numpy as np

from .._validation import check_scalar
from ._entries import observed_squared_error, predict_entries
from ._init import check_given_factors, check_init, random_init, spectral_init
from ._observed import check_observed, check_rank, sparse_to_index_arrays
from ._rows import SOLVERS, row_ridge, solve_rows
from ._stopping import SweepLog
from ._threads import kernel_threads

__all__ = ["altmin_compiled", "biased_factors", "check_altmin_params", "entry_rmse",
           "half_step", "orthonormalize"]


def altmin_compiled(M, rank, *, init, validation, observe_zeros, rng, **params):
    """:func:`numsolve.completion.altmin` on NumPy/SciPy input, ``params`` already checked."""
    check_init(init)
    X = check_observed(M, "M", observe_zeros=observe_zeros)
    rank = check_rank(rank, X.shape)
    val = None
    if validation is not None:
        val = check_observed(validation, "validation", observe_zeros=observe_zeros,
                             dtype=X.dtype)
        if val.shape != X.shape:
            raise ValueError(f"validation has shape {val.shape}, expected {X.shape}")
    U, V = _starting_factors(init, X, rank, rng)
    return _sweeps(X, U, V, val, rng, **params)


def check_altmin_params(*, bias, reg, reg_scaling, max_iter, tol, solver, inner_iter,
                        sketch_size, verbose):
    """Validate the scalar parameters of :func:`altmin`; return them as a dict."""
    check_scalar(reg, "reg", Real, min_val=0.0)
    check_scalar(max_iter, "max_iter", Integral, min_val=1)
    check_scalar(tol, "tol", Real, min_val=0.0)
    check_scalar(inner_iter, "inner_iter", Integral, min_val=1)
    if sketch_size is not None:
        check_scalar(sketch_size, "sketch_size", Integral, min_val=1)
    if isinstance(reg_scaling, str):
        if reg_scaling not in ("count", "none"):
            raise ValueError(f"reg_scaling must be 'count', 'none' or a number in [0, 1], "
                             f"got {reg_scaling!r}")
    else:
        check_scalar(reg_scaling, "reg_scaling", Real, min_val=0.0, max_val=1.0)
        reg_scaling = float(reg_scaling)
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    return dict(bias=bool(bias), reg=float(reg), reg_scaling=reg_scaling,
                max_iter=int(max_iter), tol=float(tol), solver=solver, inner_iter=int(inner_iter),
                sketch_size=sketch_size, verbose=verbose)


def _starting_factors(init, X, rank, rng):
    """``init`` (checked by :func:`check_init`) made into factors of ``X``'s dtype."""
    if isinstance(init, tuple):
        U = np.array(init[0], dtype=X.dtype, order="C")
        V = np.array(init[1], dtype=X.dtype, order="C")
        check_given_factors(U, V, X.shape, rank)
        return U, V
    if init == "svd":
        return spectral_init(X, rank, rng)
    return random_init(X, rank, rng)


def orthonormalize(fixed, other):
    """QR of the fixed factor; the other factor absorbs ``R`` so ``U V^T`` is unchanged."""
    Q, R = np.linalg.qr(fixed)
    return np.ascontiguousarray(Q), np.ascontiguousarray(other @ R.T)


def _with_column(F, column):
    return np.ascontiguousarray(np.hstack([F, column.astype(F.dtype)[:, None]]))


def biased_factors(U, V, row_bias, col_bias):
    """``(U | b | 1)`` and ``(V | 1 | c)``: their products are ``U V^T + b 1^T + 1 c^T``."""
    U_aug = _with_column(_with_column(U, row_bias), np.ones(U.shape[0]))
    V_aug = _with_column(_with_column(V, np.ones(V.shape[0])), col_bias)
    return U_aug, V_aug


def half_step(arrays, fixed, start, lam, fixed_counts, options, own_bias=None,
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


class _Side(NamedTuple):
    """One side's regressions: its entries as index arrays (CSR for the rows, CSC for the
    columns), its ridge per row, and the other side's counts of observed entries."""

    arrays: tuple
    lam: np.ndarray
    fixed_counts: np.ndarray


def _solve_side(side, fixed, moving, own_bias, other_bias, options, keep_orthonormal):
    """Half a sweep: ``moving`` solved with ``fixed`` held, ``fixed`` made orthonormal first
    when ``keep_orthonormal``. Returns ``fixed``, ``moving``, ``own_bias`` and the CG steps."""
    if keep_orthonormal:
        fixed, moving = orthonormalize(fixed, moving)
    moving, steps = half_step(side.arrays, fixed, moving, side.lam, side.fixed_counts, options,
                              own_bias, other_bias)
    if own_bias is not None:
        moving, own_bias = moving
    return fixed, moving, own_bias, steps


def _sweeps(X, U, V, val, rng, *, bias, reg, reg_scaling, max_iter, tol, solver,
                     inner_iter, sketch_size, verbose):
    dtype = X.dtype
    rows = sparse_to_index_arrays(X)
    cols = sparse_to_index_arrays(X.tocsc())
    sketch_rng = np.random.default_rng(rng.randint(0, 2**31 - 1))
    options = dict(solver=solver, inner_iter=inner_iter, sketch_size=sketch_size,
                   random_state=sketch_rng)
    row_counts, col_counts = np.diff(rows[0]), np.diff(cols[0])
    row_side = _Side(rows, row_ridge(row_counts, reg, reg_scaling), col_counts)
    col_side = _Side(cols, row_ridge(col_counts, reg, reg_scaling), row_counts)
    row_bias = np.zeros(X.shape[0], dtype=dtype) if bias else None
    col_bias = np.zeros(X.shape[1], dtype=dtype) if bias else None
    keep_orthonormal = reg == 0.0 and not bias
    data_rms = float(np.sqrt(np.mean(X.data.astype(np.float64) ** 2)))
    val_entries = _entries(val) if val is not None else None
    with SweepLog(max_iter=max_iter, tol=tol, data_rms=data_rms, verbose=verbose) as log:
        for _ in range(max_iter):
            U, V, col_bias, steps_v = _solve_side(col_side, U, V, col_bias, row_bias, options,
                                                  keep_orthonormal)
            V, U, row_bias, steps_u = _solve_side(row_side, V, U, row_bias, col_bias, options,
                                                  keep_orthonormal)
            U, V = U.astype(dtype, copy=False), V.astype(dtype, copy=False)
            U_eval, V_eval = (biased_factors(U, V, row_bias, col_bias) if bias else (U, V))
            squared_error = observed_squared_error(*rows, U_eval, V_eval,
                                                   kernel_threads(X.nnz * U_eval.shape[1]))
            figures = {"cg_steps": steps_u + steps_v}
            if val_entries is not None:
                figures["validation_rmse"] = entry_rmse(U_eval, V_eval, *val_entries)
            if log.finished(float(np.sqrt(squared_error / X.nnz)), **figures):
                break
    return log.result(U, V, solver=solver, row_bias=row_bias, col_bias=col_bias)


def _entries(X):
    coo = X.tocoo()
    return coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data


def entry_rmse(U, V, rows, cols, values):
    """Root mean squared error of ``U V^T`` on the entries ``(rows, cols, values)``."""
    pred = np.empty(rows.shape[0], dtype=U.dtype)
    predict_entries(rows, cols, np.ascontiguousarray(U), np.ascontiguousarray(V), pred,
                    kernel_threads(rows.shape[0] * U.shape[1]))
    diff = pred.astype(np.float64) - values
    return float(np.sqrt(np.mean(diff * diff)))

