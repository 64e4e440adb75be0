"""Alternating minimisation in plain Array API code, for every namespace but NumPy.

Runs on the caller's device (CuPy on its GPU, torch, array_api_strict) with dense arrays: the
observed matrix is a dense array with NaN for missing entries and the mask is a 0/1 array.
Per-row regressions are batched: ``"exact"`` forms all the k x k Gram matrices with one
matrix product and solves them with one batched ``linalg.solve``; ``"cg"`` and ``"sketched"``
both run batched warm-started CG with the sampling-model preconditioner (a per-row CountSketch
is a gather pattern that dense array code does not gain from), O(m n k) per step.
"""


import numpy as np

from .._array_api import array_namespace, device_of, from_numpy
from .._validation import check_xp_array
from ._init import TRIM_FACTOR, check_given_factors, check_init
from ._observed import check_rank
from ._rows import row_ridge
from ._stopping import SweepLog

__all__ = ["altmin_generic", "exact_half_step"]


def _observed_arrays(M, xp, name):
    M = check_xp_array(M, xp, name, ndim=2, allow_nan=True)
    observed = ~xp.isnan(M)
    filled = xp.where(observed, M, xp.zeros_like(M))
    mask = xp.astype(observed, M.dtype)
    if float(xp.sum(mask)) == 0.0:
        raise ValueError(f"{name} has no observed entries")
    return mask, filled


def exact_half_step(xp, mask, filled, fixed, lam):
    """All rows at once: Gram matrices by one product, one batched solve."""
    n_rows, k = mask.shape[0], fixed.shape[1]
    outer = xp.reshape(fixed[:, :, None] * fixed[:, None, :], (fixed.shape[0], k * k))
    gram = xp.reshape(mask @ outer, (n_rows, k, k))
    rhs = filled @ fixed
    eye = xp.eye(k, dtype=fixed.dtype, device=device_of(fixed))
    trace = xp.sum(gram * eye, axis=(1, 2))
    empty = trace == 0.0
    tiny = xp.where(lam > 0.0, lam, 1e-12 * trace / k)
    ridge = xp.where(empty, xp.ones_like(trace), tiny)
    gram = gram + ridge[:, None, None] * eye
    rhs = xp.where(empty[:, None], xp.zeros_like(rhs), rhs)
    return xp.linalg.solve(gram, rhs[:, :, None])[:, :, 0]


def _cg_half_step(xp, mask, filled, fixed, start, lam, inner_iter):
    """Batched warm-started CG, preconditioned by the sampling-model Gram estimate."""
    counts_fixed = xp.sum(mask, axis=0)
    counts_rows = xp.sum(mask, axis=1)
    nnz = xp.sum(counts_rows)
    gram = (fixed.T * counts_fixed[None, :]) @ fixed / nnz
    scale, basis = xp.linalg.eigh(gram)
    F = fixed @ basis
    x = start @ basis
    diag = counts_rows[:, None] * xp.clip(scale, 0.0, None)[None, :] + lam[:, None]
    diag = xp.where(diag > 0.0, diag, xp.ones_like(diag))

    def normal(p):
        return (mask * (p @ F.T)) @ F + lam[:, None] * p

    r = filled @ F - normal(x)
    z = r / diag
    p = z
    rz = xp.sum(r * z, axis=1)
    for _ in range(inner_iter):
        q = normal(p)
        pq = xp.sum(p * q, axis=1)
        alpha = xp.where(pq > 0.0, rz / xp.where(pq > 0.0, pq, xp.ones_like(pq)), 0.0 * pq)
        x = x + alpha[:, None] * p
        r = r - alpha[:, None] * q
        z = r / diag
        rz_new = xp.sum(r * z, axis=1)
        beta = xp.where(rz > 0.0, rz_new / xp.where(rz > 0.0, rz, xp.ones_like(rz)), 0.0 * rz)
        rz = rz_new
        p = z + beta[:, None] * p
    empty = counts_rows == 0.0
    x = xp.where(empty[:, None], xp.zeros_like(x), x)
    return x @ basis.T


def _spectral_init(xp, mask, filled, rank):
    m = mask.shape[0]
    p = xp.sum(mask) / (mask.shape[0] * mask.shape[1])
    left, sing, right_t = xp.linalg.svd(filled / p, full_matrices=False)
    left, sing, right_t = left[:, :rank], sing[:rank], right_t[:rank, :]
    norms = xp.linalg.vector_norm(left, axis=1)
    too_long = norms > TRIM_FACTOR * (rank / m) ** 0.5
    Q, R = xp.linalg.qr(xp.where(too_long[:, None], xp.zeros_like(left), left))
    inner_left, inner_sing, inner_right_t = xp.linalg.svd(R * sing[None, :])
    root = xp.sqrt(inner_sing)
    return (Q @ inner_left) * root[None, :], (right_t.T @ inner_right_t.T) * root[None, :]


def _start(xp, init, mask, filled, rank, rng, device):
    """``init`` (checked by :func:`check_init`) made into factors on ``device``."""
    m, n = mask.shape
    if isinstance(init, tuple):
        U = xp.asarray(init[0], dtype=filled.dtype, device=device)
        V = xp.asarray(init[1], dtype=filled.dtype, device=device)
        check_given_factors(U, V, (m, n), rank, xp)
        return U, V
    if init == "svd":
        return _spectral_init(xp, mask, filled, rank)
    p = float(xp.sum(mask)) / (m * n)
    scale = (float(xp.linalg.vector_norm(filled)) / (p * rank) ** 0.5) ** 0.5
    U, _ = np.linalg.qr(rng.standard_normal((m, rank)))
    U = xp.astype(from_numpy(U * scale, xp, device), filled.dtype)
    return U, xp.zeros((n, rank), dtype=filled.dtype, device=device)


def altmin_generic(M, rank, *, init, validation, rng, bias, reg, reg_scaling, max_iter, tol,
                   solver, inner_iter, sketch_size, verbose):
    """The Array API path of :func:`numsolve.completion.altmin` (same parameters)."""
    check_init(init)
    xp = array_namespace(M)
    device = device_of(M, validation)
    mask, filled = _observed_arrays(M, xp, "M")
    rank = check_rank(rank, tuple(mask.shape))
    val = None
    if validation is not None:
        val = _observed_arrays(xp.astype(validation, filled.dtype), xp, "validation")
        if tuple(val[0].shape) != tuple(mask.shape):
            raise ValueError(
                f"validation has shape {tuple(val[0].shape)}, expected {tuple(mask.shape)}"
            )
    U, V = _start(xp, init, mask, filled, rank, rng, device)
    lam_rows = row_ridge(xp.sum(mask, axis=1), reg, reg_scaling)
    lam_cols = row_ridge(xp.sum(mask, axis=0), reg, reg_scaling)
    nnz = float(xp.sum(mask))
    data_rms = (float(xp.sum(filled * filled)) / nnz) ** 0.5
    row_bias = xp.zeros_like(lam_rows) if bias else None
    col_bias = xp.zeros_like(lam_cols) if bias else None
    orthonormalize = reg == 0.0 and not bias
    with SweepLog(max_iter=max_iter, tol=tol, data_rms=data_rms, verbose=verbose) as log:
        for _ in range(max_iter):
            if orthonormalize:
                U, R = xp.linalg.qr(U)
                V = V @ R.T
            V, col_bias = _half_step(xp, mask.T, filled.T, U, V, lam_cols, solver, inner_iter,
                                     col_bias, row_bias)
            if orthonormalize:
                V, R = xp.linalg.qr(V)
                U = U @ R.T
            U, row_bias = _half_step(xp, mask, filled, V, U, lam_rows, solver, inner_iter,
                                     row_bias, col_bias)
            estimate = U @ V.T
            if bias:
                estimate = estimate + row_bias[:, None] + col_bias[None, :]
            rmse = (float(xp.sum(mask * (estimate - filled) ** 2)) / nnz) ** 0.5
            figures = {}
            if val is not None:
                figures["validation_rmse"] = (
                    float(xp.sum(val[0] * (estimate - val[1]) ** 2)) / float(xp.sum(val[0]))
                ) ** 0.5
            if log.finished(rmse, **figures):
                break
    return log.result(U, V, solver=solver, row_bias=row_bias, col_bias=col_bias)


def _half_step(xp, mask, filled, fixed, start, lam, solver, inner_iter, own_bias, other_bias):
    """One side's regressions; with biases, as in the compiled path, the fixed side gains a
    column of ones and the solved side's bias is the last unknown. Returns (rows, bias)."""
    if own_bias is not None:
        filled = mask * (filled - other_bias[None, :])
        fixed = xp.concat([fixed, xp.ones_like(fixed[:, :1])], axis=1)
        start = xp.concat([start, own_bias[:, None]], axis=1)
    if solver == "exact":
        solved = exact_half_step(xp, mask, filled, fixed, lam)
    else:
        solved = _cg_half_step(xp, mask, filled, fixed, start, lam, inner_iter)
    if own_bias is None:
        return solved, None
    return solved[:, :-1], solved[:, -1]
