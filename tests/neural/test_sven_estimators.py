"""SvenRegressor and SvenClassifier: the paper's claims on small versions of its tasks."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor

from numsolve.neural._sven._datasets import make_sven_polynomial, make_sven_toy_1d
from numsolve.neural._sven._estimators import SvenClassifier, SvenRegressor


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def mse(model, X, y):
    return float(np.mean((model.predict(X) - y) ** 2))


def test_toy_1d_beats_adam_and_sgd_at_equal_epochs():
    X, y, Xv, yv = make_sven_toy_1d(1000, 1000, random_state=0)
    common = dict(hidden_layer_sizes=(16, 16), batch_size=32, random_state=1)
    sven = SvenRegressor(activation="tanh", max_iter=8, **common).fit(X, y)
    adam = MLPRegressor(activation="tanh", solver="adam", max_iter=8, alpha=0.0,
                        **common).fit(X, y)
    sgd = MLPRegressor(activation="tanh", solver="sgd", learning_rate_init=0.1,
                       momentum=0.9, max_iter=8, alpha=0.0, **common).fit(X, y)
    sven_mse = mse(sven, Xv, yv)
    assert sven_mse < 1e-3
    assert sven_mse < mse(adam, Xv, yv) / 10
    assert sven_mse < mse(sgd, Xv, yv) / 10


def test_polynomial_task_beats_adam_at_equal_epochs():
    X, y, Xv, yv = make_sven_polynomial(2000, 1000, random_state=0)
    common = dict(hidden_layer_sizes=(16, 16), batch_size=32, random_state=0)
    sven = SvenRegressor(max_iter=5, rtol=1e-3, **common).fit(X, y)
    adam = MLPRegressor(activation="relu", max_iter=5, alpha=0.0, **common).fit(X, y)
    assert mse(sven, Xv, yv) < mse(adam, Xv, yv)


def test_loss_curve_and_attributes():
    X, y, _, _ = make_sven_toy_1d(300, 10, random_state=0)
    model = SvenRegressor(hidden_layer_sizes=(8, 8), max_iter=6, random_state=0).fit(X, y)
    assert model.n_iter_ == 6 and len(model.loss_curve_) == 6
    assert model.loss_curve_[-1] < 0.5 * np.var(y) * 0.05
    assert [W.shape for W in model.coefs_] == [(1, 8), (8, 8), (8, 1)]
    assert model.layer_sizes_ == (1, 8, 8, 1)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_early_stopping_keeps_the_best_validation_parameters():
    X, y, _, _ = make_sven_toy_1d(400, 10, random_state=0)
    model = SvenRegressor(hidden_layer_sizes=(8,), max_iter=40, early_stopping=True,
                          n_iter_no_change=2, tol=0.0, random_state=0).fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_ < 40
    assert model.best_validation_score_ == max(model.validation_scores_)
    # the kept network must be the best epoch's, not the last (worse) one: its R^2 on the
    # held-out rows (the estimator's split, drawn first from the same seed) is the best score,
    # as MLPRegressor's validation scores are
    assert model.validation_scores_[-1] < model.best_validation_score_
    _, held_out = train_test_split(np.arange(X.shape[0]), test_size=0.1,
                                   random_state=np.random.RandomState(0))
    r2 = model.score(X[held_out], y[held_out])
    assert r2 == pytest.approx(model.best_validation_score_, rel=1e-10)


def test_classifier_early_stopping_scores_validation_accuracy():
    X, y = load_iris(return_X_y=True)
    model = SvenClassifier(hidden_layer_sizes=(8,), max_iter=30, early_stopping=True,
                           validation_fraction=0.2, n_iter_no_change=3, random_state=0)
    model.fit(X, y)
    assert model.best_validation_score_ == max(model.validation_scores_) > 0.8
    _, held_out = train_test_split(np.arange(X.shape[0]), test_size=0.2,
                                   random_state=np.random.RandomState(0))
    assert model.score(X[held_out], y[held_out]) == model.best_validation_score_


def test_default_fit_runs_its_epoch_budget_without_warning():
    X, y, _, _ = make_sven_toy_1d(200, 10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = SvenRegressor(hidden_layer_sizes=(8,), random_state=0).fit(X, y)
    assert model.n_iter_ == 20
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        SvenRegressor(hidden_layer_sizes=(8,), max_iter=2, tol=1e-12,
                      random_state=0).fit(X, y)


def test_warm_start_continues():
    X, y, _, _ = make_sven_toy_1d(300, 10, random_state=0)
    model = SvenRegressor(hidden_layer_sizes=(8,), max_iter=2, warm_start=True,
                          random_state=0).fit(X, y)
    first = model.loss_
    model.fit(X, y)
    assert model.loss_ < first


def test_multi_output_regression_and_float32():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 2)).astype(np.float32)
    Y = np.stack([np.sin(2 * X[:, 0]), X[:, 0] * X[:, 1]], axis=1)
    model = SvenRegressor(hidden_layer_sizes=(16,), max_iter=30, random_state=0).fit(X, Y)
    assert model.predict(X).shape == (200, 2) and model.coefs_[0].dtype == np.float32
    assert model.score(X, Y) > 0.95


def test_classifier_label_regression():
    X, y = load_iris(return_X_y=True)
    model = SvenClassifier(hidden_layer_sizes=(16,), max_iter=50, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.97
    assert model.decision_function(X).shape == (150, 3)
    binary = SvenClassifier(hidden_layer_sizes=(8,), random_state=0).fit(X[y < 2], y[y < 2])
    assert binary.score(X[y < 2], y[y < 2]) == 1.0


@pytest.mark.parametrize("params, error", [
    (dict(activation="swish"), ValueError),
    (dict(hidden_layer_sizes=(4, 0)), ValueError),
    (dict(learning_rate=0.0), ValueError),
    (dict(rtol=2.0), ValueError),
    (dict(k=0), ValueError),
    (dict(batch_size=0), ValueError),
])
def test_bad_parameters(params, error):
    X, y, _, _ = make_sven_toy_1d(50, 10, random_state=0)
    with pytest.raises(error):
        SvenRegressor(**params).fit(X, y)


def test_bad_data_and_input_unchanged():
    X, y, _, _ = make_sven_toy_1d(50, 10, random_state=0)
    X_copy, y_copy = X.copy(), y.copy()
    SvenRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SvenRegressor().fit(bad, y)
    with pytest.raises(ValueError):
        SvenRegressor().fit(X, y[:-1])


def test_regressor_array_namespace_path_matches_numpy(xp_device, monkeypatch):
    """With array_api_dispatch on, fitting stays in the input's namespace and device.

    (scikit-learn's dispatch needs SCIPY_ARRAY_API=1 at start-up, so the namespace choice is
    patched here instead of switched on.)
    """
    import numsolve.neural._sven._estimators as module
    from numsolve._array_api import array_namespace, to_numpy

    xp, device = xp_device
    X, y, _, _ = make_sven_toy_1d(120, 10, random_state=0)
    params = dict(hidden_layer_sizes=(6,), max_iter=2, random_state=0)
    expected = SvenRegressor(**params).fit(X, y).predict(X)
    monkeypatch.setattr(module, "estimator_namespace", array_namespace)
    X_xp, y_xp = xp.asarray(X, device=device), xp.asarray(y, device=device)
    model = SvenRegressor(**params).fit(X_xp, y_xp)
    prediction = model.predict(X_xp)
    from array_api_compat import device as device_of

    assert device_of(prediction) == device_of(X_xp)
    assert device_of(model.coefs_[0]) == device_of(X_xp)
    np.testing.assert_allclose(to_numpy(prediction), expected, rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="features"):
        model.predict(xp.ones((3, 2), dtype=xp.float64, device=device))
    with pytest.raises(TypeError, match="NumPy inputs only"):
        SvenClassifier().fit(X_xp, y_xp)


def test_microbatching_still_fits():
    X, y, Xv, yv = make_sven_toy_1d(500, 500, random_state=0)
    model = SvenRegressor(hidden_layer_sizes=(16, 16), batch_size=32, microbatch_size=2,
                          max_iter=10, random_state=0).fit(X, y)
    assert mse(model, Xv, yv) < 1e-2
    assert np.nanmax(model.history_["rank"]) <= 16
