"""Gradient-boosted neural networks (Emami & Martinez-Munoz): GBNNRegressor, GBNNClassifier.

Each boosting stage fits a one-hidden-layer network of ``units_per_stage`` units to the
pseudo-residuals (least squares by variable projection: L-BFGS over the hidden layer, the
output layer solved exactly at every step), takes one Newton step for its multiplier and
shrinks it by ``learning_rate``. All stages are fitted in one compiled call
(:func:`numsolve.neural.gbnn._boost.boost`, built ahead of time from Cython). They are stored as one merged network whose hidden layer
is the concatenation of the stages' units, so pruning to the first ``t`` stages is a slice.
"""

from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..._array_api import array_namespace, device_of, from_numpy, is_numpy
from ..._blas_threads import one_blas_thread
from ..._progress import progress
from .._activations import ACTIVATION_CODES, GBNN_ACTIVATIONS, activate
from .._weights import positive_rows
from ._boost import boost, forward_into
from ._losses import LOSS_CODES, init_score, proba
from ._stages import draw_stages, input_scaling, unpack_stages

__all__ = ["GBNNRegressor", "GBNNClassifier"]

_STAGE_TOL = 1e-10  # L-BFGS tolerance of the stage fits; max_iter is what bounds them


class _StageFit(NamedTuple):
    """Settings of each stage's least-squares fit (the kernel's ``StageFit``)."""

    n_units: int
    code: int
    alpha: float
    max_iter: int
    tol: float


class _Boosting(NamedTuple):
    """Settings of the boosting loop (the kernel's ``Boosting``)."""

    loss: int
    learning_rate: float
    n_iter_no_change: int
    tol: float


class _Track(NamedTuple):
    """Early-stopping state handed from one chunk of stages to the next."""

    best: float
    best_stage: int
    start: int
    since_best: int


class _BaseGBNN(BaseEstimator):
    _parameter_constraints = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "units_per_stage": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, 1, closed="right")],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        "activation": [StrOptions(set(GBNN_ACTIVATIONS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, n_estimators=100, units_per_stage=4, *, learning_rate=0.4, subsample=0.5,
                 activation="logistic", alpha=5.0, max_iter=25, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-7, warm_start=False,
                 random_state=None, verbose=0):
        self.n_estimators = n_estimators
        self.units_per_stage = units_per_stage
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.activation = activation
        self.alpha = alpha
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # -- fitting ---------------------------------------------------------------------------
    def _fit_targets(self, X, Y, sample_weight):
        """Boost stages on ``(X, Y)``, ``Y`` of shape (n_samples, n_outputs), the rows
        weighted by ``sample_weight`` (positive, mean one; ``None``: unweighted)."""
        loss = "squared" if not self._is_clf else "binary" if Y.shape[1] == 1 else "multinomial"
        resume = self.warm_start and hasattr(self, "coefs_")
        if not resume:
            # Stages draw one after another from this stream; a warm start continues it, so
            # its stages get the draws of a direct fit (as scikit-learn's boosting does).
            self._rng = check_random_state(self.random_state)
        rng = self._rng
        stratify = Y.argmax(axis=1) if Y.shape[1] > 1 else (Y[:, 0] if self._is_clf else None)
        X_val = Y_val = None
        weighted = sample_weight is not None
        sw, sw_val = (sample_weight if weighted else np.ones(X.shape[0])), np.zeros(0)
        if self.early_stopping:
            X, X_val, Y, Y_val, sw, sw_val = train_test_split(
                X, Y, sw, test_size=self.validation_fraction, stratify=stratify,
                random_state=check_random_state(self.random_state).randint(2**31 - 1))
        if resume and self.n_estimators < self.n_estimators_:
            raise ValueError(f"n_estimators={self.n_estimators} must be at least n_estimators_="
                             f"{self.n_estimators_} when warm_start is True")
        if resume and self.early_stopping and self.validation_score_.size != self.n_estimators_:
            raise ValueError("early_stopping=True cannot continue a warm start whose "
                             f"{self.n_estimators_} stages were fitted without early stopping")
        if not resume:
            self.init_ = init_score(Y, loss, sw if weighted else None).astype(X.dtype)
            self.coefs_ = np.zeros((X.shape[1], 0), dtype=X.dtype)
            self.intercepts_ = np.zeros(0, dtype=X.dtype)
            self.output_weights_ = np.zeros((0, Y.shape[1]), dtype=X.dtype)
            self.stage_intercepts_ = np.zeros((0, Y.shape[1]), dtype=X.dtype)
            self.stage_units_ = np.zeros(1, dtype=np.intp)
            self.multipliers_ = np.zeros(0)
            self.train_score_ = np.zeros(0)
            self.validation_score_ = np.zeros(0)
            self.n_estimators_ = 0
            self._input_scaling = input_scaling(X, sw if weighted else None)
            self._stage_params = np.zeros((0, 0))
        n, p = X.shape
        k, J, start = Y.shape[1], self.units_per_stage, self.n_estimators_
        x_mean, x_scale = self._input_scaling
        rows, thetas = draw_stages(rng, self.n_estimators - start, n,
                                   max(1, int(round(self.subsample * n))), p, J, k,
                                   self.activation)

        def scaled(A):
            A = np.zeros((0, p)) if A is None else (A - x_mean) / x_scale
            return np.ascontiguousarray(A, dtype=np.float64)

        def scores(A):
            # the scores of the stages fitted so far, summed as the boosting loop sums them,
            # so that a warm start continues from the very scores of a direct fit
            F = np.tile(self.init_.astype(np.float64), (A.shape[0], 1))
            f = np.empty_like(F)
            for theta, rho in zip(self._stage_params, self.multipliers_):
                forward_into(A, theta, J, code, f)
                F += rho * f
            return F

        val = self.validation_score_
        best = float(val.min()) if val.size else np.inf
        best_stage = int(np.argmin(val)) + 1 if val.size else 0
        n_new = self.n_estimators - start
        # One compiled call fits every stage; with verbose on, calls of a twentieth of the
        # stages each let the progress bar move (same model: the draws are made above).
        chunk = max(1, -(-n_new // 20)) if self.verbose else max(n_new, 1)
        bar = progress(n_new, verbose=self.verbose, desc=type(self).__name__, unit="stage")
        code = ACTIVATION_CODES[self.activation]
        X_scaled, X_val_scaled = scaled(X), scaled(X_val)
        inputs = (X_scaled, np.ascontiguousarray(Y, dtype=np.float64), scores(X_scaled),
                  np.ascontiguousarray(sw), X_val_scaled,
                  np.zeros((0, k)) if Y_val is None else np.ascontiguousarray(Y_val, np.float64),
                  scores(X_val_scaled), np.ascontiguousarray(sw_val), weighted)
        stage = _StageFit(J, code, float(self.alpha), int(self.max_iter), _STAGE_TOL)
        rule = _Boosting(LOSS_CODES[loss], float(self.learning_rate),
                         int(self.n_iter_no_change), float(self.tol))
        rhos, train, val_new = [], [], []
        done, since_best, keep = 0, 0, start
        while done < n_new:
            stop = min(done + chunk, n_new)
            rho, loss_train, loss_val, keep = boost(
                *inputs, rows[done:stop], thetas[done:stop], stage, rule,
                _Track(best, best_stage, start + done, since_best))
            rhos.append(rho)
            train.append(loss_train)
            val_new.append(loss_val)
            bar.update(rho.shape[0])
            done += rho.shape[0]
            if loss_val.size:
                best_stage = keep
                best = float(np.concatenate([val, *val_new])[best_stage - 1])
                since_best = start + done - best_stage
                if since_best >= self.n_iter_no_change:  # early stopping
                    break
        bar.close()
        rhos, train, val_new = (np.concatenate(a) if a else np.zeros(0)
                                for a in (rhos, train, val_new))
        W, c, V, d = unpack_stages(thetas[:rhos.shape[0]], p, J, k, x_mean, x_scale)
        dtype = X.dtype
        units = np.concatenate([self.stage_units_,
                                self.stage_units_[-1] + J * np.arange(1, rhos.shape[0] + 1)])
        cut = units[keep]
        self.coefs_ = np.hstack([self.coefs_, W.astype(dtype)])[:, :cut]
        self.intercepts_ = np.concatenate([self.intercepts_, c.astype(dtype)])[:cut]
        V = np.repeat(rhos, J)[:, None] * V
        self.output_weights_ = np.vstack([self.output_weights_, V.astype(dtype)])[:cut]
        self.stage_intercepts_ = np.vstack(
            [self.stage_intercepts_, (rhos[:, None] * d).astype(dtype)])[:keep]
        self.stage_units_ = units[:keep + 1]
        self.multipliers_ = np.concatenate([self.multipliers_, rhos])[:keep]
        self._stage_params = np.vstack([self._stage_params.reshape(-1, thetas.shape[1]),
                                        thetas[:rhos.shape[0]]])[:keep]
        self.train_score_ = np.concatenate([self.train_score_, train])[:keep]
        self.validation_score_ = np.concatenate([val, val_new])[:keep]
        self.n_iter_ = start + rhos.shape[0]
        self.n_estimators_ = keep
        return self

    # -- prediction ------------------------------------------------------------------------
    def _check_n_estimators(self, n_estimators):
        if n_estimators is None:
            return self.n_estimators_
        if not isinstance(n_estimators, Integral) or not 0 <= n_estimators <= self.n_estimators_:
            raise ValueError(f"n_estimators must be an integer in [0, {self.n_estimators_}], "
                             f"got {n_estimators!r}")
        return int(n_estimators)

    def _raw(self, X, n_estimators=None):
        """Raw outputs F(X) of the first ``n_estimators`` stages (all by default)."""
        t = self.n_estimators_ if n_estimators is None else n_estimators
        u = self.stage_units_[t]
        xp = array_namespace(X)
        params = (self.coefs_[:, :u], self.intercepts_[:u], self.output_weights_[:u],
                  self.init_ + self.stage_intercepts_[:t].sum(axis=0))
        if not is_numpy(xp):
            device = device_of(X)
            params = tuple(from_numpy(np.ascontiguousarray(p), xp, device) for p in params)
        W, c, V, b = params
        return activate(xp, X @ W + c, self.activation) @ V + b

    def _validate_X(self, X):
        check_is_fitted(self)
        if is_numpy(array_namespace(X)):
            return validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have shape (n_samples, {self.n_features_in_}), "
                             f"got {tuple(X.shape)}")
        xp = array_namespace(X)
        return xp.astype(X, xp.float32 if X.dtype == xp.float32 else xp.float64)

    def _staged_raw(self, X):
        X = self._validate_X(X)
        H = activate(np, X @ self.coefs_ + self.intercepts_, self.activation)
        F = np.broadcast_to(self.init_, (X.shape[0], self.init_.shape[0])).copy()
        for t in range(self.n_estimators_):
            a, b = self.stage_units_[t], self.stage_units_[t + 1]
            F = F + H[:, a:b] @ self.output_weights_[a:b] + self.stage_intercepts_[t]
            yield F

    def _as_mlp(self, mlp_class, n_outputs, out_activation):
        """The merged network as a fitted ``mlp_class`` (scikit-learn's MLPRegressor or
        MLPClassifier) with ``n_outputs`` outputs through ``out_activation``: one hidden
        layer, the stages' output intercepts summed into the output layer's."""
        mlp = mlp_class(hidden_layer_sizes=(self.coefs_.shape[1],), activation=self.activation,
                        alpha=self.alpha)
        output_intercept = self.init_ + self.stage_intercepts_.sum(axis=0)
        mlp.coefs_ = [self.coefs_.copy(), self.output_weights_.copy()]
        mlp.intercepts_ = [self.intercepts_.copy(), output_intercept]
        mlp.n_features_in_ = self.n_features_in_
        mlp.n_layers_, mlp.n_outputs_, mlp.out_activation_ = 3, n_outputs, out_activation
        mlp.n_iter_, mlp.t_ = self.n_estimators_, 0
        return mlp


class GBNNRegressor(RegressorMixin, _BaseGBNN):
    """Gradient-boosted one-hidden-layer network for regression (squared error).

    Parameters
    ----------
    n_estimators : int, default=100
        Boosting stages T.
    units_per_stage : int, default=4
        Hidden units J fitted per stage; the final network has ``T * J`` units.
    learning_rate : float, default=0.4
        Shrinkage applied to each stage's Newton multiplier.
    subsample : float, default=0.5
        Fraction of the training rows (without replacement) each base network is fitted on.
    activation : {"logistic", "tanh", "relu", "identity"}, default="logistic"
    alpha : float, default=5.0
        L2 penalty of the base networks, ``alpha * ||weights||^2 / (2 n)`` as in scikit-learn's
        MLP, on residuals standardised to unit variance. Together with the short base fits it
        keeps each stage a weak learner: the defaults were tuned over 5 splits of
        breast_cancer, digits, wine and diabetes (``benchmarks/bench_gbnn.py``). For smooth,
        nearly noise-free targets use a smaller value (0.1 to 1): a strong penalty keeps the
        stages near-linear and the fit stalls (Friedman #1, 200 rows: R^2 0.75 at 5, 0.97 at 1).
    max_iter : int, default=25
        L-BFGS iterations per base network. The iterations run over the hidden weights only,
        the ridge-optimal output layer being solved at every evaluation (variable projection,
        in :mod:`numsolve.neural.gbnn._boost`): 25 of them reach the stage objective of 50 plain
        L-BFGS iterations on all the network's weights (median ratio 1.000 on breast_cancer
        and diabetes, 1.003 on digits, over 40 stages).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when its loss has not improved
        for ``n_iter_no_change`` stages; the best stage count is kept.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    tol : float, default=1e-7
        Relative improvement of the validation loss that counts.
    warm_start : bool, default=False
        Add stages to the fitted ones up to ``n_estimators``.
    random_state : int, RandomState or None, default=None
    verbose : int, default=0
        A positive value shows a progress bar; the compiled loop then runs in twentieths of
        the stages so that the bar moves (the model is the same).

    Notes
    -----
    ``fit(X, y, sample_weight)`` weights each row's loss: the training and validation losses,
    the Newton steps and the stages' squared errors. Rows of zero weight are dropped before
    anything else (the fit is the one without them, row subsamples included). Each stage fit
    sees its subsample's weights divided by their mean, so ``alpha`` keeps its strength and
    weights scaled by a constant give the same model. With ``subsample=1``, integer weights
    give the model of the data that repeats each row that many times (``N`` rows) fitted
    with ``alpha * N / n_samples``, up to round-off: the penalty is divided by the row
    count, which repeating rows changes and weighting them does not.

    Attributes
    ----------
    n_estimators_ : int
        Stages kept (the best count under early stopping).
    n_iter_ : int
        Stages fitted.
    coefs_ : ndarray of shape (n_features, n_units)
        Hidden weights of the merged network.
    intercepts_ : ndarray of shape (n_units,)
    output_weights_ : ndarray of shape (n_units, 1)
        Output weights, already multiplied by the stage multipliers.
    init_ : ndarray of shape (1,)
        Initial constant.
    stage_intercepts_ : ndarray of shape (``n_estimators_``, 1)
    stage_units_ : ndarray of shape (``n_estimators_ + 1``,)
        Hidden units used by the first t stages.
    multipliers_ : ndarray of shape (``n_estimators_``,)
    train_score_, validation_score_ : ndarray
        Loss after each stage; validation losses only for the stages fitted with early
        stopping (empty without it).

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from numsolve.neural import GBNNRegressor
    >>> X, y = make_friedman1(200, random_state=0)
    >>> model = GBNNRegressor(alpha=0.5, random_state=0).fit(X, y)
    >>> bool(model.score(X, y) > 0.95)
    True
    """

    _is_clf = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, sample_weight=None):
        """Fit the boosted network to ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets; several columns share the hidden units (one output unit per column,
            as in :class:`~sklearn.neural_network.MLPRegressor`).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row's loss (see the class docstring).

        Returns
        -------
        self : GBNNRegressor
        """
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=True,
                             multi_output=True,
                             reset=not (self.warm_start and hasattr(self, "coefs_")))
        keep, weights = positive_rows(sample_weight, X)
        if keep is not None:
            X, y = X[keep], y[keep]
        with one_blas_thread():  # small products: one thread
            return self._fit_targets(X, y.astype(X.dtype).reshape(X.shape[0], -1), weights)

    def predict(self, X, n_estimators=None):
        """Predictions of the first ``n_estimators`` stages (all by default)."""
        X = self._validate_X(X)
        return _targets(self._raw(X, self._check_n_estimators(n_estimators)))

    def staged_predict(self, X):
        """Yield the predictions after each stage."""
        for F in self._staged_raw(X):
            yield _targets(F)

    def to_mlp(self):
        """The merged network as a fitted scikit-learn :class:`MLPRegressor`."""
        check_is_fitted(self)
        return self._as_mlp(MLPRegressor, self.output_weights_.shape[1], "identity")


def _targets(F):
    """Predictions of shape (n_samples,) for one target, (n_samples, n_outputs) otherwise
    (as :class:`~sklearn.neural_network.MLPRegressor`)."""
    return F[:, 0] if F.shape[1] == 1 else F


class GBNNClassifier(ClassifierMixin, _BaseGBNN):
    """Gradient-boosted one-hidden-layer network for classification (log-loss).

    Binary problems use one output and a sigmoid, K classes one K-output base network per
    stage (its J units shared by the classes) and a softmax. Parameters and attributes as in
    :class:`GBNNRegressor`, plus ``classes_``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from numsolve.neural import GBNNClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = GBNNClassifier(n_estimators=20, random_state=0).fit(X, y)
    >>> bool(model.score(X, y) > 0.9)
    True
    """

    _is_clf = True

    def fit(self, X, y, sample_weight=None):
        """Fit the boosted network to the labels ``y``, each row's loss weighted by
        ``sample_weight`` (non-negative; see :class:`GBNNRegressor`). Returns ``self``."""
        self._validate_params()
        resume = self.warm_start and hasattr(self, "coefs_")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], reset=not resume)
        check_classification_targets(y)
        keep, weights = positive_rows(sample_weight, X)
        if keep is not None:
            X, y = X[keep], y[keep]
        classes, codes = np.unique(y, return_inverse=True)
        if resume and not np.array_equal(classes, self.classes_):
            raise ValueError("warm_start requires the classes of the first fit")
        if classes.shape[0] < 2:
            raise ValueError("GBNNClassifier needs samples of at least 2 classes in the data, "
                             f"but the data contains only one class: {classes[0]!r}")
        self.classes_ = classes
        if classes.shape[0] == 2:
            Y = codes.reshape(-1, 1).astype(X.dtype)
        else:
            Y = np.eye(classes.shape[0], dtype=X.dtype)[codes]
        with one_blas_thread():
            return self._fit_targets(X, Y, weights)

    def decision_function(self, X, n_estimators=None):
        """Raw scores of the first ``n_estimators`` stages (1-D for binary problems)."""
        X = self._validate_X(X)
        F = self._raw(X, self._check_n_estimators(n_estimators))
        return F[:, 0] if F.shape[1] == 1 else F

    def predict_proba(self, X, n_estimators=None):
        """Class probabilities of the first ``n_estimators`` stages."""
        X = self._validate_X(X)
        F = self._raw(X, self._check_n_estimators(n_estimators))
        xp = array_namespace(F)
        if F.shape[1] == 1:
            p = 1.0 / (1.0 + xp.exp(-F))
            return xp.concat([1.0 - p, p], axis=1)
        F = F - xp.max(F, axis=1, keepdims=True)
        E = xp.exp(F)
        return E / xp.sum(E, axis=1, keepdims=True)

    def predict_log_proba(self, X, n_estimators=None):
        """Logarithm of :meth:`predict_proba`."""
        P = self.predict_proba(X, n_estimators)
        return array_namespace(P).log(P)

    def predict(self, X, n_estimators=None):
        """Predicted classes of the first ``n_estimators`` stages."""
        P = self.predict_proba(X, n_estimators)
        xp = array_namespace(P)
        labels = xp.argmax(P, axis=1)
        if is_numpy(xp):
            return self.classes_[labels]
        if self.classes_.dtype.kind not in "iuf":
            return self.classes_[np.asarray(labels)]
        return xp.take(from_numpy(self.classes_, xp, device_of(P)), labels)

    def staged_predict_proba(self, X):
        """Yield the class probabilities after each stage."""
        for F in self._staged_raw(X):
            P = proba(F)
            yield np.hstack([1 - P, P]) if P.shape[1] == 1 else P

    def staged_predict(self, X):
        """Yield the predicted classes after each stage."""
        for P in self.staged_predict_proba(X):
            yield self.classes_[P.argmax(axis=1)]

    def to_mlp(self):
        """The merged network as a fitted scikit-learn :class:`MLPClassifier`."""
        check_is_fitted(self)
        binary = self.classes_.shape[0] == 2
        mlp = self._as_mlp(MLPClassifier, 1 if binary else self.classes_.shape[0],
                           "logistic" if binary else "softmax")
        mlp.classes_ = self.classes_
        mlp._label_binarizer = LabelBinarizer().fit(self.classes_)
        return mlp
