"""LogisticRegression's input and parameter checks: plain NumPy data with numeric labels
skip ``validate_data`` (as the least-squares estimators' do), with scikit-learn's errors and
fitted attributes for everything else."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import validate_data

from numsolve.linear_model import LogisticRegression
from numsolve.linear_model import _estimators


def _data(seed=0, n=40):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    return X, (X[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(int)


def test_numeric_labels_skip_validate_data(monkeypatch):
    """Plain float arrays with integer or float labels are checked without scikit-learn's
    general checks (a tenth of a fit on breast_cancer)."""
    def refuse(*args, **kwargs):
        raise AssertionError("validate_data called on plain arrays")

    monkeypatch.setattr(_estimators, "validate_data", refuse)
    X, y = _data()
    for labels in (y, y.astype(float), 3 * y - 1):
        model = LogisticRegression(penalty="l1").fit(X, labels)
        assert model.n_features_in_ == 3
        np.testing.assert_array_equal(model.classes_, np.unique(labels))


def _other_cases():
    X, y = _data(1, 12)
    with_nan = X.copy()
    with_nan[2, 1] = np.nan
    y_nan = y.astype(float)
    y_nan[3] = np.nan
    return {
        "nan in X": (with_nan, y),
        "nan in y": (X, y_nan),
        "inf in y": (X, np.where(y > 0, np.inf, 0.0)),
        "lengths differ": (X, y[:5]),
        "column y": (X, y[:, None]),
        "no samples": (X[:0], y[:0]),
        "no features": (X[:, :0], y),
        "1-D X": (X[:, 0], y),
        "integer X": (np.arange(36).reshape(12, 3), y),
        "string labels": (X, np.where(y > 0, "yes", "no")),
        "bool labels": (X, y > 0),
        "list": (X.tolist(), y.tolist()),
    }


@pytest.mark.parametrize("case", sorted(_other_cases()))
def test_input_matches_validate_data(case):
    """Each input is accepted or refused as ``validate_data`` would, with its error."""
    X, y = _other_cases()[case]
    try:
        validate_data(LogisticRegression(), X, y, accept_sparse=("csc", "csr"),
                      dtype=[np.float64, np.float32])
    except Exception as error:  # noqa: BLE001 - the same error is expected
        with pytest.raises(type(error), match=re.escape(str(error).split("\n")[0])):
            LogisticRegression().fit(X, y)
        return
    assert LogisticRegression().fit(X, y).n_features_in_ == 3


def test_default_weights_are_ones():
    X, y = _data(2)
    plain = LogisticRegression(penalty="l1", C=0.5).fit(X, y)
    weighted = LogisticRegression(penalty="l1", C=0.5).fit(X, y, sample_weight=np.ones(40))
    np.testing.assert_array_equal(plain.coef_, weighted.coef_)
    np.testing.assert_array_equal(plain.intercept_, weighted.intercept_)


def test_float32_kept_and_feature_names_dropped_on_refit():
    X, y = _data(3)
    model = LogisticRegression().fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    model.fit(X.astype(np.float32), y)
    assert not hasattr(model, "feature_names_in_")
    assert model.coef_.dtype == np.float32


@pytest.mark.parametrize("estimator, message", [
    (LogisticRegression(C=-1.0), "'C' parameter of LogisticRegression"),
    (LogisticRegression(penalty="l3"), "'penalty' parameter of LogisticRegression"),
    (LogisticRegression(l1_ratio=2.0, C=0.0), "'C' parameter of LogisticRegression"),
    (LogisticRegression(class_weight="even"), "'class_weight' parameter of"),
])
def test_parameter_errors_match_scikit_learn(estimator, message):
    """The first invalid parameter in sorted order is reported, with scikit-learn's text."""
    with pytest.raises(InvalidParameterError) as ours:
        estimator.fit(*_data())
    with pytest.raises(InvalidParameterError) as theirs:
        BaseEstimator._validate_params(estimator)
    assert message in str(ours.value)
    assert str(ours.value) == str(theirs.value)
