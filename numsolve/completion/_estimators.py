"""scikit-learn estimator for matrix completion: fit, entry prediction, fold-in, imputation."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
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
from ._entries import predict_entries as entry_kernel
from ._generic import exact_half_step
from ._observed import check_observed, check_rank, sparse_to_index_arrays
from ._reg_path import reg_path
from ._row_solves import exact_rows
from ._rows import SOLVERS, count_reference, row_ridge
from ._solver import altmin
from ._threads import kernel_threads

__all__ = ["DEFAULT_REG", "MatrixCompletion"]

# relative ridge of the default model (with reg_scaling=0.375): on seven 90/10 splits of
# MovieLens 100k the mean test RMSE is lowest at 12 (11 and 13 are 0.0004 worse) and rises
# steeply above 14, where the ridge zeroes the weaker factors; reg="auto" picks 12 on all of
# them and on seven more
DEFAULT_REG = 12.0
AUTO_TOL_RIDGE = 1e-4
AUTO_TOL_EXACT = 1e-7
EXACT_MAX_RANK = 16
"""Largest rank for which ``solver="auto"`` takes the exact solver: a Cholesky per row costs
``O(|idx_i| k^2 + k^3)`` against three CG steps' ``O(|idx_i| k)`` plus a call overhead per step,
and measured per sweep the two meet near this rank (rank 10: exact about twice as fast)."""


class MatrixCompletion(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Low-rank matrix completion by robust alternating minimisation.

    Models entry ``(i, j)`` as ``intercept_ + row_bias_[i] + column_bias_[j] +
    row_factors_[i] . components_[:, j]`` and fits it to the observed entries with
    :func:`numsolve.completion.altmin`. Rows of ``X`` are the matrix rows (users), columns its
    columns (items); missing entries are NaN in a dense ``X`` or absent from a sparse one.
    As an imputer, ``transform`` returns ``X`` with its missing entries filled, so the estimator
    drops into a :class:`~sklearn.pipeline.Pipeline`.

    Which settings to use:

    * noisy data such as ratings (the default): a ridge relative to the data's scale, row and
      column biases, a ridge growing slowly with a row's observation count, predictions
      clipped to the observed range. ``MatrixCompletion()`` reaches a test RMSE of 0.904 on
      MovieLens 100k (90/10 split);
    * ``reg="auto"``: the ridge is chosen on ``validation_splits`` disjoint held-out shares
      (``validation_fraction`` each) of the entries passed to ``fit``, walking a factor-2
      grid with warm starts and refining it around its best point (each share's baseline
      fitted without it, predictions clipped as the model's are, the held-out errors of all
      shares pooled); it keeps the ridge nearest to the default whose held-out error is within
      one standard error of the lowest, so that a flat, noisy held-out curve (tables with a
      few ratings per row) leaves the default in place (a move away from it is confirmed by
      carrying both fits further). The model is then fitted to all
      entries as ``reg=reg_`` would be; use it when the noise level is unknown (a
      low-noise table wants a far weaker ridge than ratings do). It costs four to five default
      fits, a little more when a move away from the default is confirmed;
    * ``reg=0``: the noiseless low-rank matrix of the paper's guarantee, recovered exactly
      (to ``tol``) from enough uniformly sampled entries; nothing is clipped.

    Parameters
    ----------
    rank : int, default=10
        Rank of the factorisation.
    reg : float or "auto", default=15.0
        Ridge weight relative to the data's scale: the factorisation (with the biases of
        ``bias="full"``) is fitted to the values it models (the observations less the starting
        baseline) divided by their RMS, ``scale_``, so rescaling ``X`` rescales the model and
        changes nothing else. The default
        suits noisy ratings; ``"auto"`` chooses it (see above); ``0`` fits exactly.
    reg_scaling : {"none", "count"} or float in [0, 1], default=0.375
        How the ridge of a row (column) grows with its number of observations ``n_i``.
        ``"none"``: the same ridge for every row and column (the maximum a posteriori factors
        of probabilistic matrix factorisation); ``"count"``: ``reg * n_i`` (ALS-WR, Spark
        MLlib's choice; best without biases); a number ``a``: ``reg * (n_i / n_mean) ** a``,
        ``n_mean`` being the mean count of that side's rows, so that ``reg`` stays the ridge
        of a typical row. The default ``0.375`` sits between the two, in the spirit of the
        weighted trace norm (Salakhutdinov and Srebro, 2010): well-observed rows and columns
        are shrunk more than by a flat ridge, rarely observed ones less than by ALS-WR. On
        MovieLens 100k (seven 90/10 splits) it lowers the mean test RMSE from 0.9031 (flat
        ridge, the best one for each split) to 0.9009, and from 0.9033 (flat ridge 15) to
        0.9012 on seven further splits not used to choose it (``0.25`` and ``0.5`` do within 0.0004 of it).
    bias : {"full", "global", "none"}, default="full"
        Baseline of the model: the mean plus row and column biases (recommended for ratings),
        the global mean only, or nothing. ``"full"`` starts from shrunk means
        ``b_i = sum(residual) / (n_i + bias_reg)`` and then fits the biases jointly with the
        factors (``altmin(..., bias=True)``), under the factors' ridge; with ``reg=0`` it still
        recovers a noiseless low-rank matrix, which ``"global"`` does not (a matrix less its
        mean has a rank one higher).
    bias_reg : float, default=10.0
        Shrinkage of the starting row and column biases of ``bias="full"``.
    solver : {"auto", "cg", "sketched", "exact"}, default="auto"
        Row regression solver, see :func:`numsolve.completion.altmin`. ``"auto"``:
        ``"exact"`` up to rank 16 (a Cholesky per row is then the cheaper), ``"cg"`` above.
    max_iter : int, default=100
        Maximum sweeps.
    tol : float or "auto", default="auto"
        Relative change of the training RMSE that stops the sweeps. ``"auto"``: ``1e-4`` with
        a ridge (the held-out error settles long before the training RMSE does), ``1e-7``
        with ``reg=0`` (exact recovery converges geometrically).
    clip : bool or "auto", default="auto"
        Clip predictions (``predict_entries`` and the entries ``transform`` fills) to the
        range of the observed values, as rating scales are bounded. ``"auto"`` clips unless
        ``reg=0``, whose exact low-rank fit may rightly leave that range.
    validation_fraction : float, default=0.1
        Share of the observed entries held out by each split of ``reg="auto"``.
    validation_splits : int, default=3
        Disjoint held-out shares whose pooled error chooses ``reg="auto"`` (each ridge is
        fitted once per share). More shares make the choice less noisy on small tables (on
        24 noisy 150 x 100 tables three halve the test-RMSE loss against the best ridge in
        hindsight) at a proportional cost; on MovieLens 100k one and three choose alike.
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
        Seeds the spectral start, the sketches and the held-out entries of ``reg="auto"``.
    verbose : int, default=0
    client : distributed.Client, optional
        Cluster used when ``X`` is a dask DataFrame of ``(row, col, value)`` triples (default:
        the current Dask client); the entries stay on its workers. ``reg="auto"`` needs data
        small enough to be fitted by one task (it is refused for data fitted in blocks).

    Attributes
    ----------
    row_factors_ : ndarray of shape (n_rows, rank)
    components_ : ndarray of shape (rank, ``n_features_in_``)
        Column factors, transposed (as in :class:`~sklearn.decomposition.NMF`).
    intercept_ : float
    row_bias_ : ndarray of shape (n_rows,)
    column_bias_ : ndarray of shape (``n_features_in_``,)
    reg_ : float
        The relative ridge used (``reg``, or the one ``reg="auto"`` chose).
    mean_row_count_ : float
        Mean number of observations of the fitted rows that have any: with a numeric
        ``reg_scaling``, the count whose ridge is ``reg_`` (for :meth:`fold_in` too).
    scale_ : float
        RMS of the values the factorisation models, by which they are divided before
        :func:`~numsolve.completion.altmin` fits them with ridge ``reg_``.
    reg_path_ : dict of ndarray
        With ``reg="auto"``: ``reg`` (the ridges tried, strongest first) and
        ``validation_rmse`` (held-out RMSE at each).
    value_range_ : tuple of float or None
        ``(min, max)`` of the observed values, the clipping range; ``None`` when predictions
        are not clipped.
    n_iter_ : int
    history_ : dict of ndarray
        Per sweep: ``rmse`` (training) and ``validation_rmse`` when ``X_valid`` was given.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Column names of ``X`` when it is a DataFrame with string column names. As with
        scikit-learn's imputers, :meth:`get_feature_names_out` returns them (one output column
        per input column), so ``set_output(transform="pandas")`` gives DataFrames, in a
        Pipeline or ColumnTransformer too.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.completion import MatrixCompletion, make_low_rank
    >>> problem = make_low_rank(60, 40, 2, density=0.5, random_state=0)
    >>> X = problem.observed_dense()
    >>> model = MatrixCompletion(rank=2, reg=0, random_state=0).fit(X)
    >>> filled = model.transform(X)
    >>> bool(np.abs(filled - problem.matrix).max() < 1e-5)
    True
    >>> model.predict_entries([0, 1], [3, 4]).shape
    (2,)
    >>> import pandas as pd
    >>> frame = pd.DataFrame(X, columns=[f"item{j}" for j in range(40)])
    >>> model.set_output(transform="pandas").fit(frame).transform(frame).columns[:2].tolist()
    ['item0', 'item1']
    """

    _parameter_constraints = {
        "rank": [Interval(Integral, 1, None, closed="left")],
        "reg": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "reg_scaling": [StrOptions({"count", "none"}), Interval(Real, 0, 1, closed="both")],
        "bias": [StrOptions({"none", "global", "full"})],
        "bias_reg": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"auto", *SOLVERS})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "clip": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "validation_splits": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"svd", "random"})],
        "inner_iter": [Interval(Integral, 1, None, closed="left")],
        "sketch_size": [Interval(Integral, 1, None, closed="left"), None],
        "observe_zeros": ["boolean"],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "client": "no_validation",
    }

    def __init__(self, rank=10, *, reg=DEFAULT_REG, reg_scaling=0.375, bias="full",
                 bias_reg=10.0, solver="auto", max_iter=100, tol="auto", clip="auto",
                 validation_fraction=0.1, validation_splits=3, init="svd", inner_iter=3, sketch_size=None,
                 observe_zeros=False, warm_start=False, random_state=None, verbose=0,
                 client=None):
        self.rank = rank
        self.reg = reg
        self.reg_scaling = reg_scaling
        self.bias = bias
        self.bias_reg = bias_reg
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.clip = clip
        self.validation_fraction = validation_fraction
        self.validation_splits = validation_splits
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
        options = dict(
            reg_scaling=self.reg_scaling, max_iter=self.max_iter, tol=self._tol(),
            solver=self._row_solver(), inner_iter=self.inner_iter, sketch_size=self.sketch_size,
            verbose=self.verbose,
        )
        if is_dask_collection(X):
            return self._fit_dask(X, X_valid, options)
        xp = estimator_namespace(X)
        X = self._validate(X, reset=True)
        if not is_numpy(xp):
            return self._fit_generic(xp, X, X_valid, options)
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
        scale = _rms(residual.data)
        residual.data /= scale
        if valid is not None:
            valid.data /= scale
        reg = self.reg
        if self._auto_reg():
            path = reg_path(obs, rank, scale=scale, default=DEFAULT_REG,
                            fraction=self.validation_fraction,
                            n_splits=self.validation_splits,
                            rng=check_random_state(self.random_state),
                            bias_kind=self.bias, bias_reg=self.bias_reg, altmin_options={
                                key: options[key] for key in
                                ("reg_scaling", "solver", "inner_iter", "sketch_size")},
                            value_range=self._value_range(obs))
            reg = path.reg
            self.reg_path_ = {"reg": path.grid, "validation_rmse": path.validation_rmse * scale}
        result = altmin(residual, rank, reg=reg, init=self._init_for(obs.shape, rank, scale),
                        validation=valid, observe_zeros=True, bias=self.bias == "full",
                        random_state=self.random_state, **options)
        self._store(result, mu, row_bias, col_bias, reg, scale,
                    (float(obs.data.min()), float(obs.data.max())),
                    count_reference(np.diff(obs.indptr)))
        return self

    def _value_range(self, obs):
        """The observed range where predictions are clipped (``None`` otherwise)."""
        return (float(obs.data.min()), float(obs.data.max())) if self._clips() else None

    def _row_solver(self):
        if self.solver != "auto":
            return self.solver
        return "exact" if self.rank <= EXACT_MAX_RANK else "cg"

    def _auto_reg(self):
        return isinstance(self.reg, str)

    def _tol(self):
        if not isinstance(self.tol, str):
            return self.tol
        return AUTO_TOL_EXACT if not self._auto_reg() and self.reg == 0 else AUTO_TOL_RIDGE

    def _clips(self):
        if not isinstance(self.clip, str):
            return self.clip
        return self._auto_reg() or self.reg != 0

    def _fit_dask(self, X, X_valid, options):
        if X_valid is not None:
            raise ValueError("X_valid is not available with dask input")
        client = self.client if self.client is not None else default_client()
        triples = as_triples(X)
        shape, row_counts, _, _, nnz = count_and_shape(client, triples)
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
        if self._auto_reg():
            raise ValueError("reg='auto' needs data fitted by one task; these are fitted in "
                             "blocks: choose reg on a sample that fits one machine")
        mu, row_bias, col_bias, residual, shape = fit_biases_distributed(
            client, triples, self.bias, self.bias_reg)
        mean_square, low, high = client.compute([
            (residual["value"].astype(np.float64) ** 2).mean(), triples["value"].min(),
            triples["value"].max()], sync=True)
        scale = _rms_of_mean_square(float(mean_square))
        residual = residual.assign(value=residual["value"] / scale)
        result = altmin(residual, rank, reg=self.reg, init=self._init_for(shape, rank, scale),
                        bias=self.bias == "full", client=client,
                        random_state=self.random_state, **options)
        self.n_features_in_ = shape[1]
        self._store(result, mu, row_bias, col_bias, self.reg, scale, (float(low), float(high)),
                    count_reference(row_counts))
        return self

    def _fitted_state(self):
        return {name: value for name, value in vars(self).items()
                if name.endswith("_") and not name.startswith("_")}

    def _fit_generic(self, xp, X, X_valid, options):
        if self._auto_reg():
            raise ValueError("reg='auto' is available for NumPy, SciPy sparse and dask input; "
                             "choose reg on NumPy data first")
        mask = xp.astype(~xp.isnan(X), X.dtype)
        filled = xp.where(mask > 0, X, xp.zeros_like(X))
        mu, row_bias, col_bias, residual = fit_biases_dense(
            xp, mask, filled, self.bias, self.bias_reg)
        valid = None
        if X_valid is not None:
            valid = xp.asarray(X_valid, dtype=X.dtype)
        rank = check_rank(self.rank, tuple(X.shape))
        observed = mask > 0
        centred = xp.where(observed, residual, xp.zeros_like(residual))
        scale = _rms_of_mean_square(float(xp.sum(centred * centred)) / float(xp.sum(mask)))
        residual = residual / scale
        if valid is not None:
            valid = (valid - mu - row_bias[:, None] - col_bias[None, :]) / scale
        value_range = (float(xp.min(xp.where(observed, X, xp.full_like(X, float("inf"))))),
                       float(xp.max(xp.where(observed, X, xp.full_like(X, -float("inf"))))))
        result = altmin(residual, rank, reg=self.reg,
                        init=self._init_for(tuple(X.shape), rank, scale), validation=valid,
                        bias=self.bias == "full", random_state=self.random_state, **options)
        self._store(result, mu, row_bias, col_bias, self.reg, scale, value_range,
                    count_reference(xp.sum(mask, axis=1)))
        return self

    def _init_for(self, shape, rank, scale):
        """The previous fit's factors on the scale of the values now fitted (warm start)."""
        if self.warm_start and hasattr(self, "row_factors_"):
            U, V = self.row_factors_, self.components_.T
            if tuple(U.shape) == (shape[0], rank) and tuple(V.shape) == (shape[1], rank):
                return (U / scale ** 0.5, V / scale ** 0.5)
        return self.init

    def _store(self, result, mu, row_bias, col_bias, reg, scale, value_range, mean_row_count):
        self.reg_ = float(reg)
        self.mean_row_count_ = mean_row_count
        self.scale_ = scale
        self.value_range_ = value_range if self._clips() else None
        root = scale ** 0.5
        self.row_factors_ = result.U * root
        self.components_ = result.V.T * root
        self.intercept_ = mu
        if self.bias == "full":
            row_bias = row_bias + result.row_bias * scale
            col_bias = col_bias + result.col_bias * scale
        self.row_bias_ = row_bias
        self.column_bias_ = col_bias
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self.history_ = {name: values * scale if name.endswith("rmse") else values
                         for name, values in result.history.items()}

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
            return self._clipped(xp, products + self.intercept_ + xp.take(self.row_bias_, r)
                                 + xp.take(self.column_bias_, c))
        out = np.empty(rows.shape[0], dtype=U.dtype)
        entry_kernel(rows, cols, U, np.ascontiguousarray(V), out,
                     kernel_threads(rows.shape[0] * U.shape[1]))
        return self._clipped(np, out + (self.intercept_ + self.row_bias_[rows]
                                        + self.column_bias_[cols]))

    def _clipped(self, xp, values):
        """``values`` clipped to ``value_range_`` (unchanged when predictions are not clipped)."""
        if self.value_range_ is None:
            return values
        low, high = self.value_range_
        return xp.minimum(xp.maximum(values, low), high)

    def fold_in(self, X):
        """Row factors and row biases of new rows with the column factors held fixed.

        Each new row's ridge regression on its observed entries is solved exactly.

        Parameters
        ----------
        X : array-like of shape (n_samples, ``n_features_in_``) with NaN, or sparse matrix

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
        root = self.scale_ ** 0.5
        V = np.ascontiguousarray(self.components_.T / root, dtype=obs.dtype)
        col_bias = np.asarray(self.column_bias_, dtype=obs.dtype)
        mu = obs.dtype.type(self.intercept_)
        row_bias = (row_bias_sparse(obs, mu, col_bias, self.bias_reg) if self.bias == "full"
                    else np.zeros(obs.shape[0], dtype=obs.dtype))
        coo = obs.tocoo()
        # solved as fitted: the residual over scale_, the column factors over its square root
        residual = ((coo.data - mu - row_bias[coo.row] - col_bias[coo.col])
                    / self.scale_).astype(obs.dtype)
        indptr, indices, _ = sparse_to_index_arrays(obs)
        lam = row_ridge(np.diff(indptr), self.reg_, self.reg_scaling,
                        reference=self.mean_row_count_)
        if self.bias == "full":
            V = np.ascontiguousarray(np.hstack([V, np.ones((V.shape[0], 1), dtype=V.dtype)]))
        factors = np.empty((obs.shape[0], V.shape[1]), dtype=obs.dtype)
        exact_rows(indptr, indices, residual, V, lam.astype(np.float64, copy=False), factors,
                   kernel_threads(indices.shape[0] * V.shape[1]))
        if self.bias == "full":
            return (np.ascontiguousarray(factors[:, :-1] * root),
                    row_bias + factors[:, -1] * self.scale_)
        return factors * root, row_bias

    def transform(self, X):
        """Fill the missing entries of ``X`` from the model (observed entries are kept).

        New rows are folded in (:meth:`fold_in`) and completed.

        Parameters
        ----------
        X : array-like of shape (n_samples, ``n_features_in_``) with NaN, or sparse matrix

        Returns
        -------
        ndarray of shape (n_samples, ``n_features_in_``)
            Dense, in ``X``'s dtype.
        """
        check_is_fitted(self)
        check_same_namespace(X, self, "components_", "transform")
        xp = estimator_namespace(X)
        X = self._validate(X, reset=False)
        if not is_numpy(xp):
            return self._transform_generic(xp, X)
        factors, row_bias = self._fold_in(X)
        full = self._clipped(np, (factors @ self.components_.astype(factors.dtype)
                                  + self.intercept_ + row_bias[:, None]
                                  + self.column_bias_[None, :]).astype(factors.dtype))
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
        root = self.scale_ ** 0.5
        V = xp.astype(self.components_.T, X.dtype) / root
        centred = mask * (filled - self.intercept_ - self.column_bias_[None, :])
        counts = xp.sum(mask, axis=1)
        if self.bias == "full":
            row_bias = xp.sum(centred, axis=1) / (counts + self.bias_reg + 1e-300)
        else:
            row_bias = xp.zeros_like(counts)
        residual = (centred - mask * row_bias[:, None]) / self.scale_
        lam = row_ridge(counts, self.reg_, self.reg_scaling, reference=self.mean_row_count_)
        if self.bias == "full":
            augmented = xp.concat([V, xp.ones_like(V[:, :1])], axis=1)
            solved = exact_half_step(xp, mask, residual, augmented, lam)
            factors, row_bias = solved[:, :-1], row_bias + solved[:, -1] * self.scale_
        else:
            factors = exact_half_step(xp, mask, residual, V, lam)
        full = self._clipped(xp, (factors @ V.T) * self.scale_ + self.intercept_
                             + row_bias[:, None] + self.column_bias_[None, :])
        return xp.where(mask > 0, X, full)


def _fit_estimator(matrix, estimator):
    """Fit ``estimator`` to a sparse ``matrix`` on a Dask worker (warnings left to the client)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(matrix)


def _rms(values):
    return _rms_of_mean_square(float(np.mean(np.square(values, dtype=np.float64))))


def _rms_of_mean_square(mean_square):
    """The data's scale for the relative ridge; 1 for all-zero values, which need no ridge."""
    return float(np.sqrt(mean_square)) or 1.0


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
