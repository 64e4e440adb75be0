"""sample_weight in GBNN: weighted losses, Newton steps and stage fits."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris

from numsolve.neural import GBNNClassifier, GBNNRegressor
from numsolve.neural._activations import ACTIVATION_CODES
from numsolve.neural.gbnn._boost import loss_value, newton_step, projected_loss_grad
from numsolve.neural.gbnn._losses import LOSS_CODES


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:120], y[:120]


def _weights(n, low=0, seed=0):
    return np.random.RandomState(seed).randint(low, 4, n).astype(float)


@pytest.mark.parametrize("Est, loader", [(GBNNRegressor, None), (GBNNClassifier, load_iris)])
def test_zero_weight_is_a_dropped_row(Est, loader, diabetes):
    X, y = diabetes if loader is None else loader(return_X_y=True)
    w = _weights(X.shape[0])
    kept = w > 0
    weighted = Est(n_estimators=8, random_state=0).fit(X, y, sample_weight=w)
    dropped = Est(n_estimators=8, random_state=0).fit(X[kept], y[kept], sample_weight=w[kept])
    # the default subsample=0.5 draws among the kept rows only, so the fits are the same
    np.testing.assert_array_equal(weighted.coefs_, dropped.coefs_)
    np.testing.assert_array_equal(weighted.multipliers_, dropped.multipliers_)


def test_weights_of_ones_are_no_weights(diabetes):
    X, y = diabetes
    plain = GBNNRegressor(n_estimators=8, random_state=0).fit(X, y)
    ones = GBNNRegressor(n_estimators=8, random_state=0).fit(X, y, sample_weight=np.ones(120))
    np.testing.assert_array_equal(plain.coefs_, ones.coefs_)
    np.testing.assert_array_equal(plain.train_score_, ones.train_score_)


@pytest.mark.parametrize("Est, loader", [(GBNNRegressor, None), (GBNNClassifier, load_iris)])
def test_scaled_weights_give_the_same_model(Est, loader, diabetes):
    X, y = diabetes if loader is None else loader(return_X_y=True)
    w = _weights(X.shape[0], low=1)
    base = Est(n_estimators=8, random_state=0).fit(X, y, sample_weight=w)
    # weights are divided by their mean: a power of two leaves every bit
    twice = Est(n_estimators=8, random_state=0).fit(X, y, sample_weight=4.0 * w)
    np.testing.assert_array_equal(base.coefs_, twice.coefs_)
    # any other factor: the round-off of that division only
    other = Est(n_estimators=8, random_state=0).fit(X, y, sample_weight=3.7 * w)
    scale = np.ptp(base._raw(X))
    np.testing.assert_allclose(other._raw(X), base._raw(X), rtol=0, atol=1e-4 * scale)


def test_integer_weights_are_repeated_rows(diabetes):
    """With subsample=1 (no row draws) integer weights fit the data set that repeats each row
    w times, alpha scaled by its row count (alpha is per row: repeating rows adds rows,
    weighting them does not); equal up to the round-off of the float32 stage fits."""
    X, y = diabetes
    w = _weights(X.shape[0], low=1)
    counts = w.astype(int)
    Xr, yr = np.repeat(X, counts, axis=0), np.repeat(y, counts)
    weighted = GBNNRegressor(n_estimators=3, subsample=1.0, random_state=0).fit(
        X, y, sample_weight=w)
    repeated = GBNNRegressor(n_estimators=3, subsample=1.0, alpha=5.0 * len(yr) / len(y),
                             random_state=0).fit(Xr, yr)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-5)
    np.testing.assert_allclose(weighted.train_score_, repeated.train_score_, rtol=1e-5)
    unweighted = GBNNRegressor(n_estimators=3, subsample=1.0, random_state=0).fit(X, y)
    assert np.max(np.abs(unweighted.predict(X) - repeated.predict(X))) > 1.0


def test_weights_pull_towards_the_weighted_mean():
    # every input twice, with targets 0 and 10 weighted 1 and 3: the weighted squared error
    # is smallest at 7.5 everywhere, the unweighted one at 5
    X = np.tile(np.linspace(-1, 1, 40)[:, None], (2, 1))
    y = np.repeat([0.0, 10.0], 40)
    w = np.repeat([1.0, 3.0], 40)
    model = GBNNRegressor(n_estimators=20, random_state=0).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(model.predict(X), 7.5, atol=0.1)
    assert abs(GBNNRegressor(n_estimators=20, random_state=0).fit(X, y).predict(X).mean()
               - 5.0) < 0.1


@pytest.mark.parametrize("k", [1, 2])
def test_weighted_kernels_equal_repeated_rows(k):
    rng = np.random.RandomState(0)
    X, R = rng.randn(30, 3), rng.randn(30, k)
    w = _weights(30, low=1)
    Xr, Rr = np.repeat(X, w.astype(int), axis=0), np.repeat(R, w.astype(int), axis=0)
    theta = rng.uniform(-1, 1, 3 * 4 + 4 + 4 * k + k)
    grads = np.zeros((2, theta.size))
    thetas = theta.copy(), theta.copy()
    # the objective divides by the row count: weights of mean one for n rows equal N rows
    alpha = 0.5
    code = ACTIVATION_CODES["tanh"]
    weighted = projected_loss_grad(X, R, thetas[0], 4, code, alpha * 30 / len(Rr), grads[0],
                                   w * 30 / w.sum())
    repeated = projected_loss_grad(Xr, Rr, thetas[1], 4, code, alpha, grads[1])
    assert weighted == pytest.approx(repeated, rel=1e-10)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(thetas[0], thetas[1], rtol=1e-8, atol=1e-10)
    Y = (rng.rand(30, 1) > 0.5).astype(float)
    F, f = rng.randn(30, 1), rng.randn(30, 1)
    Yr, Fr, fr = (np.repeat(A, w.astype(int), axis=0) for A in (Y, F, f))
    for loss in (LOSS_CODES["squared"], LOSS_CODES["binary"]):
        assert loss_value(Y, F, f, 0.3, loss, w) == pytest.approx(
            loss_value(Yr, Fr, fr, 0.3, loss), rel=1e-12)
        assert newton_step(Y, Y - F, f, loss, w) == pytest.approx(
            newton_step(Yr, Yr - Fr, fr, loss), rel=1e-12)


@pytest.mark.parametrize("weights, message", [
    (-np.ones(120), "Negative"), (np.ones(7), "sample_weight"), (np.zeros(120), "non-zero")])
def test_bad_weights_are_refused(diabetes, weights, message):
    X, y = diabetes
    with pytest.raises(ValueError, match=message):
        GBNNRegressor(n_estimators=2).fit(X, y, sample_weight=weights)


def test_weights_with_early_stopping_and_the_callers_array(diabetes):
    X, y = diabetes
    w = _weights(120, low=1)
    model = GBNNRegressor(n_estimators=10, early_stopping=True, random_state=0)
    model.fit(X, y, sample_weight=w)
    assert model.validation_score_.shape == (model.n_estimators_,)
    assert np.all(np.isfinite(model.validation_score_))
    caller = w.copy()
    GBNNRegressor(n_estimators=2, random_state=0).fit(X, y, sample_weight=caller)
    np.testing.assert_array_equal(caller, w)


def test_warm_start_with_weights_equals_one_fit(diabetes):
    X, y = diabetes
    w = _weights(120)
    one = GBNNRegressor(n_estimators=10, random_state=1).fit(X, y, sample_weight=w)
    warm = GBNNRegressor(n_estimators=5, random_state=1, warm_start=True)
    warm.fit(X, y, sample_weight=w).set_params(n_estimators=10).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(warm.coefs_, one.coefs_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(warm.predict(X), one.predict(X), rtol=1e-9)
