import pickle

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from numsolve._progress import progress
from numsolve.neural import GBNNClassifier, GBNNRegressor
from numsolve.neural.gbnn import _estimators
from numsolve.neural.gbnn._boost import loss_value, newton_step, residuals_into
from numsolve.neural.gbnn._losses import LOSS_CODES


def _split(loader, n=None):
    X, y = loader(return_X_y=True)
    if n is not None:
        X, y = X[:n], y[:n]
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xte), ytr, yte


@pytest.fixture(scope="module")
def diabetes():
    return _split(load_diabetes)


def test_merged_network_equals_sum_of_stages(diabetes):
    Xtr, Xte, ytr, _ = diabetes
    model = GBNNRegressor(n_estimators=15, random_state=0).fit(Xtr, ytr)
    *_, last = model.staged_predict(Xte)
    np.testing.assert_allclose(model.predict(Xte), last, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(model.to_mlp().predict(Xte), model.predict(Xte), rtol=1e-12,
                               atol=1e-9)


def test_training_loss_decreases_and_pruning_monotone(diabetes):
    Xtr, _, ytr, _ = diabetes
    model = GBNNRegressor(n_estimators=20, random_state=0).fit(Xtr, ytr)
    assert np.all(np.diff(model.train_score_) <= 1e-12)
    pruned = [np.mean((model.predict(Xtr, n_estimators=t) - ytr) ** 2) for t in range(21)]
    assert np.all(np.diff(pruned) <= 1e-8)
    assert pruned[0] == pytest.approx(np.var(ytr))


def test_pruning_equals_shorter_model(diabetes):
    Xtr, Xte, ytr, _ = diabetes
    full = GBNNRegressor(n_estimators=12, random_state=3).fit(Xtr, ytr)
    short = GBNNRegressor(n_estimators=6, random_state=3).fit(Xtr, ytr)
    np.testing.assert_allclose(full.predict(Xte, n_estimators=6), short.predict(Xte), rtol=1e-12)


@pytest.mark.parametrize("subsample", [0.5, 1.0])
def test_warm_start_equals_one_fit(diabetes, subsample):
    Xtr, Xte, ytr, _ = diabetes
    one = GBNNRegressor(n_estimators=10, subsample=subsample, random_state=1).fit(Xtr, ytr)
    warm = GBNNRegressor(n_estimators=5, subsample=subsample, random_state=1, warm_start=True)
    warm.fit(Xtr, ytr).set_params(n_estimators=10).fit(Xtr, ytr)
    assert warm.n_estimators_ == one.n_estimators_ == 10
    # the stages after the first five must be the direct fit's, not refits of its first draws
    np.testing.assert_allclose(warm.multipliers_, one.multipliers_, rtol=1e-9)
    np.testing.assert_allclose(warm.coefs_, one.coefs_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(warm.predict(Xte), one.predict(Xte), rtol=1e-9)


def test_diabetes_unscaled_target_never_diverges(diabetes):
    Xtr, Xte, ytr, yte = diabetes
    model = GBNNRegressor(n_estimators=60, random_state=0).fit(Xtr, ytr)
    rmse = np.sqrt(np.mean((model.predict(Xte) - yte) ** 2))
    assert rmse < 62  # reference package with defaults: 1125 (diverged); y std 77


@pytest.mark.parametrize("loss", sorted(LOSS_CODES))
def test_newton_multiplier_matches_line_search(loss):
    rng = np.random.RandomState(0)
    k = 3 if loss == "multinomial" else 1
    F = rng.randn(80, k)
    if loss == "squared":
        Y = rng.randn(80, 1)
    else:
        Y = np.ascontiguousarray(np.eye(max(k, 2))[rng.randint(0, max(k, 2), 80)][:, -k:])
    f = rng.randn(80, k) * 0.01
    code = LOSS_CODES[loss]
    R = np.empty_like(F)
    residuals_into(Y, F, code, R)
    rho = newton_step(Y, R, f, code)
    grid = np.linspace(rho - 1, rho + 1, 20001)
    best = grid[np.argmin([loss_value(Y, F, f, g, code) for g in grid])]
    # multinomial: the step uses the diagonal of the softmax Hessian, as the paper does
    assert rho == pytest.approx(best, rel=5e-2 if loss == "multinomial" else 1e-2)
    # the residuals are the negative gradient of the mean loss, times n
    eps = 1e-6
    step = (loss_value(Y, F, f, eps, code) - loss_value(Y, F, f, -eps, code)) / (2 * eps)
    assert step * F.shape[0] == pytest.approx(-np.sum(R * f), rel=1e-6)


def test_breast_cancer_accuracy_and_to_mlp():
    Xtr, Xte, ytr, yte = _split(load_breast_cancer)
    model = GBNNClassifier(n_estimators=60, random_state=0).fit(Xtr, ytr)
    assert model.score(Xte, yte) >= 0.94
    assert model.predict_proba(Xte).shape == (Xte.shape[0], 2)
    np.testing.assert_allclose(model.to_mlp().predict_proba(Xte), model.predict_proba(Xte),
                               atol=1e-12)
    assert np.all(np.diff(model.train_score_) <= 1e-12)


def test_digits_multiclass():
    Xtr, Xte, ytr, yte = _split(load_digits, 600)
    model = GBNNClassifier(n_estimators=30, units_per_stage=3, random_state=0).fit(Xtr, ytr)
    assert model.output_weights_.shape == (90, 10)
    assert model.score(Xte, yte) >= 0.9
    np.testing.assert_array_equal(model.to_mlp().predict(Xte), model.predict(Xte))
    staged = list(model.staged_predict_proba(Xte))
    np.testing.assert_allclose(staged[9], model.predict_proba(Xte, n_estimators=10), atol=1e-12)


def test_early_stopping_pipeline_pickle_float32(diabetes):
    Xtr, Xte, ytr, _ = diabetes
    model = GBNNRegressor(n_estimators=200, early_stopping=True, n_iter_no_change=5,
                          random_state=0).fit(Xtr.astype(np.float32), ytr)
    assert 0 < model.n_estimators_ < 200
    assert model.n_estimators_ == np.argmin(model.validation_score_) + 1
    assert model.coefs_.dtype == np.float32
    assert model.predict(Xte.astype(np.float32)).dtype == np.float32
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(Xte), model.predict(Xte))
    pipe = make_pipeline(StandardScaler(), GBNNClassifier(n_estimators=5, random_state=0))
    assert pipe.fit(Xtr, ytr > 140).score(Xtr, ytr > 140) > 0.6


@pytest.mark.parametrize("early_stopping", [False, True])
def test_verbose_fit_moves_the_bar_and_equals_the_quiet_fit(diabetes, monkeypatch,
                                                           early_stopping):
    Xtr, Xte, ytr, _ = diabetes
    params = dict(n_estimators=60, early_stopping=early_stopping, n_iter_no_change=4,
                  random_state=0)
    quiet = GBNNRegressor(**params).fit(Xtr, ytr)
    steps = []

    def recording_progress(*args, **kwargs):
        bar = progress(*args, **kwargs)
        update = bar.update
        bar.update = lambda n=1: (steps.append(n), update(n))
        return bar

    monkeypatch.setattr(_estimators, "progress", recording_progress)
    loud = GBNNRegressor(**params, verbose=1).fit(Xtr, ytr)
    assert len(steps) > 2 and sum(steps) == loud.n_iter_  # moves while fitting, not at the end
    assert loud.n_estimators_ == quiet.n_estimators_
    if early_stopping:
        assert quiet.n_estimators_ < 60 and quiet.n_iter_ < 60
    assert loud.n_iter_ == quiet.n_iter_
    np.testing.assert_array_equal(loud.validation_score_, quiet.validation_score_)
    np.testing.assert_array_equal(loud.predict(Xte), quiet.predict(Xte))


def test_validation_losses_only_with_early_stopping_and_warm_start_switch(diabetes):
    Xtr, _, ytr, _ = diabetes
    model = GBNNRegressor(n_estimators=5, random_state=0, warm_start=True).fit(Xtr, ytr)
    assert model.validation_score_.size == 0 and model.train_score_.size == 5
    model.set_params(n_estimators=30, early_stopping=True)
    with pytest.raises(ValueError, match="without early stopping"):
        model.fit(Xtr, ytr)
    assert model.n_estimators_ == 5  # refused before any work


def test_bad_input(diabetes):
    Xtr, _, ytr, _ = diabetes
    X0 = Xtr.copy()
    model = GBNNRegressor(n_estimators=3, random_state=0).fit(Xtr, ytr)
    np.testing.assert_array_equal(Xtr, X0)
    with pytest.raises(ValueError, match="n_estimators"):
        model.predict(Xtr, n_estimators=4)
    with pytest.raises(ValueError, match="features"):
        model.predict(Xtr[:, :3])
    with pytest.raises(ValueError, match="learning_rate"):
        GBNNRegressor(learning_rate=0).fit(Xtr, ytr)
    with pytest.raises(ValueError, match="class"):
        GBNNClassifier().fit(Xtr, np.zeros(len(ytr)))
    with pytest.raises(ValueError, match="NaN"):
        GBNNRegressor().fit(np.full_like(Xtr, np.nan), ytr)


def test_array_api_strict_predict(diabetes):
    xps = pytest.importorskip("array_api_strict")
    Xtr, Xte, ytr, _ = diabetes
    reg = GBNNRegressor(n_estimators=5, random_state=0).fit(Xtr, ytr)
    out = reg.predict(xps.asarray(Xte))
    np.testing.assert_allclose(np.asarray(out), reg.predict(Xte), rtol=1e-10)
    clf = GBNNClassifier(n_estimators=5, random_state=0).fit(Xtr, ytr > 140)
    proba = clf.predict_proba(xps.asarray(Xte))
    np.testing.assert_allclose(np.asarray(proba), clf.predict_proba(Xte), rtol=1e-10)


def test_fit_does_not_depend_on_the_feature_scale():
    X, y = load_diabetes(return_X_y=True)  # raw features, unscaled target
    # equal up to round-off amplified by the iterative base fits
    shift = np.linspace(-50, 50, X.shape[1])
    scale = np.logspace(-3, 3, X.shape[1])
    base = GBNNRegressor(n_estimators=10, random_state=0).fit(X, y)
    moved = GBNNRegressor(n_estimators=10, random_state=0).fit(X * scale + shift, y)
    np.testing.assert_allclose(moved.predict(X * scale + shift), base.predict(X), rtol=1e-2)
    assert np.sqrt(np.mean((base.predict(X) - y) ** 2)) < 0.8 * y.std()


def test_regressor_multi_output_shares_the_hidden_units():
    """Several target columns: one output unit each on shared hidden units, as MLPRegressor;
    one column keeps the 1-D predictions and the single-target model bit for bit."""
    from sklearn.datasets import make_regression
    from sklearn.metrics import r2_score

    X, Y = make_regression(300, 5, n_targets=2, noise=1.0, random_state=0)
    model = GBNNRegressor(random_state=0).fit(X, Y)
    P = model.predict(X)
    assert P.shape == (300, 2) and model.output_weights_.shape[1] == 2
    assert min(r2_score(Y[:, j], P[:, j]) for j in range(2)) > 0.95
    np.testing.assert_allclose(model.to_mlp().predict(X), P, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(list(model.staged_predict(X))[-1], P, rtol=1e-10, atol=1e-9)
    single = GBNNRegressor(random_state=0).fit(X, Y[:, 0])
    column = GBNNRegressor(random_state=0).fit(X, Y[:, :1])
    assert single.predict(X).shape == column.predict(X).shape == (300,)
    np.testing.assert_array_equal(single.predict(X), column.predict(X))


def test_breast_cancer_fit_equals_the_saved_one():
    # multipliers and training losses of the Numba kernels before the compiled port (6de7479),
    # which this build reproduces bit for bit on the benchmark machine; the tolerance only
    # leaves room for another BLAS's round-off (a changed algorithm moves them by > 1e-3)
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = GBNNClassifier(n_estimators=4, max_iter=8, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.multipliers_, [1.8052599657520396, 1.9508028741976737,
                                                    2.7154591115922573, 3.8881744548647115],
                               rtol=1e-5)
    np.testing.assert_allclose(model.train_score_, [0.3773770145814422, 0.2583296844838321,
                                                    0.18357973548059955, 0.13756272120794302],
                               rtol=1e-5)
