"""Robust alternating minimisation for matrix completion (Gu, Song, Yin, Zhang, 2023)."""

from numbers import Integral

import numpy as np

from .._array_api import array_namespace, is_dask_collection, require_backend
from .._validation import check_random_state, check_scalar
from ._alternating import altmin_compiled, check_altmin_params
from ._generic import altmin_generic

__all__ = ["altmin"]


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
        array). NumPy and SciPy inputs run the compiled kernels; other Array API arrays
        (array_api_strict, torch, CuPy) run the namespace-generic dense path on their device.
        A dask DataFrame of ``(row, col, value)`` triples, or a dask Array with NaN for
        missing entries, runs on a Dask cluster (see ``client``).
    rank : int
        Rank ``k`` of the factorisation, ``1 <= k <= min(m, n)``.
    reg : float, default=0.0
        Ridge weight. ``0`` for exact recovery of noiseless data; positive for noisy data.
    reg_scaling : {"count", "none"} or float in [0, 1], default="count"
        ``"count"`` scales the ridge of a row (column) by its number of observations
        (ALS-WR, as Spark MLlib does; best on ratings without biases); ``"none"`` uses ``reg``
        for all rows; a number ``a`` scales it by ``(n_i / n_mean) ** a``, where ``n_mean`` is
        the mean count of that side's rows with observations (``0.375``, between the two, is
        the estimator's default).
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
    The row kernels run on OpenMP threads (``OMP_NUM_THREADS``, or a threadpoolctl limit);
    small problems run on one. On a machine shared with other busy processes, fewer threads
    avoid OpenMP threads waiting on each other. The result does not depend on the count. Each half-step is
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
    return altmin_compiled(M, rank, init=init, validation=validation,
                           observe_zeros=observe_zeros, rng=rng, **params)


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
