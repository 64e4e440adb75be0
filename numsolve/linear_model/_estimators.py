"""scikit-learn estimators on top of :func:`bcd`: Lasso, ElasticNet, Ridge, LogisticRegression.

Objectives are scikit-learn's, so the estimators are drop-in replacements:

* Lasso / ElasticNet: ``1/(2 sum(s)) sum_i s_i (y_i - x_i w - b)^2 + alpha * penalty(w)``;
* Ridge: ``sum_i s_i (y_i - x_i w - b)^2 + alpha ||w||^2``;
* LogisticRegression: ``C sum_i s_i loss_i + penalty(w)`` (binary logistic, or multinomial for
  more than two classes).

``tol`` is the duality-gap tolerance relative to the objective at zero coefficients (the
intercept at its optimum; see :func:`bcd`).

The estimators check plain float NumPy training data (and, for ``LogisticRegression``,
one-dimensional numeric labels) and their hyperparameters themselves, with scikit-learn's
outcomes and errors (anything else goes to ``validate_data``): its general checks cost
150-190 us a fit, more than half of ``Lasso()`` on diabetes or wine (best of 15,
interleaved: 350 -> 160 us).
"""

from abc import ABCMeta, abstractmethod
from functools import cache
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.utils._param_validation import (Interval, StrOptions, make_constraint,
                                            validate_parameter_constraints)
from sklearn.utils.extmath import safe_sparse_dot, softmax
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._validation import finite_by_sum
from ._datafits import Logistic, Multinomial, Quadratic
from ._docstrings import with_shared_text
from ._penalties import L1, L2, L1PlusL2, NonNegL1, NoPenalty
from ._rules import RULES
from ._smooth_route import CHOLESKY_LIMIT, smooth_route_applies
from ._solver import bcd, least_squares_targets, updates_per_epoch
from ._updates import UPDATES

__all__ = ["ElasticNet", "Lasso", "LogisticRegression", "Ridge"]

_SOLVER_CONSTRAINTS = {
    "fit_intercept": ["boolean"],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "warm_start": ["boolean"],
    "rule": [StrOptions({"auto", *RULES})],
    "update": [StrOptions({"auto", *UPDATES})],
    "block_size": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def _check_class_labels(y):
    """scikit-learn's check that ``y`` (1-D, validated) holds class labels; integer labels
    always do, and skip its target-type inspection (0.12 ms, 4% of a fit on wine)."""
    if y.dtype.kind not in "iub":
        check_classification_targets(y)


@cache
def _constraint_objects(estimator_class):
    """``{parameter: constraint objects}`` of an estimator class, in scikit-learn's order
    (sorted names), built once: scikit-learn rebuilds them and reads ``__init__``'s
    signature at every fit (46 of its 47 us a check, a tenth of ``Lasso()`` on diabetes)."""
    constraints = estimator_class._parameter_constraints
    return {name: [make_constraint(c) for c in constraints[name]]
            for name in sorted(constraints)}


def _regression_data(estimator, X, y, fortran):
    """``validate_data``'s checks of the training data of the least-squares estimators:
    ``X`` float64 or float32, in Fortran order when ``fortran`` (the kernels' layout, so no
    solver path copies it again; sparse CSC or CSR kept), ``y`` numeric, one or more targets.

    A float NumPy ``X`` and a numeric NumPy ``y`` that are finite and agree in length pass
    every one of its checks as they are; they are accepted here at the cost of one sum
    each, as ``validate_data`` would record them. Everything else (lists, frames, sparse,
    other dtypes, non-finite or empty data) goes to ``validate_data`` itself, which
    converts it or raises its own error. On ``Lasso()``'s small real data sets its general
    checks cost 110-140 us a fit, a third of the fit on diabetes.
    """
    if _plain_regression_arrays(X, y):
        estimator.n_features_in_ = X.shape[1]
        if hasattr(estimator, "feature_names_in_"):  # fitted before on a frame
            del estimator.feature_names_in_
        return (np.asfortranarray(X) if fortran else X), y
    return validate_data(estimator, X, y, accept_sparse=("csc", "csr"),
                         order="F" if fortran else None, dtype=[np.float64, np.float32],
                         y_numeric=True, multi_output=True)


def _plain_regression_arrays(X, y):
    """True when ``X`` is a non-empty finite float64/float32 NumPy matrix and ``y`` a finite
    real NumPy vector or matrix (at least one column) with as many rows."""
    if not (type(X) is np.ndarray and type(y) is np.ndarray and X.ndim == 2
            and X.dtype in (np.float64, np.float32) and y.ndim in (1, 2)
            and y.dtype.kind in "fiu" and y.dtype.isnative and X.shape[0] == y.shape[0]
            and X.size > 0 and y.size > 0):
        return False
    return finite_by_sum(X, y)


def _fit_bcd(estimator, X, target, datafit, penalty, n_tasks, coef_init, intercept_init):
    """Run :func:`bcd` with the estimator's solver settings; ``max_iter`` counts epochs.

    Returns the result and the epochs it took (a fraction of an epoch counts as one).
    """
    per_epoch = updates_per_epoch(X, n_tasks, estimator.rule, estimator.block_size)
    result = bcd(X, target, datafit, penalty, rule=estimator.rule, update=estimator.update,
                 block_size=estimator.block_size, tol=estimator.tol,
                 max_iter=estimator.max_iter * per_epoch,
                 fit_intercept=estimator.fit_intercept, coef_init=coef_init,
                 intercept_init=intercept_init, random_state=estimator.random_state,
                 verbose=estimator.verbose, check_input=False)
    return result, -(-result.n_iter // per_epoch)


class _BCDRegressor(RegressorMixin, BaseEstimator, metaclass=ABCMeta):
    """Shared fit/predict of the least-squares estimators."""

    _parameter_constraints = dict(_SOLVER_CONSTRAINTS)

    def _validate_params(self):
        """scikit-learn's check of the hyperparameters, with its errors, on constraint
        objects built once per class (:func:`_constraint_objects`)."""
        for name, constraints in _constraint_objects(type(self)).items():
            value = getattr(self, name)
            if not any(constraint.is_satisfied_by(value) for constraint in constraints):
                validate_parameter_constraints(self._parameter_constraints, {name: value},
                                               caller_name=type(self).__name__)

    def _needs_fortran(self, X):
        """Whether the solver wants the training data ``X`` (as given) in Fortran order."""
        return True

    @abstractmethod
    def _penalty(self, total_weight):
        """The penalty object for a fit whose sample weights sum to ``total_weight``."""

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, float64 or float32 (kept); sparse CSC or CSR is never densified.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets; several are fitted independently, as scikit-learn's Lasso does.
        sample_weight : array-like of shape (n_samples,), optional
            Weights ``s_i`` of the samples in the loss; all one by default.

        Returns
        -------
        self
        """
        self._validate_params()
        X, y = _regression_data(self, X, y, self._needs_fortran(X))
        if sample_weight is None:  # equal weights: the datafit's default, no array to check
            total_weight = float(X.shape[0])
        else:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
            total_weight = float(sample_weight.sum())
        penalty = self._penalty(total_weight)
        targets = y.reshape(y.shape[0], -1)
        n_targets = targets.shape[1]
        warm = self.warm_start and hasattr(self, "coef_") and self.coef_.size == \
            n_targets * X.shape[1]
        coef_init = np.reshape(self.coef_, (n_targets, -1)) if warm else [None] * n_targets
        intercept_init = (np.reshape(self.intercept_, -1) if warm and self.fit_intercept
                          else [None] * n_targets)
        datafit = Quadratic(sample_weight=sample_weight)
        fits = self._fit_targets(X, targets, datafit, penalty, coef_init, intercept_init)
        coef = np.array([np.asarray(result.x, dtype=X.dtype) for result, _ in fits])
        intercept = np.array([float(result.intercept) if self.fit_intercept else 0.0
                              for result, _ in fits], dtype=X.dtype)
        single = n_targets == 1
        self.coef_ = coef[0] if single else coef
        self.intercept_ = float(intercept[0]) if y.ndim == 1 else intercept
        self.n_iter_ = fits[0][1] if single else [epochs for _, epochs in fits]
        self.dual_gap_ = fits[0][0].gap if single else np.array([r.gap for r, _ in fits])
        self.history_ = fits[0][0].history if single else [r.history for r, _ in fits]
        return self

    def _fit_targets(self, X, targets, datafit, penalty, coef_init, intercept_init):
        """One :func:`bcd` fit per column of ``targets``: a list of (result, epochs)."""
        return [_fit_bcd(self, X, targets[:, k], datafit, penalty, 1, coef_init[k],
                         intercept_init[k]) for k in range(targets.shape[1])]

    def predict(self, X):
        """Predict ``X w + b``."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=("csc", "csr"), reset=False,
                          dtype=[np.float64, np.float32])
        return safe_sparse_dot(X, self.coef_.T) + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags


@with_shared_text
class Lasso(_BCDRegressor):
    """L1-penalised least squares by greedy block coordinate descent.

    Minimises ``1/(2 sum(s)) sum_i s_i (y_i - x_i w - b)^2 + alpha ||w||_1`` (scikit-learn's
    objective; ``s`` the sample weights, all one by default).

    Parameters
    ----------
    alpha : float, default=1.0
        Weight of the L1 penalty; larger values give sparser coefficients, and every
        coefficient is zero from ``max_j |sum_i s_i x_ij (y_i - ybar)| / sum(s)`` on
        (``ybar`` the weighted mean of ``y`` with an intercept, 0 without).
        ``alpha=0`` is least squares, better solved by :class:`Ridge` or SciPy.
    {convergence_parameters}
    {positive}
    {solver_parameters}

    Attributes
    ----------
    {regression_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model import Lasso
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> y = 2.0 * X[:, 0]
    >>> Lasso(alpha=0.01).fit(X, y).coef_.round(2)
    array([1.99, 0.  ])
    """

    _parameter_constraints = {**_SOLVER_CONSTRAINTS,
                              "alpha": [Interval(Real, 0, None, closed="left")],
                              "positive": ["boolean"]}

    def __init__(self, alpha=1.0, *, fit_intercept=True, max_iter=100, tol=1e-4,
                 warm_start=False, positive=False, rule="auto", update="auto", block_size=1,
                 random_state=None, verbose=0):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.rule = rule
        self.update = update
        self.block_size = block_size
        self.random_state = random_state
        self.verbose = verbose

    def _penalty(self, total_weight):
        return NonNegL1(self.alpha) if self.positive else L1(self.alpha)


@with_shared_text
class ElasticNet(_BCDRegressor):
    """Elastic-net least squares by greedy block coordinate descent.

    Minimises ``1/(2 sum(s)) sum_i s_i (y_i - x_i w - b)^2 + alpha l1_ratio ||w||_1
    + alpha (1 - l1_ratio)/2 ||w||^2``.

    Parameters
    ----------
    alpha : float, default=1.0
        Overall weight of the penalty; larger values shrink more.
    l1_ratio : float, default=0.5
        Share of the L1 part, in [0, 1]: 1 is the Lasso, 0 is a ridge penalty (scaled as
        scikit-learn's ElasticNet, not as :class:`Ridge`). Values in between select
        correlated features together.
    {convergence_parameters}
    {positive}
    {solver_parameters}

    Attributes
    ----------
    {regression_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model import ElasticNet
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> ElasticNet(alpha=0.01).fit(X, 2.0 * X[:, 0]).coef_.round(2)
    array([1.99, 0.  ])
    """

    _parameter_constraints = {**_SOLVER_CONSTRAINTS,
                              "alpha": [Interval(Real, 0, None, closed="left")],
                              "l1_ratio": [Interval(Real, 0, 1, closed="both")],
                              "positive": ["boolean"]}

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, max_iter=100, tol=1e-4,
                 warm_start=False, positive=False, rule="auto", update="auto", block_size=1,
                 random_state=None, verbose=0):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.rule = rule
        self.update = update
        self.block_size = block_size
        self.random_state = random_state
        self.verbose = verbose

    def _penalty(self, total_weight):
        return L1PlusL2(self.alpha, self.l1_ratio, positive=self.positive)


@with_shared_text
class Ridge(_BCDRegressor):
    """Ridge regression ``sum_i s_i (y_i - x_i w - b)^2 + alpha ||w||^2``.

    With the default ``rule="auto"`` on dense ``X`` whose smaller side is at most 4000 the
    fit is one Cholesky solve of the (weighted, centred) normal equations, or of their dual
    form when there are more features than samples; ``tol`` and ``max_iter`` then play no
    part and ``n_iter_`` is 1; several targets share that one factorisation, each with its
    own gap. Sparse ``X`` (with ``alpha > 0``) is solved the same way on
    its implicitly centred Gram matrix up to 500 features, above it by conjugate gradients
    with a Jacobi preconditioner (on the dual, samples-by-samples system when there are more
    features than samples), ``max_iter`` bounding their iterations. Larger dense ``X`` and
    the other rules run block coordinate descent.

    Parameters
    ----------
    alpha : float, default=1.0
        Weight of the squared L2 penalty, on scikit-learn's Ridge scale (the loss is a sum,
        not a mean); larger values shrink the coefficients towards zero.
    {convergence_parameters}
    {solver_parameters}

    Attributes
    ----------
    {regression_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model import Ridge
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> Ridge(alpha=1.0, tol=1e-10).fit(X, 2.0 * X[:, 0]).coef_.round(3)
    array([ 1.636, -0.182])
    """

    _parameter_constraints = {**_SOLVER_CONSTRAINTS,
                              "alpha": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, alpha=1.0, *, fit_intercept=True, max_iter=100, tol=1e-4,
                 warm_start=False, rule="auto", update="auto", block_size=1,
                 random_state=None, verbose=0):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.rule = rule
        self.update = update
        self.block_size = block_size
        self.random_state = random_state
        self.verbose = verbose

    def _penalty(self, total_weight):
        return L2(self.alpha / total_weight)

    def _needs_fortran(self, X):
        """False for a NumPy ``X`` that the direct solve takes (``rule="auto"``, smaller
        side at most :data:`CHOLESKY_LIMIT`): its products read either order, and with an
        intercept it makes a centred copy anyway, so a Fortran copy first is wasted
        (digits, 1797 x 64: about 100 us of a 0.8 ms fit)."""
        return not (self.rule == "auto" and isinstance(X, np.ndarray) and X.ndim == 2
                    and min(X.shape) <= CHOLESKY_LIMIT)

    def _fit_targets(self, X, targets, datafit, penalty, coef_init, intercept_init):
        """Several targets on dense ``X`` by the direct solve share one factorisation (see
        :func:`least_squares_targets`); otherwise one :func:`bcd` fit per target."""
        if (targets.shape[1] > 1 and self.rule == "auto" and not sp.issparse(X)
                and smooth_route_applies(X, datafit, penalty)):
            return [(result, 1) for result in least_squares_targets(
                X, targets, datafit, penalty, fit_intercept=self.fit_intercept, tol=self.tol)]
        return super()._fit_targets(X, targets, datafit, penalty, coef_init, intercept_init)


@with_shared_text
class LogisticRegression(LinearClassifierMixin, ClassifierMixin, BaseEstimator):
    """Logistic regression (binary, or multinomial for more classes).

    Minimises ``C sum_i s_i loss_i(w) + penalty(w)`` with penalty ``||w||^2/2`` ("l2"),
    ``||w||_1`` ("l1"), ``l1_ratio ||w||_1 + (1 - l1_ratio)||w||^2/2`` ("elasticnet") or none,
    as scikit-learn does. With ``rule="auto"`` the smooth penalties (``"l2"``, None, or
    ``"elasticnet"`` with ``l1_ratio=0``) are solved on the whole coefficient block at once:
    damped Newton steps on the explicit Hessian for an L2-penalised binary problem on small
    dense data, otherwise trust-region Newton-CG with Hessian-vector products up to 256
    variables (``(n_features + 1)`` per class column), L-BFGS above; ``max_iter`` counts
    their iterations. L1 and elastic-net penalties run on the working-set engine (L1 multinomial
    problems, which scikit-learn solves only with saga, with feature blocks of all classes).

    Parameters
    ----------
    penalty : {{"l2", "l1", "elasticnet"}} or None, default="l2"
        Penalty on the coefficients (never on the intercept): ``"l1"`` for sparse
        coefficients, ``"elasticnet"`` to mix both, None for none (then separable data have
        no finite solution and ``max_iter`` ends the fit).
    C : float, default=1.0
        Inverse penalty strength, as in scikit-learn: the loss is multiplied by ``C``;
        smaller values regularise more.
    l1_ratio : float, optional
        Share of the L1 part, in [0, 1]; needed with ``penalty="elasticnet"``, ignored
        otherwise.
    class_weight : dict or "balanced", optional
        Weights ``{{class_label: weight}}`` multiplying the sample weights, as in
        scikit-learn; ``"balanced"`` gives ``n_samples / (n_classes * count(class))``.
    {convergence_parameters}
    {solver_parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        One row for two classes (the second class's score), one per class otherwise.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (zeros without ``fit_intercept``); centred for more than two classes,
        since the softmax ignores a common shift.
    n_iter_ : int
        Epochs run over the coefficients of all classes, in ``max_iter``'s unit.
    dual_gap_ : float
        Final duality gap, on the objective's scale.
    history_ : dict of ndarray
        Per-iteration ``objective``, ``gap``, ``kkt`` and ``elapsed`` seconds.

    Examples
    --------
    >>> import numpy as np
    >>> from numsolve.linear_model import LogisticRegression
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    >>> LogisticRegression().fit(X, [0, 0, 1, 1]).predict([[-3.0], [3.0]])
    array([0, 1])
    """

    _parameter_constraints = {**_SOLVER_CONSTRAINTS,
                              "penalty": [StrOptions({"l1", "l2", "elasticnet"}), None],
                              "C": [Interval(Real, 0, None, closed="neither")],
                              "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
                              "class_weight": [dict, StrOptions({"balanced"}), None]}

    def __init__(self, penalty="l2", *, C=1.0, l1_ratio=None, class_weight=None,
                 fit_intercept=True, max_iter=100, tol=1e-4, warm_start=False, rule="auto",
                 update="auto", block_size=1, random_state=None, verbose=0):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.class_weight = class_weight
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.rule = rule
        self.update = update
        self.block_size = block_size
        self.random_state = random_state
        self.verbose = verbose

    _validate_params = _BCDRegressor._validate_params

    def _make_penalty(self, total_weight):
        alpha = 1.0 / (self.C * total_weight)
        if self.penalty == "l2":
            return L2(alpha)
        if self.penalty == "l1":
            return L1(alpha)
        if self.penalty == "elasticnet":
            if self.l1_ratio is None:
                raise ValueError("penalty='elasticnet' needs l1_ratio")
            return L1PlusL2(alpha, self.l1_ratio)
        return NoPenalty()

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, float64 or float32 (kept); sparse CSC or CSR is never densified.
        y : array-like of shape (n_samples,)
            Class labels, two or more classes.
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the samples in the loss, multiplied by ``class_weight``'s.

        Returns
        -------
        self
        """
        self._validate_params()
        if type(y) is np.ndarray and y.ndim == 1 and y.dtype.kind in "fiu":
            # numeric labels: the least-squares estimators' checks are validate_data's here
            X, y = _regression_data(self, X, y, fortran=False)
        else:
            X, y = validate_data(self, X, y, accept_sparse=("csc", "csr"),
                                 dtype=[np.float64, np.float32])
        _check_class_labels(y)
        classes, encoded = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                f"This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {classes[0]!r}")
        if self.class_weight is not None:
            weights = compute_class_weight(self.class_weight, classes=classes, y=y,
                                           sample_weight=sample_weight)
        sample_weight = (np.ones(X.shape[0]) if sample_weight is None else
                         _check_sample_weight(sample_weight, X, dtype=np.float64, copy=True))
        if self.class_weight is not None:
            sample_weight *= weights[encoded]
        binary = classes.size == 2
        if binary:
            datafit = Logistic(sample_weight=sample_weight)
            target = np.where(encoded == 1, 1.0, -1.0)
        else:
            datafit = Multinomial(n_classes=classes.size, sample_weight=sample_weight)
            target = encoded.astype(float)
        n_tasks = 1 if binary else classes.size
        warm = (self.warm_start and hasattr(self, "coef_")
                and self.coef_.shape == (n_tasks, X.shape[1]))
        result, epochs = _fit_bcd(
            self, X, target, datafit, self._make_penalty(float(sample_weight.sum())), n_tasks,
            coef_init=self.coef_.T if warm else None,
            intercept_init=self.intercept_ if warm and self.fit_intercept else None)
        coef = np.asarray(result.x, dtype=X.dtype)
        self.classes_ = classes
        self.coef_ = coef.reshape(1, -1) if binary else np.ascontiguousarray(coef.T)
        intercept = np.atleast_1d(np.asarray(result.intercept, dtype=X.dtype))
        if not binary:  # softmax is invariant to a common shift: report the centred one
            intercept = intercept - intercept.mean()
        self.intercept_ = intercept if self.fit_intercept else np.zeros_like(intercept)
        self.n_iter_ = epochs
        self.dual_gap_ = result.gap
        self.history_ = result.history
        return self

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            positive = 0.5 * (1.0 + np.tanh(0.5 * scores))
            return np.column_stack([1.0 - positive, positive])
        return softmax(scores)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
