"""Estimators against scikit-learn, lasso_path, warm starts, sparse == dense."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sk

from numsolve.linear_model import (ElasticNet, Lasso, LogisticRegression, Ridge, lasso_path)


@pytest.fixture
def data(rng):
    X = rng.standard_normal((80, 25))
    w = np.zeros(25)
    w[:6] = rng.standard_normal(6) * 2
    return X, X @ w + 0.5 + 0.2 * rng.standard_normal(80)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("ours,theirs", [
    (Lasso(alpha=0.05, tol=1e-12), sk.Lasso(alpha=0.05, tol=1e-14, max_iter=100_000)),
    (ElasticNet(alpha=0.05, l1_ratio=0.7, tol=1e-12),
     sk.ElasticNet(alpha=0.05, l1_ratio=0.7, tol=1e-14, max_iter=100_000)),
    (Ridge(alpha=3.0, tol=1e-12), sk.Ridge(alpha=3.0)),
])
def test_regressors_match_sklearn(data, rng, ours, theirs, sparse):
    X, y = data
    sw = rng.uniform(0.5, 2.0, X.shape[0])
    Xs = sp.csr_matrix(X) if sparse else X
    ours.fit(Xs, y, sample_weight=sw)
    theirs.fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-6)
    assert ours.intercept_ == pytest.approx(theirs.intercept_, abs=1e-6)
    np.testing.assert_allclose(ours.predict(Xs), theirs.predict(X), atol=1e-5)


@pytest.mark.parametrize("penalty,l1_ratio", [("l2", 0.0), ("l1", 1.0), ("elasticnet", 0.4),
                                              (None, None)])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_matches_sklearn(rng, penalty, l1_ratio, n_classes):
    X = rng.standard_normal((120, 8))
    y = np.argmax(X[:, :n_classes] + 0.7 * rng.standard_normal((120, n_classes)), axis=1)
    C = 0.5
    ours = LogisticRegression(penalty=penalty, C=C, l1_ratio=l1_ratio, tol=1e-12,
                              max_iter=500).fit(X, y)
    kwargs = dict(C=np.inf) if penalty is None else dict(C=C, l1_ratio=l1_ratio)
    solver = "lbfgs" if penalty in ("l2", None) else "saga"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sk.LogisticRegression(solver=solver, tol=1e-12, max_iter=100_000,
                                       **kwargs).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-4)
    assert ours.coef_.shape == theirs.coef_.shape
    assert ours.intercept_.shape == theirs.intercept_.shape
    assert np.mean(ours.predict(X) == theirs.predict(X)) > 0.97


def test_lasso_path_matches_sklearn(data):
    X, y = data
    y = y - y.mean()
    alphas, coefs, gaps = lasso_path(X, y, n_alphas=20, tol=1e-12)
    ref_alphas, ref_coefs, _ = sk.lasso_path(X, y, alphas=alphas, tol=1e-14,
                                             max_iter=100_000)
    np.testing.assert_allclose(coefs, ref_coefs, atol=1e-6)
    assert np.all(gaps <= 1e-12 * 0.5 * np.mean(y**2) * 1.0001)
    assert np.all(coefs[:, 0] == 0)


@pytest.mark.parametrize("sparse", [False, True])
def test_lasso_path_in_parallel_equals_sequential(data, sparse):
    # each piece of the grid is solved to the same gap, so the coefficients agree to the
    # accuracy that gap guarantees (strong convexity on the support)
    X, y = data
    X = sp.csc_matrix(X) if sparse else X
    alphas, coefs, gaps = lasso_path(X, y, n_alphas=12, tol=1e-12)
    alphas_p, coefs_p, gaps_p = lasso_path(X, y, n_alphas=12, tol=1e-12, n_jobs=3)
    np.testing.assert_array_equal(alphas_p, alphas)
    np.testing.assert_allclose(coefs_p, coefs, atol=1e-7)
    assert np.all(gaps_p <= 1e-12 * 0.5 * np.mean(y**2) * 1.0001)


def test_lasso_path_under_dask_backend_equals_sequential(data):
    joblib = pytest.importorskip("joblib")
    distributed = pytest.importorskip("distributed")
    X, y = data
    alphas, coefs, _ = lasso_path(X, y, n_alphas=8, tol=1e-12)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster), joblib.parallel_backend("dask"):
        _, coefs_d, _ = lasso_path(X, y, n_alphas=8, tol=1e-12, n_jobs=2)
    np.testing.assert_allclose(coefs_d, coefs, atol=1e-7)


@pytest.mark.parametrize("n_jobs", [0, 1.5, True])
def test_lasso_path_rejects_bad_n_jobs(data, n_jobs):
    with pytest.raises(ValueError, match="n_jobs"):
        lasso_path(*data, n_jobs=n_jobs)


def test_warm_start_reduces_iterations(data):
    X, y = data
    model = Lasso(alpha=0.01, tol=1e-10, warm_start=True).fit(X, y)
    first = model.n_iter_
    model.fit(X, y)
    assert model.n_iter_ < first or model.n_iter_ == 0


def test_sparse_equals_dense_logistic_l1(rng):
    X = rng.standard_normal((60, 12)) * (rng.uniform(size=(60, 12)) < 0.5)
    y = (X[:, 0] > 0).astype(int)
    dense = LogisticRegression(penalty="l1", C=2.0, tol=1e-12).fit(X, y)
    sparse = LogisticRegression(penalty="l1", C=2.0, tol=1e-12).fit(sp.csc_matrix(X), y)
    np.testing.assert_allclose(dense.coef_, sparse.coef_, atol=1e-7)
    np.testing.assert_allclose(dense.intercept_, sparse.intercept_, atol=1e-7)


def test_positive_lasso(data):
    X, y = data
    model = Lasso(alpha=0.01, positive=True, tol=1e-10).fit(X, y)
    ref = sk.Lasso(alpha=0.01, positive=True, tol=1e-14, max_iter=100_000).fit(X, y)
    assert model.coef_.min() >= 0
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-6)


def test_estimator_bad_params(data):
    X, y = data
    with pytest.raises(ValueError):
        Lasso(alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError):
        Lasso(rule="nope").fit(X, y)
    with pytest.raises(ValueError, match="l1_ratio"):
        LogisticRegression(penalty="elasticnet").fit(X, (y > 0).astype(int))
    with pytest.raises(ValueError, match="class"):
        LogisticRegression().fit(X, np.zeros(X.shape[0]))
