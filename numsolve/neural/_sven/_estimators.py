"""scikit-learn estimators for dense networks trained with Sven."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..._array_api import (
    check_same_namespace,
    device_of,
    estimator_namespace,
    follow,
    from_numpy,
    is_numpy,
    to_numpy,
)
from ..._validation import check_xp_array
from .._activations import SVEN_ACTIVATIONS
from .._weights import positive_rows
from ._calibration import class_log_probabilities, fit_temperature
from ._network import (init_parameters, network_epochs, network_gram, network_predict,
                            network_residuals, unpack)
from ._solver import descend, sven

__all__ = ["SvenClassifier", "SvenRegressor"]


class _BaseSven(BaseEstimator):
    """Shared fitting of a dense network by Sven (see :class:`SvenRegressor`)."""

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(SVEN_ACTIVATIONS))],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "microbatch_size": [Interval(Integral, 1, None, closed="left")],
        "k": [Interval(Integral, 1, None, closed="left"), None],
        "rtol": [Interval(Real, 0, 1, closed="both")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "safeguard": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, hidden_layer_sizes=(16, 16, 16), activation="gelu", *, batch_size=32,
                 microbatch_size=1, k=None, rtol=1e-4, learning_rate=0.05, max_iter=20,
                 tol=None, safeguard=True, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=5, warm_start=False, random_state=None, verbose=0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.batch_size = batch_size
        self.microbatch_size = microbatch_size
        self.k = k
        self.rtol = rtol
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.safeguard = safeguard
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def _hidden(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if np.ndim(sizes) == 0 else list(sizes)
        if any(int(s) != s or s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {sizes}")
        return [int(s) for s in sizes]

    def _fit_network(self, X, Y, weights, xp=np):
        """Train on ``X`` (n, d) and 2-D targets ``Y`` (n, K), the squared errors weighted by
        ``weights`` (NumPy, positive, mean one; ``None``: unweighted); sets the fitted
        attributes."""
        sizes = (X.shape[1], *self._hidden(), Y.shape[1])
        xp = np if is_numpy(xp) else xp  # NumPy 2 is Array API itself, without the wrapper
        rng = check_random_state(self.random_state)
        device = device_of(X)
        X_val = Y_val = weights_val = None
        if self.early_stopping:
            train, val = train_test_split(np.arange(X.shape[0]),
                                          test_size=self.validation_fraction, random_state=rng)
            X, X_val = _take(X, train, xp, device), _take(X, val, xp, device)
            Y, Y_val = _take(Y, train, xp, device), _take(Y, val, xp, device)
            if weights is not None:
                weights, weights_val = weights[train], weights[val]
        reuse = (self.warm_start and hasattr(self, "layer_sizes_")
                 and tuple(self.layer_sizes_) == sizes)
        host_dtype = np.float32 if X.dtype == xp.float32 else np.float64
        # each residual row and its Jacobian row times the square root of the row's weight
        scale = (None if weights is None else
                 from_numpy(np.sqrt(weights).astype(host_dtype), xp, device))
        theta0 = (xp.astype(self._theta, X.dtype) if reuse else
                  from_numpy(init_parameters(sizes, rng, dtype=host_dtype), xp, device))
        activation = self.activation
        batch_size = min(self.batch_size or X.shape[0], X.shape[0])

        def rows_of(rows):
            if isinstance(rows, slice):
                return X, Y, scale
            return (xp.take(X, rows, axis=0), xp.take(Y, rows, axis=0),
                    None if scale is None else xp.take(scale, rows, axis=0))

        def residuals(theta, rows):
            Xb, Yb, sb = rows_of(rows)
            r = network_residuals(theta, Xb, Yb, sizes, activation, xp)
            return r if sb is None else r * sb

        def gram(theta, rows):
            Xb, Yb, sb = rows_of(rows)
            r, G, rmatvec = network_gram(theta, Xb, Yb, sizes, activation, xp)
            if sb is None:
                return r, G, rmatvec
            s = xp.astype(sb, G.dtype)
            return (r * sb, G * (s[:, None] * s[None, :]),
                    lambda w: rmatvec(w * xp.astype(sb, w.dtype)))

        state = {"best": -np.inf, "theta": None, "stall": 0, "scores": []}

        def callback(theta, epoch, cost):
            if not self.early_stopping:
                return False
            outputs = network_predict(theta, X_val, sizes, activation, xp)
            score = float(self._validation_score(outputs, Y_val, weights_val, xp))
            state["scores"].append(score)
            if score > state["best"]:
                state.update(best=score, theta=xp.asarray(theta, copy=True), stall=0)
            else:
                state["stall"] += 1
            return state["stall"] >= self.n_iter_no_change

        step_params = dict(k=self.k, rtol=self.rtol, learning_rate=self.learning_rate,
                           microbatch_size=self.microbatch_size, safeguard=self.safeguard)
        if is_numpy(xp):  # every step of an epoch in one compiled call
            all_rows, run_epoch = network_epochs(X, Y, sizes, activation,
                                                 batch_size=batch_size, random_state=rng,
                                                 sample_weight=weights, **step_params)
            result = descend(theta0, all_rows, run_epoch,
                             max_iter=self.max_iter, tol=self.tol, callback=callback,
                             verbose=self.verbose)
        else:
            result = sven(residuals, theta0, gram=gram, batch_size=batch_size,
                          max_iter=self.max_iter, tol=self.tol, callback=callback,
                          random_state=rng, verbose=self.verbose, **step_params)
        theta = result.x
        if self.early_stopping and state["theta"] is not None:
            theta = state["theta"]
        self._theta = theta
        self.layer_sizes_ = sizes
        layers = unpack(theta, sizes, xp)
        self.coefs_ = [xp.asarray(W, copy=True) for W, _ in layers]
        self.intercepts_ = [xp.asarray(b, copy=True) for _, b in layers]
        self.n_iter_ = result.n_iter
        self.n_layers_ = len(sizes)
        self.n_outputs_ = Y.shape[1]
        self.loss_curve_ = list(result.history["cost"][1:] / X.shape[0])
        self.loss_ = float(result.cost) / X.shape[0]
        self.history_ = result.history
        self.validation_scores_ = state["scores"] if self.early_stopping else None
        self.best_validation_score_ = state["best"] if self.early_stopping else None
        return self

    def _forward(self, X, method):
        check_is_fitted(self)
        check_same_namespace(X, self, "coefs_", method)
        xp = estimator_namespace(X)
        if is_numpy(xp):
            X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        else:
            X = _check_xp_X(self, X, xp, reset=False)
        xp = np if is_numpy(xp) else xp
        theta = xp.astype(self._theta, X.dtype)
        return network_predict(theta, X, self.layer_sizes_, self.activation, xp)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.single_output = True
        return tags


class SvenRegressor(RegressorMixin, _BaseSven):
    """Dense network regressor (squared error) trained with Sven, Singular Value Descent.

    Every mini-batch step solves the linearised residual equations of the batch in the
    minimum-norm sense with a truncated pseudo-inverse (see :func:`numsolve.neural.sven`);
    the per-sample Gram matrix comes from one forward and one backward pass. On NumPy
    inputs every epoch runs as one compiled (Cython) call; other Array API inputs take the
    generic path of :func:`numsolve.neural.sven` in their own namespace and device.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(16, 16, 16)
        Widths of the hidden layers.
    activation : {"gelu", "tanh", "relu", "logistic", "identity"}, default="gelu"
        Hidden-layer activation ("gelu" is the tanh approximation).
    batch_size : int or None, default=32
        Samples per step (clipped to the number of samples; ``None``: full batch).
    microbatch_size : int, default=1
        Samples merged into one residual row (their root sum of squares); the step then
        inverts a ``batch_size / microbatch_size`` square Gram matrix.
    k : int or None, default=None
        Rank cap of the pseudo-inverse (``None``: only ``rtol`` truncates).
    rtol : float, default=1e-4
        Relative singular-value cut.
    learning_rate : float, default=0.05
        Fraction of the Gauss-Newton step taken.
    max_iter : int, default=20
        Epochs (passes over the training data), as MLP's ``max_iter`` for its stochastic solvers.
    tol : float or None, default=None
        ``None`` trains for ``max_iter`` epochs, a fixed budget as in the Sven paper's
        experiments: the budget running out is the requested stop, so no ConvergenceWarning.
        A number stops when the training loss changes by less than ``tol`` times itself in an
        epoch, and warns if ``max_iter`` comes first (as scikit-learn's MLP does).
    safeguard : bool, default=True
        Halve steps that increase the batch loss.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop after ``n_iter_no_change``
        epochs without improvement of its score (as :meth:`score`: R^2 here, accuracy for
        :class:`SvenClassifier`), and keep the best parameters.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=5
    warm_start : bool, default=False
        Continue from the previous fit's parameters when the shapes agree.
    random_state : int, RandomState or None, default=None
        Initial weights, batch order and validation split.
    verbose : int, default=0

    Attributes
    ----------
    coefs_, intercepts_ : list of ndarray
        Weights ``(n_in, n_out)`` and biases per layer (scikit-learn's MLP layout).
    n_iter_ : int
        Epochs run.
    loss_ : float
        Final training loss ``½ mean ||f(x) - y||²`` (weighted by ``sample_weight``).
    loss_curve_ : list of float
        That loss after every epoch.
    history_ : dict of ndarray
        The solver's per-epoch history (cost, rank, step norm, elapsed seconds).
    validation_scores_, best_validation_score_ : list, float or None
        Validation score per epoch (as :meth:`score`, higher is better, as MLP's) and its
        best value with ``early_stopping``.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.neural import SvenRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 1))
    >>> y = np.sin(3 * X[:, 0])
    >>> model = SvenRegressor(hidden_layer_sizes=(8,), activation="tanh", random_state=0)
    >>> model.fit(X, y).score(X, y) > 0.99
    True
    """

    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` of shape (n, d) and ``y`` of shape (n,) or (n, K).

        With scikit-learn's ``array_api_dispatch`` on, CuPy, torch and other Array API
        inputs are trained on in their own namespace and device.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : array of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples' squared errors (the loss becomes their
            weighted mean). Each residual row and its Jacobian row are multiplied by the
            square root of its weight; rows of zero weight are dropped before anything else
            (batches and validation split are those of the data without them); the weights
            are divided by their mean, so a constant factor does not change the model. With
            ``batch_size=None`` (full batch) integer weights give the model of the data that
            repeats each row that many times, up to round-off.

        Returns
        -------
        self : SvenRegressor
        """
        self._validate_params()
        self._hidden()
        xp = estimator_namespace(X)
        if is_numpy(xp):
            X, y = validate_data(self, X, to_numpy(y), multi_output=True, y_numeric=True,
                                 dtype=[np.float64, np.float32])
            Y = np.asarray(y, dtype=X.dtype)
        else:
            X = _check_xp_X(self, X, xp, reset=True)
            y = follow(y, xp, device_of(X))  # a target from another library follows X
            Y = xp.astype(check_xp_array(y, xp, "y"), X.dtype)
            if Y.ndim not in (1, 2) or Y.shape[0] != X.shape[0]:
                raise ValueError(f"y has shape {tuple(Y.shape)}; expected ({X.shape[0]},) "
                                 f"or ({X.shape[0]}, n_outputs)")
        self._y_1d = Y.ndim == 1
        keep, weights = positive_rows(to_numpy(sample_weight), np.empty((X.shape[0], 0)))
        if keep is not None:
            rows = np.flatnonzero(keep)
            X, Y = _take(X, rows, xp, device_of(X)), _take(Y, rows, xp, device_of(X))
        return self._fit_network(X, xp.reshape(Y, (X.shape[0], -1)), weights, xp)

    @staticmethod
    def _validation_score(outputs, Y, weights, xp):
        """R^2 averaged over the outputs, as :meth:`score` (and MLP's validation scores),
        weighted by ``weights`` (NumPy; ``None``: unweighted)."""
        if weights is None:
            residual = xp.sum((Y - outputs) ** 2, axis=0)
            total = xp.sum((Y - xp.mean(Y, axis=0)) ** 2, axis=0)
        else:
            w = xp.astype(xp.reshape(from_numpy(weights, xp, device_of(Y)), (-1, 1)), Y.dtype)
            residual = xp.sum(w * (Y - outputs) ** 2, axis=0)
            total = xp.sum(w * (Y - xp.sum(w * Y, axis=0) / xp.sum(w)) ** 2, axis=0)
        safe = xp.where(total > 0, total, xp.ones_like(total))
        # a constant target scores 1 when fitted exactly and 0 otherwise, as r2_score does
        exact = xp.astype(residual == 0, residual.dtype)
        return xp.mean(xp.where(total > 0, 1.0 - residual / safe, exact))

    def predict(self, X):
        """Network output, shape (n,) for a 1-D target, (n, K) otherwise."""
        output = self._forward(X, "predict")
        return output[:, 0] if self._y_1d else output

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.array_api_support = True
        return tags


class SvenClassifier(ClassifierMixin, _BaseSven):
    """Dense network classifier trained with Sven on one-hot targets (label regression).

    The network regresses the one-hot coding of the labels under squared error (for two
    classes one output coded -1/+1); the predicted class is the largest output (the sign of
    the output for two classes). Class probabilities are the softmax of the outputs times a
    temperature fitted to the training log loss after training (temperature scaling), since
    squared-error outputs are on the label scale, not log-odds. Parameters and attributes as
    :class:`SvenRegressor`, plus ``classes_`` and ``temperature_``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from numsolve.neural import SvenClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = SvenClassifier(hidden_layer_sizes=(16,), max_iter=50, random_state=0)
    >>> model.fit(X, y).score(X, y) > 0.97
    True
    >>> model.predict_proba(X[:1]).round(2)
    array([[1., 0., 0.]])
    """

    def fit(self, X, y, sample_weight=None):
        """Fit the network to the one-hot coding of the labels ``y`` (NumPy inputs), each
        row's squared error weighted by ``sample_weight`` (as :meth:`SvenRegressor.fit`; the
        temperature is fitted to the weighted log loss). Returns ``self``."""
        self._validate_params()
        self._hidden()
        if not is_numpy(estimator_namespace(X, y)):
            raise TypeError("SvenClassifier trains on NumPy inputs only; use SvenRegressor "
                            "on one-hot targets for arrays of other libraries")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        keep, weights = positive_rows(sample_weight, X)
        if keep is not None:
            X, y = X[keep], y[keep]
        binarizer = LabelBinarizer().fit(y)
        self.classes_ = binarizer.classes_
        Y = binarizer.transform(y).astype(X.dtype)
        if Y.shape[1] == 1:  # one output coded -1 / +1, so the decision threshold is 0
            Y = np.ones_like(Y) if len(self.classes_) == 1 else 2.0 * Y - 1.0
        self._fit_network(X, Y, weights)
        self.temperature_ = 1.0
        if len(self.classes_) > 1:
            codes = np.searchsorted(self.classes_, y)
            self.temperature_ = fit_temperature(self.decision_function(X), codes, weights)
        return self

    @staticmethod
    def _validation_score(outputs, Y, weights, xp):
        """Accuracy, as :meth:`score` (and MLP's validation scores), from the label coding,
        weighted by ``weights`` (``None``: unweighted)."""
        if Y.shape[1] == 1:
            return np.average((outputs[:, 0] > 0) == (Y[:, 0] > 0), weights=weights)
        return np.average(np.argmax(outputs, axis=1) == np.argmax(Y, axis=1), weights=weights)

    def decision_function(self, X):
        """Raw network outputs, shape (n,) for two classes, (n, K) otherwise."""
        output = self._forward(X, "decision_function")
        return output[:, 0] if output.shape[1] == 1 else output

    def predict(self, X):
        """Predicted class labels."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            if len(self.classes_) == 1:
                return np.full(scores.shape[0], self.classes_[0])
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, X):
        """Class probabilities, shape (n, n_classes), in the order of ``classes_``."""
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed without underflow to ``-inf``."""
        scores = self.decision_function(X)
        if len(self.classes_) == 1:
            return np.zeros((scores.shape[0], 1), dtype=scores.dtype)
        return class_log_probabilities(scores, self.temperature_).astype(scores.dtype)


def _take(A, indices, xp, device):
    """Rows ``indices`` (NumPy integers) of ``A``, in ``A``'s namespace and device."""
    if is_numpy(xp):
        return A[indices]
    return xp.take(A, from_numpy(indices, xp, device), axis=0)


def _check_xp_X(estimator, X, xp, reset):
    """Validate a non-NumPy ``X`` in its namespace (array_api_dispatch on)."""
    X = check_xp_array(X, xp, "X", ndim=2)
    if reset:
        estimator.n_features_in_ = X.shape[1]
    elif X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(estimator).__name__} "
                         f"is expecting {estimator.n_features_in_} features as input")
    return X
