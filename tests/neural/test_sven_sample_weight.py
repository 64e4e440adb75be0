"""sample_weight in Sven: each residual row and its Jacobian row times sqrt(weight)."""

import numpy as np
import pytest
from sklearn.datasets import load_iris

from numsolve.neural._sven._datasets import make_sven_toy_1d
from numsolve.neural import SvenClassifier, SvenRegressor

PARAMS = dict(hidden_layer_sizes=(6,), max_iter=4, random_state=0)


@pytest.fixture(scope="module")
def toy():
    X, y, _, _ = make_sven_toy_1d(120, 10, random_state=0)
    return X, y


def _weights(n, low=0):
    return np.random.RandomState(0).randint(low, 4, n).astype(float)


def test_zero_weight_is_a_dropped_row(toy):
    X, y = toy
    w = _weights(120)
    kept = w > 0
    weighted = SvenRegressor(**PARAMS).fit(X, y, sample_weight=w)
    dropped = SvenRegressor(**PARAMS).fit(X[kept], y[kept], sample_weight=w[kept])
    # the batches are drawn among the kept rows only
    np.testing.assert_array_equal(weighted.predict(X), dropped.predict(X))


def test_weights_of_ones_and_scaled_weights(toy):
    X, y = toy
    plain = SvenRegressor(**PARAMS).fit(X, y)
    ones = SvenRegressor(**PARAMS).fit(X, y, sample_weight=np.ones(120))
    np.testing.assert_array_equal(plain.predict(X), ones.predict(X))
    w = _weights(120, low=1)
    base = SvenRegressor(**PARAMS).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(  # divided by their mean: a power of two keeps every bit
        SvenRegressor(**PARAMS).fit(X, y, sample_weight=0.25 * w).predict(X), base.predict(X))
    np.testing.assert_allclose(
        SvenRegressor(**PARAMS).fit(X, y, sample_weight=3.7 * w).predict(X), base.predict(X),
        rtol=1e-6, atol=1e-8)


def test_integer_weights_are_repeated_rows_in_full_batch(toy):
    """Full batch: the step solves the weighted rows sqrt(w) J d = sqrt(w) r in the
    minimum-norm sense, the repeated rows have the same normal equations and singular values,
    so the steps and the model agree up to round-off."""
    X, y = toy
    w = _weights(120, low=1)
    counts = w.astype(int)
    params = dict(PARAMS, batch_size=None)
    weighted = SvenRegressor(**params).fit(X, y, sample_weight=w)
    repeated = SvenRegressor(**params).fit(np.repeat(X, counts, axis=0), np.repeat(y, counts))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-6)
    unweighted = SvenRegressor(**params).fit(X, y)
    assert np.max(np.abs(unweighted.predict(X) - repeated.predict(X))) > 1e-3


def test_weights_pull_towards_the_weighted_mean():
    # each input twice, targets -1 and 1 weighted 1 and 3: the weighted optimum is 0.5
    X = np.tile(np.linspace(-1, 1, 30)[:, None], (2, 1))
    y = np.repeat([-1.0, 1.0], 30)
    w = np.repeat([1.0, 3.0], 30)
    params = dict(hidden_layer_sizes=(4,), batch_size=None, learning_rate=0.5, max_iter=20,
                  random_state=0)
    np.testing.assert_allclose(SvenRegressor(**params).fit(X, y, sample_weight=w).predict(X),
                               0.5, atol=0.01)
    np.testing.assert_allclose(SvenRegressor(**params).fit(X, y).predict(X), 0.0, atol=0.01)


def test_classifier_weights():
    X, y = load_iris(return_X_y=True)
    w = _weights(150)
    kept = w > 0
    weighted = SvenClassifier(**PARAMS).fit(X, y, sample_weight=w)
    dropped = SvenClassifier(**PARAMS).fit(X[kept], y[kept], sample_weight=w[kept])
    np.testing.assert_array_equal(weighted.predict_proba(X), dropped.predict_proba(X))
    assert weighted.temperature_ == dropped.temperature_


@pytest.mark.parametrize("Est", [SvenRegressor, SvenClassifier])
def test_bad_weights_and_early_stopping(Est, toy):
    X, y = toy
    y = y if Est is SvenRegressor else (y > 0).astype(int)
    with pytest.raises(ValueError, match="Negative"):
        Est(**PARAMS).fit(X, y, sample_weight=-np.ones(120))
    with pytest.raises(ValueError, match="sample_weight"):
        Est(**PARAMS).fit(X, y, sample_weight=np.ones(5))
    w = _weights(120, low=1)
    caller = w.copy()
    model = Est(**PARAMS, early_stopping=True).fit(X, y, sample_weight=caller)
    np.testing.assert_array_equal(caller, w)
    assert len(model.validation_scores_) == model.n_iter_


def test_weighted_array_namespace_path_matches_numpy(xp_device, monkeypatch, toy):
    """The generic path scales the residual rows, the Gram matrix and J' w by sqrt(weight)
    in the input's namespace; it fits the model of the compiled path."""
    import numsolve.neural._sven._estimators as module
    from numsolve._array_api import array_namespace, to_numpy

    xp, device = xp_device
    X, y = toy
    w = _weights(120)
    expected = SvenRegressor(**PARAMS).fit(X, y, sample_weight=w).predict(X)
    monkeypatch.setattr(module, "estimator_namespace", array_namespace)
    X_xp, y_xp = xp.asarray(X, device=device), xp.asarray(y, device=device)
    model = SvenRegressor(**PARAMS).fit(X_xp, y_xp, sample_weight=w)
    np.testing.assert_allclose(to_numpy(model.predict(X_xp)), expected, rtol=1e-6, atol=1e-8)
