"""``lasso_path``: the Lasso along a grid of alphas with warm starts."""

from numbers import Integral

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs

from .._progress import progress
from .._result import HistoryRecorder
from .._validation import check_matrix, check_vector
from ._datafits import Quadratic
from ._design import Design
from ._docstrings import with_shared_text
from ._gram_route import WorkingSetGram
from ._penalties import L1, NonNegL1
from ._solver import bcd, updates_per_epoch
from ._working_set import solve_working_set

__all__ = ["lasso_path"]


@with_shared_text
def lasso_path(X, y, *, eps=1e-3, n_alphas=100, alphas=None, tol=1e-6, max_iter=100,
               positive=False, sample_weight=None, rule="auto", update="auto", block_size=1,
               random_state=None, n_jobs=None, return_n_iter=False):
    """Lasso solutions for a decreasing grid of alphas, each warm-started from the previous.

    Same objective and return values as :func:`sklearn.linear_model.lasso_path` (no
    intercept): ``1/(2n) ||y - Xw||^2 + alpha ||w||_1``.

    Parameters
    ----------
    X : array or sparse matrix of shape (n_samples, n_features)
        Design, float64 or float32; sparse CSC or CSR is never densified.
    y : array of shape (n_samples,)
        Targets.
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the default grid.
    n_alphas : int, default=100
        Number of alphas of the default grid, log-spaced from ``alpha_max`` (the smallest
        alpha with all coefficients zero) down to ``eps * alpha_max``.
    alphas : array-like, optional
        Explicit grid (sorted decreasingly).
    tol : float, default=1e-6
        Duality-gap tolerance relative to ``||y||^2 / (2n)`` at every alpha.
    max_iter : int, default=100
        Epochs per alpha, as :class:`Lasso` counts them.
    {positive}
    {sample_weight}
    {rule}
    {update}
    {block_size}
    {random_state}
    n_jobs : int, optional
        Split the grid into ``effective_n_jobs(n_jobs)`` contiguous pieces solved in
        parallel by joblib (threads by default, the compiled kernels release the GIL; any
        active ``joblib.parallel_backend``, e.g. ``"dask"``, is used instead); warm starts
        run within each piece, whose first alpha starts from zero. ``None``: one piece.
    return_n_iter : bool, default=False
        Also return the epochs run at each alpha.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
    coefs : ndarray of shape (n_features, n_alphas)
    dual_gaps : ndarray of shape (n_alphas,)
    n_iters : ndarray of shape (n_alphas,)
        Epochs at each alpha (in :class:`Lasso`'s unit); only with ``return_n_iter=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model import lasso_path
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((30, 8)); y = X[:, 0] - X[:, 1]
    >>> alphas, coefs, gaps = lasso_path(X, y, n_alphas=5)
    >>> coefs.shape, bool(np.all(coefs[:, 0] == 0))
    ((8, 5), True)
    """
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral)
                               or n_jobs == 0):
        raise ValueError(f"n_jobs must be None or a non-zero integer, got {n_jobs!r}")
    X = check_matrix(X, "X", accept_sparse=True, sparse_format="csc")
    n, p = X.shape
    y = check_vector(y, n, "y", dtype=np.float64)
    weights = (np.full(n, 1.0 / n) if sample_weight is None
               else check_vector(sample_weight, n, "sample_weight", dtype=np.float64))
    if alphas is None:
        if not isinstance(n_alphas, (int, np.integer)) or n_alphas < 1:
            raise ValueError(f"n_alphas must be a positive integer, got {n_alphas!r}")
        if not 0 < eps < 1:
            raise ValueError(f"eps must be in (0, 1), got {eps!r}")
        correlation = np.asarray(X.T @ (weights * y)).reshape(-1) / weights.sum()
        alpha_max = float(correlation.max() if positive else np.abs(correlation).max())
        alpha_max = alpha_max if alpha_max > 0 else 1.0
        alphas = alpha_max * np.logspace(0, np.log10(eps), n_alphas)
    else:
        alphas = np.sort(np.asarray(alphas, dtype=float).reshape(-1))[::-1]
        if alphas.size == 0 or np.any(alphas < 0) or not np.all(np.isfinite(alphas)):
            raise ValueError("alphas must be a non-empty array of non-negative numbers")
    datafit = Quadratic(sample_weight=sample_weight)
    n_chunks = min(effective_n_jobs(n_jobs), alphas.size)
    chunks = np.array_split(np.arange(alphas.size), n_chunks)
    options = dict(tol=tol, max_iter=max_iter, positive=positive, rule=rule, update=update,
                   block_size=block_size, random_state=random_state)
    design = Design(X) if rule == "auto" else None
    results = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_solve_chunk)(X, design, y, datafit, alphas[chunk], **options)
        for chunk in chunks)
    coefs = np.concatenate([c for c, _, _ in results], axis=1).astype(X.dtype, copy=False)
    gaps = np.concatenate([g for _, g, _ in results])
    if return_n_iter:
        return alphas, coefs, gaps, np.concatenate([n for _, _, n in results])
    return alphas, coefs, gaps


def _solve_chunk(X, design, y, datafit, alphas, *, tol, max_iter, positive, rule, update,
                 block_size, random_state):
    """Solve a contiguous piece of the grid, each alpha warm-started from the previous one
    (the first from zero); return ``(coefs, gaps, epochs)``."""
    p = X.shape[1]
    coefs = np.zeros((p, alphas.size))
    gaps = np.zeros(alphas.size)
    epochs = np.zeros(alphas.size, dtype=int)
    if design is not None:  # one compiled design, constants and warm iterate for the chunk
        a = datafit.weights(X.shape[0], np, np.float64)
        lips = datafit.bound * design.col_sq_norms(a)
        W, b = np.zeros((p, 1)), np.zeros(1)
        gram_cache = WorkingSetGram(design, a, None)  # grown along the path
        for k, alpha in enumerate(alphas):
            penalty = NonNegL1(alpha) if positive else L1(alpha)
            with progress(max_iter, 0) as bar:
                solved = solve_working_set(
                    design, y, a, datafit, penalty, W, b, fit_intercept=False, tol=tol,
                    max_iter=max_iter, max_epochs=50_000, p0=10, newton=update != "lipschitz",
                    recorder=HistoryRecorder(), bar=bar, lips=lips, gram_cache=gram_cache)
            epochs[k] = solved.n_iter
            coefs[:, k] = W[:, 0]
            gaps[k] = solved.criterion
        return coefs, gaps, epochs
    per_epoch = updates_per_epoch(X, 1, rule, block_size)
    coef = None
    for k, alpha in enumerate(alphas):
        penalty = NonNegL1(alpha) if positive else L1(alpha)
        result = bcd(X, y, datafit, penalty, rule=rule, update=update, block_size=block_size,
                     tol=tol, max_iter=max_iter * per_epoch, coef_init=coef,
                     random_state=random_state)
        coef = result.x
        coefs[:, k] = coef
        gaps[k] = result.gap
        epochs[k] = -(-result.n_iter // per_epoch)
    return coefs, gaps, epochs
