"""The least-squares estimators' own input and parameter checks agree with scikit-learn's
``validate_data`` and ``_validate_params``: same arrays and fitted attributes for plain NumPy
data (checked without ``validate_data``), same errors and conversions for everything else."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import validate_data

from numsolve.linear_model import ElasticNet, Lasso, Ridge
from numsolve.linear_model import _estimators


def _reference(estimator, X, y):
    """What ``validate_data`` makes of ``(X, y)`` for the least-squares estimators."""
    return validate_data(estimator, X, y, accept_sparse=("csc", "csr"), order="F",
                         dtype=[np.float64, np.float32], y_numeric=True, multi_output=True)


def _plain_cases():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 4))
    return [
        (X, rng.standard_normal(12)),
        (np.asfortranarray(X), rng.standard_normal(12)),
        (X.astype(np.float32), rng.standard_normal(12).astype(np.float32)),
        (X[:, ::2], rng.integers(0, 5, 12)),
        (X, rng.standard_normal((12, 3))),
        (X[:1], np.array([2.0])),
    ]


@pytest.mark.parametrize("X, y", _plain_cases())
def test_plain_arrays_match_validate_data(X, y):
    ours, theirs = Lasso(), Lasso()
    X_ours, y_ours = _estimators._regression_data(ours, X, y, True)
    X_ref, y_ref = _reference(theirs, X, y)
    assert X_ours.dtype == X_ref.dtype and X_ours.flags.f_contiguous
    np.testing.assert_array_equal(X_ours, X_ref)
    assert y_ours.dtype == y_ref.dtype
    np.testing.assert_array_equal(y_ours, y_ref)
    assert ours.n_features_in_ == theirs.n_features_in_ == X.shape[1]


def test_plain_arrays_skip_validate_data(monkeypatch):
    """Plain float arrays are checked without scikit-learn's general checks, whose cost
    is most of a small fit."""
    def refuse(*args, **kwargs):
        raise AssertionError("validate_data called on plain arrays")

    monkeypatch.setattr(_estimators, "validate_data", refuse)
    X = np.random.default_rng(1).standard_normal((30, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    for estimator in (Lasso(alpha=0.01), ElasticNet(alpha=0.01), Ridge()):
        assert estimator.fit(X, y).n_features_in_ == 3


def _other_cases():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 3))
    y = rng.standard_normal(6)
    with_nan, with_inf = X.copy(), X.copy()
    with_nan[2, 1] = np.nan
    with_inf[0, 0] = np.inf
    y_nan = y.copy()
    y_nan[3] = np.nan
    huge = np.full((4, 2), np.finfo(np.float32).max, dtype=np.float32)
    return {
        "list": (X.tolist(), y.tolist()),
        "integer X": (np.arange(18).reshape(6, 3), y),
        "nan in X": (with_nan, y),
        "inf in X": (with_inf, y),
        "nan in y": (X, y_nan),
        "complex y": (X, y + 1j),
        "object y": (X, y.astype(object)),
        "bool y": (X, y > 0),
        "no columns in y": (X, np.empty((6, 0))),
        "no samples": (X[:0], y[:0]),
        "no features": (X[:, :0], y),
        "lengths differ": (X, y[:5]),
        "1-D X": (X[:, 0], y),
        "sum overflows": (huge, np.ones(4)),
        "matrix": (np.asmatrix(X), y),
    }


@pytest.mark.parametrize("case", sorted(_other_cases()))
def test_other_input_matches_validate_data(case):
    X, y = _other_cases()[case]
    try:
        expected = _reference(Lasso(), X, y)
    except Exception as error:  # noqa: BLE001 - the same error is expected
        with pytest.raises(type(error), match=_escaped_start(error)):
            _estimators._regression_data(Lasso(), X, y, True)
        return
    X_ours, y_ours = _estimators._regression_data(Lasso(), X, y, True)
    assert type(X_ours) is type(expected[0]) and X_ours.dtype == expected[0].dtype
    np.testing.assert_array_equal(X_ours, expected[0])
    np.testing.assert_array_equal(y_ours, expected[1])


def _escaped_start(error):
    """The first line of ``error``'s message, as a pattern."""
    return re.escape(str(error).split("\n")[0])


def test_feature_names_dropped_on_refit_with_arrays():
    X = np.random.default_rng(3).standard_normal((20, 2))
    y = X[:, 0]
    estimator = Lasso(alpha=0.01).fit(pd.DataFrame(X, columns=["a", "b"]), y)
    assert list(estimator.feature_names_in_) == ["a", "b"]
    estimator.fit(X, y)
    assert not hasattr(estimator, "feature_names_in_")


@pytest.mark.parametrize("estimator, message", [
    (Lasso(alpha=-1.0), "'alpha' parameter of Lasso"),
    (Lasso(max_iter=0, tol=-1.0), "'max_iter' parameter of Lasso"),
    (ElasticNet(l1_ratio=2.0), "'l1_ratio' parameter of ElasticNet"),
    (Ridge(rule="nope"), "'rule' parameter of Ridge"),
    (Ridge(fit_intercept="yes"), "'fit_intercept' parameter of Ridge"),
    (Lasso(random_state="seed"), "'random_state' parameter of Lasso"),
])
def test_parameter_errors_match_scikit_learn(estimator, message):
    """The first invalid parameter in sorted order is reported, with scikit-learn's text."""
    with pytest.raises(InvalidParameterError) as ours:
        estimator._validate_params()
    with pytest.raises(InvalidParameterError) as theirs:
        BaseEstimator._validate_params(estimator)
    assert message in str(ours.value)
    assert str(ours.value) == str(theirs.value)


def test_valid_parameters_pass():
    for estimator in (Lasso(alpha=0.0, positive=True, random_state=np.random.RandomState(0)),
                      ElasticNet(l1_ratio=0, verbose=True), Ridge(alpha=3, tol=0)):
        estimator._validate_params()
        BaseEstimator._validate_params(estimator)


def test_ridge_direct_solve_takes_either_order():
    """The direct solve reads C-ordered ``X`` as it is (no Fortran copy first) and finds
    the solution it finds from the Fortran copy; the other rules get Fortran order."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((80, 6))
    Y = X @ rng.standard_normal((6, 2)) + rng.standard_normal((80, 2))
    assert not Ridge()._needs_fortran(X)
    assert Ridge(rule="cyclic")._needs_fortran(X)
    assert Ridge()._needs_fortran(X.tolist())
    assert Lasso()._needs_fortran(X)
    for fit_intercept in (False, True):
        for target in (Y[:, 0], Y):
            c_order = Ridge(fit_intercept=fit_intercept).fit(X, target)
            f_order = Ridge(fit_intercept=fit_intercept).fit(np.asfortranarray(X), target)
            np.testing.assert_allclose(c_order.coef_, f_order.coef_, rtol=1e-12)
            np.testing.assert_allclose(c_order.intercept_, f_order.intercept_, rtol=1e-12,
                                       atol=1e-12)
