"""scikit-learn conventions of the linear estimators: epochs, class weights, multi-output y."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sk
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from numsolve.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge, lasso_path

BLOCK_RULES = ["cyclic", "random", "lipschitz", "gs", "gsl", "gs-q", "gsq"]


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=100, n_features=20, noise=1.0, random_state=0)
    return X, y


@pytest.mark.parametrize("rule", ["auto", *BLOCK_RULES])
def test_default_max_iter_converges_for_every_rule(regression, rule):
    """max_iter counts epochs for every rule, so the default budget is enough on 100 x 20."""
    X, y = regression
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = Lasso(alpha=1.0, rule=rule, random_state=0).fit(X, y)
    reference = sk.Lasso(alpha=1.0, tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-2, atol=1e-2)
    assert 1 <= model.n_iter_ <= model.max_iter


@pytest.mark.parametrize("rule", ["cyclic", "random", "gs-q"])
def test_n_iter_counts_epochs(regression, rule):
    X, y = regression
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = Lasso(alpha=0.01, rule=rule, block_size=3, tol=0.0, max_iter=4,
                      random_state=0).fit(X, y)
    assert model.n_iter_ == 4  # 4 epochs of ceil(20 / 3) = 7 blocks each, not 4 blocks


def test_lasso_path_returns_epochs_as_scikit_learn(regression):
    X, y = regression
    alphas, coefs, gaps, n_iters = lasso_path(X, y, n_alphas=5, return_n_iter=True)
    assert n_iters.dtype.kind == "i" and n_iters.shape == (5,)
    assert np.all(n_iters[1:] >= 1) and np.all(n_iters <= 100)  # alpha_max: zero is optimal
    ref_alphas, *_, ref_iters = sk.lasso_path(X, y, alphas=alphas, return_n_iter=True)
    assert len(ref_iters) == len(n_iters)
    assert len(lasso_path(X, y, n_alphas=5)) == 3
    _, cyclic_coefs, _, cyclic_iters = lasso_path(X, y, alphas=alphas, rule="cyclic",
                                                  tol=1e-10, return_n_iter=True)
    np.testing.assert_allclose(cyclic_coefs, coefs, atol=1e-4)
    assert np.all(cyclic_iters <= 100)


@pytest.mark.parametrize("class_weight, n_classes", [
    ("balanced", 2), ("balanced", 3), ({0: 1.0, 1: 5.0}, 2), ({0: 0.5, 2: 3.0}, 3)])
def test_class_weight_agrees_with_scikit_learn(class_weight, n_classes):
    X, y = make_classification(n_samples=120, n_features=6, n_informative=4,
                               n_classes=n_classes, weights=[0.7] + [0.3 / (n_classes - 1)]
                               * (n_classes - 1), random_state=0)
    ours = LogisticRegression(C=0.5, class_weight=class_weight, tol=1e-12).fit(X, y)
    theirs = sk.LogisticRegression(C=0.5, class_weight=class_weight, tol=1e-12,
                                   max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-5)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=1e-5)
    unweighted = LogisticRegression(C=0.5, tol=1e-12).fit(X, y)
    assert np.abs(unweighted.coef_ - ours.coef_).max() > 1e-2  # the weights matter here


def test_class_weight_multiplies_sample_weight():
    X, y = make_classification(n_samples=80, n_features=5, random_state=1)
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, size=y.size)
    kept = sample_weight.copy()
    weighted = LogisticRegression(class_weight={0: 3.0, 1: 1.0}, tol=1e-12).fit(
        X, y, sample_weight=sample_weight)
    explicit = LogisticRegression(tol=1e-12).fit(
        X, y, sample_weight=sample_weight * np.where(y == 0, 3.0, 1.0))
    np.testing.assert_allclose(weighted.coef_, explicit.coef_, atol=1e-7)
    np.testing.assert_array_equal(sample_weight, kept)


# tol=1e-15: the solvers stop at the requested gap (here P(0) ~ 1e4), and only a gap near
# round-off pins the coefficients to 1e-6
@pytest.mark.parametrize("ours, theirs", [
    (Lasso(alpha=0.5, tol=1e-15), sk.Lasso(alpha=0.5, tol=1e-14, max_iter=100_000)),
    (ElasticNet(alpha=0.5, l1_ratio=0.3, tol=1e-15),
     sk.ElasticNet(alpha=0.5, l1_ratio=0.3, tol=1e-14, max_iter=100_000)),
    (Ridge(alpha=2.0, tol=1e-15), sk.Ridge(alpha=2.0)),
], ids=["lasso", "elastic-net", "ridge"])
def test_multi_output_fits_each_target_as_scikit_learn(ours, theirs):
    X, Y = make_regression(n_samples=60, n_features=8, n_targets=3, noise=1.0,
                           random_state=0)
    ours.fit(X, Y)
    theirs.fit(X, Y)
    assert ours.coef_.shape == (3, 8) and ours.intercept_.shape == (3,)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6, atol=1e-5)
    single = ours.__class__(**ours.get_params()).fit(X, Y[:, 1])
    np.testing.assert_allclose(single.coef_, ours.coef_[1], atol=1e-8)
    column = ours.__class__(**ours.get_params()).fit(X, Y[:, 1:2])
    assert column.coef_.shape == (8,) and column.intercept_.shape == (1,)  # as scikit-learn
    assert column.predict(X).shape == (60,)


def test_multi_output_keeps_float32_and_takes_sparse_input():
    X, Y = make_regression(n_samples=50, n_features=6, n_targets=2, random_state=0)
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    model = Lasso(alpha=0.1, tol=1e-10).fit(sp.csr_matrix(X32), Y32)
    assert model.coef_.dtype == model.intercept_.dtype == np.float32
    assert model.predict(X32).dtype == np.float32
    dense = Lasso(alpha=0.1, tol=1e-10).fit(X, Y)
    np.testing.assert_allclose(model.coef_, dense.coef_, rtol=1e-4, atol=1e-4)


def test_multi_output_attributes_and_warm_start():
    X, Y = make_regression(n_samples=50, n_features=6, n_targets=2, random_state=0)
    model = Lasso(alpha=0.1, tol=1e-10, warm_start=True).fit(X, Y)
    assert len(model.n_iter_) == 2 and model.dual_gap_.shape == (2,)
    assert len(model.history_) == 2 and all("gap" in h for h in model.history_)
    first = list(model.n_iter_)
    model.fit(X, Y)  # from the solution: fewer epochs for each target
    assert all(again <= before for again, before in zip(model.n_iter_, first))
    model.set_params(warm_start=False).fit(X, Y[:, 0])  # shape change: fresh start
    assert model.coef_.shape == (6,)
