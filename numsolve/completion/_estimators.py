"""scikit-learn estimator for matrix completion: fit, entry prediction, fold-in, imputation."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._array_api import (
    array_namespace,
    check_same_namespace,
    device_of,
    estimator_namespace,
    from_numpy,
    is_dask_collection,
    is_numpy,
)
from ._bias import fit_biases, fit_biases_dense, row_bias_sparse
from ._distributed import (
    as_triples,
    cluster_size,
    count_and_shape,
    default_client,
    fit_biases_distributed,
    fit_on_one_worker,
    plan_blocks,
)
from ._generic import exact_half_step
from ._numba import exact_rows
from ._numba import predict_entries as entry_kernel
from ._observed import check_observed, check_rank, sparse_to_index_arrays
from ._rows import SOLVERS, row_ridge
from ._solver import altmin
from ._threads import kernel_threads

__all__ = ["MatrixCompletion"]


class MatrixCompletion(TransformerMixin, BaseEstimator):
    """Low-rank matrix completion by robust alternating minimisation.

    Models entry ``(i, j)`` as ``intercept_ + row_bias_[i] + column_bias_[j] +
    row_factors_[i] . components_[:, j]`` and fits it to the observed entries with
    :func:`numsolve.completion.altmin`. Rows of ``X`` are the matrix rows (users), columns its
    columns (items); missing entries are NaN in a dense ``X`` or absent from a sparse one.
    As an imputer, ``transform`` returns ``X`` with its missing entries filled, so the estimator
    drops into a :class:`~sklearn.pipeline.Pipeline`.

    Parameters
    ----------
    rank : int, default=10
        Rank of the factorisation.
    reg : float, default=0.0
        Ridge weight of the factors (see ``reg_scaling``).
    reg_scaling : {"count", "none"}, default="count"
        ``"count"`` multiplies the ridge of each row and column by its number of observations
        (ALS-WR, Spark MLlib's choice, best on ratings); ``"none"`` uses ``reg`` as is.
    bias : {"none", "global", "full"}, default="none"
        Baseline of the model: nothing, the global mean, or the mean plus row and column
        biases (recommended for ratings). ``"full"`` starts from shrunk means
        ``b_i = sum(residual) / (n_i + bias_reg)`` and then fits the biases jointly with the
        factors (``altmin(..., bias=True)``), under the factors' ridge.
    bias_reg : float, default=10.0
        Shrinkage of the starting row and column biases of ``bias="full"``.
    solver : {"cg", "sketched", "exact"}, default="cg"
        Row regression solver, see :func:`numsolve.completion.altmin`.
    max_iter : int, default=100
        Maximum sweeps.
    tol : float, default=1e-6
        Relative change of the training RMSE that stops the sweeps.
    init : {"svd", "random"}, default="svd"
        Starting factors (ignored when ``warm_start`` reuses a previous fit).
    inner_iter : int, default=3
        Maximum CG steps per row and half-step of the approximate solvers.
    sketch_size : int, optional
        CountSketch rows of the ``"sketched"`` solver (default ``4 * rank``).
    observe_zeros : bool, default=False
        Whether explicitly stored zeros of a sparse ``X`` are observations.
    warm_start : bool, default=False
        Start from the previous fit's factors when the shape and rank agree.
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
    client : distributed.Client, optional
        Cluster used when ``X`` is a dask DataFrame of ``(row, col, value)`` triples (default:
        the current Dask client); the entries stay on its workers.

    Attributes
    ----------
    row_factors_ : ndarray of shape (n_rows, rank)
    components_ : ndarray of shape (rank, n_features_in_)
        Column factors, transposed (as in :class:`~sklearn.decomposition.NMF`).
    intercept_ : float
    row_bias_ : ndarray of shape (n_rows,)
    column_bias_ : ndarray of shape (n_features_in_,)
    n_iter_ : int
    history_ : dict of ndarray
        Per sweep: ``rmse`` (training) and ``validation_rmse`` when ``X_valid`` was given.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.completion import MatrixCompletion, make_low_rank
    >>> problem = make_low_rank(60, 40, 2, density=0.5, random_state=0)
    >>> X = problem.observed_dense()
    >>> model = MatrixCompletion(rank=2, random_state=0).fit(X)
    >>> filled = model.transform(X)
    >>> bool(np.abs(filled - problem.matrix).max() < 1e-4)
    True
    >>> model.predict_entries([0, 1], [3, 4]).shape
    (2,)
    """

    _parameter_constraints = {
        "rank": [Interval(Integral, 1, None, closed="left")],
        "reg": [Interval(Real, 0, None, closed="left")],
        "reg_scaling": [StrOptions({"count", "none"})],
        "bias": [StrOptions({"none", "global", "full"})],
        "bias_reg": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions(set(SOLVERS))],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "init": [StrOptions({"svd", "random"})],
        "inner_iter": [Interval(Integral, 1, None, closed="left")],
        "sketch_size": [Interval(Integral, 1, None, closed="left"), None],
        "observe_zeros": ["boolean"],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "client": "no_validation",
    }

    def __init__(self, rank=10, *, reg=0.0, reg_scaling="count", bias="none", bias_reg=10.0,
                 solver="cg", max_iter=100, tol=1e-6, init="svd", inner_iter=3,
                 sketch_size=None, observe_zeros=False, warm_start=False, random_state=None,
                 verbose=0, client=None):
        self.rank = rank
        self.reg = reg
        self.reg_scaling = reg_scaling
        self.bias = bias
        self.bias_reg = bias_reg
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.inner_iter = inner_iter
        self.sketch_size = sketch_size
        self.observe_zeros = observe_zeros
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.client = client

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.array_api_support = True
        return tags

    def _validate(self, X, reset):
        xp = estimator_namespace(X)
        return validate_data(
            self, X, accept_sparse=["csr", "csc", "coo"], dtype=[xp.float64, xp.float32],
            ensure_all_finite="allow-nan", reset=reset,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, X_valid=None):
        """Fit the factors (and biases) to the observed entries of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features) with NaN for missing, sparse matrix, or \
dask DataFrame
            The observations; a dask DataFrame of ``(row, col, value)`` triples (or a dask
            Array with NaN) is fitted on the Dask cluster of ``client``.
        y : None
            Ignored.
        X_valid : array-like or sparse matrix of the same shape, optional
            Held-out entries whose RMSE is recorded in ``history_`` every sweep.

        Returns
        -------
        self
        """
        kwargs = dict(
            reg=self.reg, reg_scaling=self.reg_scaling, max_iter=self.max_iter, tol=self.tol,
            solver=self.solver, inner_iter=self.inner_iter, sketch_size=self.sketch_size,
            random_state=self.random_state, verbose=self.verbose,
        )
        if is_dask_collection(X):
            return self._fit_dask(X, X_valid, kwargs)
        xp = estimator_namespace(X)
        X = self._validate(X, reset=True)
        if not is_numpy(xp):
            return self._fit_generic(xp, X, X_valid, kwargs)
        obs = check_observed(X, "X", observe_zeros=self.observe_zeros)
        rank = check_rank(self.rank, obs.shape)
        mu, row_bias, col_bias, residual = fit_biases(obs, self.bias, self.bias_reg)
        valid = None
        if X_valid is not None:
            valid = check_observed(X_valid, "X_valid", observe_zeros=self.observe_zeros,
                                   dtype=obs.dtype)
            coo = valid.tocoo()
            valid.data = (coo.data - mu - row_bias[coo.row] - col_bias[coo.col]).astype(
                obs.dtype)
        result = altmin(residual, rank, init=self._init_for(obs.shape, rank), validation=valid,
                        observe_zeros=True, bias=self.bias == "full", **kwargs)
        self._store(result, mu, row_bias, col_bias)
        return self

    def _fit_dask(self, X, X_valid, kwargs):
        if X_valid is not None:
            raise ValueError("X_valid is not available with dask input")
        client = self.client if self.client is not None else default_client()
        triples = as_triples(X)
        shape, _, _, _, nnz = count_and_shape(client, triples)
        rank = check_rank(self.rank, shape)
        n_workers, memory_limit = cluster_size(client)
        if plan_blocks(nnz, n_workers, memory_limit=memory_limit) == 1:
            local = type(self)(**{**self.get_params(deep=False), "client": None,
                                  "observe_zeros": True})
            if self.warm_start and hasattr(self, "row_factors_"):
                local.__dict__.update(self._fitted_state())
            fitted = fit_on_one_worker(client, triples, shape, np.dtype(triples["value"].dtype),
                                       _fit_estimator, local).result()
            self.__dict__.update(fitted._fitted_state())
            if not self.converged_:
                warnings.warn(f"altmin did not converge in {self.n_iter_} sweeps",
                              ConvergenceWarning, stacklevel=3)
            return self
        mu, row_bias, col_bias, residual, shape = fit_biases_distributed(
            client, triples, self.bias, self.bias_reg)
        result = altmin(residual, rank, init=self._init_for(shape, rank),
                        bias=self.bias == "full", client=client, **kwargs)
        self.n_features_in_ = shape[1]
        self._store(result, mu, row_bias, col_bias)
        return self

    def _fitted_state(self):
        return {name: value for name, value in vars(self).items()
                if name.endswith("_") and not name.startswith("_")}

    def _fit_generic(self, xp, X, X_valid, kwargs):
        mask = xp.astype(~xp.isnan(X), X.dtype)
        filled = xp.where(mask > 0, X, xp.zeros_like(X))
        mu, row_bias, col_bias, residual = fit_biases_dense(
            xp, mask, filled, self.bias, self.bias_reg)
        valid = None
        if X_valid is not None:
            valid = xp.asarray(X_valid, dtype=X.dtype)
            valid = valid - mu - row_bias[:, None] - col_bias[None, :]
        rank = check_rank(self.rank, tuple(X.shape))
        result = altmin(residual, rank, init=self._init_for(tuple(X.shape), rank),
                        validation=valid, bias=self.bias == "full", **kwargs)
        self._store(result, mu, row_bias, col_bias)
        return self

    def _init_for(self, shape, rank):
        if self.warm_start and hasattr(self, "row_factors_"):
            U, V = self.row_factors_, self.components_.T
            if tuple(U.shape) == (shape[0], rank) and tuple(V.shape) == (shape[1], rank):
                return (U, V)
        return self.init

    def _store(self, result, mu, row_bias, col_bias):
        self.row_factors_ = result.U
        self.components_ = result.V.T
        self.intercept_ = mu
        if self.bias == "full":
            row_bias = row_bias + result.row_bias
            col_bias = col_bias + result.col_bias
        self.row_bias_ = row_bias
        self.column_bias_ = col_bias
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self.history_ = result.history

    def predict_entries(self, rows, cols):
        """Predict the entries ``(rows[t], cols[t])`` of the fitted matrix.

        Parameters
        ----------
        rows : array-like of int of shape (n_entries,)
            Row indices of the fitted matrix.
        cols : array-like of int of shape (n_entries,)
            Column indices.

        Returns
        -------
        ndarray of shape (n_entries,)
        """
        check_is_fitted(self)
        xp = array_namespace(self.row_factors_)
        U, V = self.row_factors_, self.components_.T
        rows = _index_array(rows, U.shape[0], "rows")
        cols = _index_array(cols, V.shape[0], "cols")
        if rows.shape != cols.shape:
            raise ValueError(f"rows and cols differ in length: {rows.shape} and {cols.shape}")
        if not is_numpy(xp):
            device = device_of(U)
            r, c = from_numpy(rows, xp, device), from_numpy(cols, xp, device)
            products = xp.sum(xp.take(U, r, axis=0) * xp.take(V, c, axis=0), axis=1)
            return (products + self.intercept_ + xp.take(self.row_bias_, r)
                    + xp.take(self.column_bias_, c))
        out = np.empty(rows.shape[0], dtype=U.dtype)
        with kernel_threads(rows.shape[0] * U.shape[1]):
            entry_kernel(rows, cols, U, np.ascontiguousarray(V), out)
        return out + (self.intercept_ + self.row_bias_[rows] + self.column_bias_[cols])

    def fold_in(self, X):
        """Row factors and row biases of new rows with the column factors held fixed.

        Each new row's ridge regression on its observed entries is solved exactly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_) with NaN, or sparse matrix

        Returns
        -------
        factors : ndarray of shape (n_samples, rank)
        row_bias : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        check_same_namespace(X, self, "components_", "fold_in")
        X = self._validate(X, reset=False)
        return self._fold_in(X)

    def _fold_in(self, X):
        obs = _observed_or_empty(X, self.observe_zeros)
        V = np.ascontiguousarray(self.components_.T, dtype=obs.dtype)
        col_bias = np.asarray(self.column_bias_, dtype=obs.dtype)
        mu = obs.dtype.type(self.intercept_)
        row_bias = (row_bias_sparse(obs, mu, col_bias, self.bias_reg) if self.bias == "full"
                    else np.zeros(obs.shape[0], dtype=obs.dtype))
        coo = obs.tocoo()
        residual = (coo.data - mu - row_bias[coo.row] - col_bias[coo.col]).astype(obs.dtype)
        indptr, indices, _ = sparse_to_index_arrays(obs)
        lam = row_ridge(np.diff(indptr), float(self.reg), self.reg_scaling)
        if self.bias == "full":
            V = np.ascontiguousarray(np.hstack([V, np.ones((V.shape[0], 1), dtype=V.dtype)]))
        factors = np.empty((obs.shape[0], V.shape[1]), dtype=obs.dtype)
        with kernel_threads(indices.shape[0] * V.shape[1]):
            exact_rows(indptr, indices, residual, V, lam, factors)
        if self.bias == "full":
            return np.ascontiguousarray(factors[:, :-1]), row_bias + factors[:, -1]
        return factors, row_bias

    def transform(self, X):
        """Fill the missing entries of ``X`` from the model (observed entries are kept).

        New rows are folded in (:meth:`fold_in`) and completed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_) with NaN, or sparse matrix

        Returns
        -------
        ndarray of shape (n_samples, n_features_in_)
            Dense, in ``X``'s dtype.
        """
        check_is_fitted(self)
        check_same_namespace(X, self, "components_", "transform")
        xp = estimator_namespace(X)
        X = self._validate(X, reset=False)
        if not is_numpy(xp):
            return self._transform_generic(xp, X)
        factors, row_bias = self._fold_in(X)
        full = (factors @ self.components_.astype(factors.dtype) + self.intercept_
                + row_bias[:, None] + self.column_bias_[None, :]).astype(factors.dtype)
        if sp.issparse(X):
            coo = sp.coo_matrix(X)
            keep = coo.data != 0 if not self.observe_zeros else slice(None)
            full[coo.row[keep], coo.col[keep]] = coo.data[keep]
        else:
            observed = ~np.isnan(X)
            full[observed] = X[observed]
        return full

    def _transform_generic(self, xp, X):
        mask = xp.astype(~xp.isnan(X), X.dtype)
        filled = xp.where(mask > 0, X, xp.zeros_like(X))
        V = xp.astype(self.components_.T, X.dtype)
        centred = mask * (filled - self.intercept_ - self.column_bias_[None, :])
        counts = xp.sum(mask, axis=1)
        if self.bias == "full":
            row_bias = xp.sum(centred, axis=1) / (counts + self.bias_reg + 1e-300)
        else:
            row_bias = xp.zeros_like(counts)
        residual = centred - mask * row_bias[:, None]
        lam = self.reg * counts if self.reg_scaling == "count" else self.reg + 0.0 * counts
        if self.bias == "full":
            augmented = xp.concat([V, xp.ones_like(V[:, :1])], axis=1)
            solved = exact_half_step(xp, mask, residual, augmented, lam)
            factors, row_bias = solved[:, :-1], row_bias + solved[:, -1]
        else:
            factors = exact_half_step(xp, mask, residual, V, lam)
        full = (factors @ V.T + self.intercept_ + row_bias[:, None]
                + self.column_bias_[None, :])
        return xp.where(mask > 0, X, full)


def _fit_estimator(matrix, estimator):
    """Fit ``estimator`` to a sparse ``matrix`` on a Dask worker (warnings left to the client)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(matrix)


def _observed_or_empty(X, observe_zeros):
    """CSR of the observed entries of new rows; a matrix with no observation is allowed."""
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        if X.nnz == 0:
            return sp.csr_matrix(X.shape, dtype=X.dtype)
    elif np.all(np.isnan(X)):
        return sp.csr_matrix(X.shape, dtype=X.dtype)
    return check_observed(X, "X", observe_zeros=observe_zeros)


def _index_array(index, size, name):
    array = np.asarray(index)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of indices, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= size):
        raise ValueError(f"{name} holds indices outside [0, {size})")
    return array.astype(np.int64)
