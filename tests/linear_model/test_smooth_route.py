"""The whole-block route for smooth penalties (``_smooth_route``): L2 logistic, multinomial
and ridge problems against scikit-learn, the gap it reports, and its routing."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
import sklearn.linear_model as sk
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning

from numsolve.linear_model import (L1, L2, ElasticNet, Lasso, Logistic, LogisticRegression,
                                   Multinomial, NoPenalty, Quadratic, Ridge, bcd)
from numsolve._result import HistoryRecorder
from numsolve.linear_model import _smooth_route
from numsolve.linear_model._cd_gram import sparse_weighted_gram
from numsolve.linear_model._objective import optimality
from numsolve.linear_model._smooth_route import (NEWTON_LIMIT, SPARSE_GRAM_LIMIT,
                                                 smooth_route_applies)
from numsolve.linear_model._solver import _sparse_format


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _classification(rng, n=200, p=10, n_classes=2):
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3.0, p) + rng.uniform(-1, 1, p)
    scores = X[:, :n_classes] + 1.5 * rng.standard_normal((n, n_classes))
    return X, np.argmax(scores, axis=1)


def _sklearn(X, y, sample_weight=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sk.LogisticRegression(tol=1e-12, max_iter=10_000, **kwargs).fit(
            X, y, sample_weight=sample_weight)


def _objective(model, X, y, sample_weight, C=1.0):
    """scikit-learn's objective ``C sum_i s_i loss_i + ||w||^2 / 2``."""
    Z = np.asarray(X @ model.coef_.T) + model.intercept_
    if Z.shape[1] == 1:
        margin = np.where(y == model.classes_[1], 1.0, -1.0) * Z[:, 0]
        loss = np.logaddexp(0.0, -margin)
    else:
        top = Z.max(axis=1)
        loss = top + np.log(np.exp(Z - top[:, None]).sum(axis=1)) - Z[np.arange(len(y)), y]
    return C * sample_weight @ loss + 0.5 * np.sum(model.coef_ ** 2)


def _gap_at(model, X, y, sample_weight, C=1.0):
    """The duality gap of ``model``'s coefficients and intercept on bcd's scale, computed
    from scratch by the shared gap code (:func:`optimality`)."""
    a = sample_weight / sample_weight.sum()
    binary = model.classes_.size == 2
    W = model.coef_.T
    Z = np.asarray(X @ W) + model.intercept_
    if binary:
        datafit, target = Logistic(), np.where(y == model.classes_[1], 1.0, -1.0)
    else:
        datafit, target = Multinomial(n_classes=model.classes_.size), y.astype(float)
    G = datafit.raw_gradient(Z, target, a, np)
    means = np.asarray(X.T @ a).reshape(-1)
    penalty = L2(1.0 / (C * sample_weight.sum()))
    _, gap, _ = optimality(datafit, penalty, W, Z, target, a, np.asarray(X.T @ G), G, np, means)
    scale = datafit.value(np.zeros_like(Z), target, a, np)
    return gap, scale


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("weighted", [False, True])
def test_logistic_matches_sklearn(rng, n_classes, weighted):
    X, y = _classification(rng, n_classes=n_classes)
    sw = rng.uniform(0.2, 3.0, len(y)) if weighted else np.ones(len(y))
    class_weight = {0: 2.0, 1: 0.5} if weighted else None
    ours = LogisticRegression(C=0.7, tol=1e-13, class_weight=class_weight).fit(
        X, y, sample_weight=sw)
    theirs = _sklearn(X, y, sw, C=0.7, class_weight=class_weight)
    # 1e-5 relative to the coefficients' scale: lbfgs's own solution at its tol=1e-12
    # is off by about 4e-7 on the smallest multinomial coefficients (its gap 6e-13, ours 0)
    scale = 1e-5 * np.max(np.abs(theirs.coef_))
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-5, atol=scale)
    np.testing.assert_allclose(ours.intercept_ - ours.intercept_.mean() * (n_classes > 2),
                               theirs.intercept_ - theirs.intercept_.mean() * (n_classes > 2),
                               rtol=1e-5, atol=scale)
    weights = sw * (np.array([class_weight.get(c, 1.0) for c in y]) if weighted else 1.0)
    assert _objective(ours, X, y, weights, 0.7) <= _objective(theirs, X, y, weights, 0.7) \
        * (1 + 1e-10)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_reported_gap_is_the_gap_at_the_returned_point(rng, n_classes):
    X, y = _classification(rng, n=300, p=12, n_classes=n_classes)
    sw = rng.uniform(0.5, 2.0, len(y))
    model = LogisticRegression(tol=1e-4).fit(X, y, sample_weight=sw)
    gap, scale = _gap_at(model, X, y, sw)
    assert model.dual_gap_ == pytest.approx(gap, rel=1e-6, abs=1e-15)
    assert gap <= 1e-4 * scale
    assert model.history_["gap"][-1] == model.dual_gap_


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparse_input_matches_dense(rng, fmt, n_classes):
    X, y = _classification(rng, n_classes=n_classes)
    X[rng.random(X.shape) < 0.6] = 0.0
    dense = LogisticRegression(tol=1e-13).fit(X, y)
    sparse = LogisticRegression(tol=1e-13).fit(sp.csr_matrix(X).asformat(fmt), y)
    # both meet a gap of 1e-13 P(0), which bounds the coefficients' distance to the
    # solution by about 5e-6 here (l2 = 1/200)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sparse.predict_proba(X), dense.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_float32_kept_and_close_to_float64(rng, n_classes):
    X, y = _classification(rng, n_classes=n_classes)
    single = LogisticRegression(tol=1e-8).fit(X.astype(np.float32), y)
    double = LogisticRegression(tol=1e-8).fit(X, y)
    assert single.coef_.dtype == np.float32 and single.intercept_.dtype == np.float32
    np.testing.assert_allclose(single.coef_, double.coef_, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_warm_start_resumes_at_the_solution(rng, n_classes):
    X, y = _classification(rng, n_classes=n_classes)
    model = LogisticRegression(tol=1e-8, warm_start=True).fit(X, y)
    cold_iterations, coef = model.n_iter_, model.coef_.copy()
    model.fit(X, y)
    assert model.n_iter_ == 0 < cold_iterations
    np.testing.assert_array_equal(model.coef_, coef)
    model.set_params(C=2.0).fit(X, y)  # a nearby problem: fewer iterations than from zero
    cold = LogisticRegression(C=2.0, tol=1e-8).fit(X, y)
    assert model.n_iter_ < cold.n_iter_
    np.testing.assert_allclose(model.coef_, cold.coef_, rtol=1e-3, atol=1e-4)


def test_input_arrays_are_not_modified(rng):
    X, y = _classification(rng, n_classes=3)
    sw = rng.uniform(0.5, 2.0, len(y))
    copies = X.copy(), y.copy(), sw.copy()
    LogisticRegression().fit(X, y, sample_weight=sw)
    Ridge().fit(X, y.astype(float), sample_weight=sw)
    for before, after in zip(copies, (X, y, sw)):
        np.testing.assert_array_equal(before, after)


def test_convergence_warning_when_max_iter_is_too_small():
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model = LogisticRegression(max_iter=2).fit(X, y)
    assert model.n_iter_ == 2


def test_converges_on_raw_features_where_lbfgs_stalls():
    """Raw breast_cancer (features from 1e-3 to 1e3): damped Newton on the whole block
    (affine invariant, so the features' scales do not matter) meets the default gap in 8
    iterations (trust-ncg in variables scaled to the columns took 14), at a lower objective
    than scikit-learn's lbfgs after its 100 iterations (which stop unconverged)."""
    X, y = load_breast_cancer(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours = LogisticRegression().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = sk.LogisticRegression().fit(X, y)
    assert theirs.n_iter_[0] == 100 and ours.n_iter_ <= 9
    ones = np.ones(len(y))
    assert _objective(ours, X, y, ones) < _objective(theirs, X, y, ones) - 1.0


def test_lbfgs_converges_on_raw_pixels_within_the_default_max_iter():
    """Raw digits (pixels 0-16, 10 classes, 650 variables: L-BFGS) meets the default gap
    within the default 100 iterations (78 in variables scaled by the square root of their
    columns' spread; 113 unscaled), where scikit-learn's lbfgs stops unconverged."""
    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours = LogisticRegression().fit(X, y)
    assert ours.n_iter_ <= 90
    ones = np.ones(len(y))
    gap, scale = _gap_at(ours, X, y, ones)
    assert gap <= 1e-4 * scale
    assert ours.dual_gap_ == pytest.approx(gap, rel=1e-6)


@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_newton_matches_sklearn_at_a_tight_tolerance(C, fit_intercept):
    """The damped Newton route (raw breast_cancer, 31 variables) reaches scikit-learn's
    solution at a tight gap, in at most a dozen iterations from C = 0.01 to 100."""
    X, y = load_breast_cancer(return_X_y=True)
    ours = LogisticRegression(C=C, tol=1e-12, fit_intercept=fit_intercept).fit(X, y)
    theirs = _sklearn(X, y, C=C, solver="newton-cholesky", fit_intercept=fit_intercept)
    assert ours.n_iter_ <= 12
    ones = np.ones(len(y))
    gap, scale = _gap_at(ours, X, y, ones, C) if fit_intercept else (ours.dual_gap_, 1.0)
    assert gap <= 1e-12 * scale
    assert _objective(ours, X, y, ones, C) <= _objective(theirs, X, y, ones, C) + 1e-9
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-4,
                               atol=1e-6 * np.abs(theirs.coef_).max())


def test_newton_on_separable_data_stops_with_a_finite_point():
    """Separable data under a vanishing penalty saturate every sample: the Hessian's
    intercept row falls to round-off. The steps stop there with finite coefficients
    that classify every sample, instead of raising from the factorisation."""
    X = np.array([[-2.0, 0.1], [-1.0, -0.3], [1.0, 0.2], [2.0, -0.1]])
    y = np.array([0, 0, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=1e12, tol=1e-14, max_iter=200).fit(X, y)
    assert np.all(np.isfinite(model.coef_)) and np.isfinite(model.intercept_).all()
    np.testing.assert_array_equal(model.predict(X), y)


def test_no_penalty_meets_the_kkt_tolerance(rng):
    X, y = _classification(rng)
    res = bcd(X, np.where(y == 1, 1.0, -1.0), Logistic(), NoPenalty(), fit_intercept=True,
              tol=1e-8)
    assert res.engine == "smooth" and res.converged and res.gap <= 1e-8
    G = Logistic().raw_gradient((X @ res.x + res.intercept)[:, None],
                                np.where(y == 1, 1.0, -1.0), np.full(len(y), 1 / len(y)), np)
    assert np.max(np.abs(X.T @ G)) <= 1e-8 and abs(G.sum()) <= 1e-8


def test_routes(rng):
    X, y = _classification(rng, n=100, p=30)
    labels = np.where(y == 1, 1.0, -1.0)
    assert bcd(X, labels, Logistic(), L2(0.01)).route == "newton"
    assert bcd(X, labels, Logistic(), NoPenalty()).route == "trust-ncg"
    assert bcd(sp.csr_matrix(X), labels, Logistic(), L2(0.01)).route == "trust-ncg"
    assert bcd(X, y.astype(float), Multinomial(n_classes=2), L2(0.01)).route == "trust-ncg"
    wide = rng.standard_normal((100, NEWTON_LIMIT + 5))
    assert bcd(wide, labels, Logistic(), L2(0.01)).route == "lbfgs"
    assert bcd(X, labels, Logistic(), L1(0.01)).engine == "working-set"
    assert bcd(X, y.astype(float), Quadratic(), L2(0.1)).route == "cholesky"
    assert bcd(wide, y.astype(float), Quadratic(), L2(0.1)).route == "dual-cholesky"
    assert bcd(X, y.astype(float), Quadratic(), L2(0.1), gram=True).engine == "working-set"
    assert bcd(sp.csc_matrix(X), y.astype(float), Quadratic(), L2(0.1)).route == \
        "sparse-cholesky"
    assert not smooth_route_applies(sp.csc_matrix(X), Quadratic(), NoPenalty())


@pytest.mark.parametrize("shape", [(80, 12), (40, 90)])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_is_one_exact_solve(rng, shape, fit_intercept):
    X = rng.standard_normal(shape) * rng.uniform(0.1, 10.0, shape[1])
    y = X[:, 0] - 2 * X[:, 1] + rng.standard_normal(shape[0])
    sw = rng.uniform(0.5, 2.0, shape[0])
    ours = Ridge(alpha=0.3, fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    theirs = sk.Ridge(alpha=0.3, fit_intercept=fit_intercept, solver="cholesky").fit(
        X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-11)
    assert ours.intercept_ == pytest.approx(theirs.intercept_, rel=1e-9, abs=1e-11)
    assert ours.n_iter_ == 1 and ours.dual_gap_ <= 1e-10 * np.mean(sw * y ** 2)


def test_ridge_float32_multi_target_and_elastic_net_without_l1(rng):
    X = rng.standard_normal((60, 8))
    Y = X @ rng.standard_normal((8, 3))
    ours = Ridge(alpha=2.0).fit(X.astype(np.float32), Y)
    theirs = sk.Ridge(alpha=2.0).fit(X, Y)
    assert ours.coef_.dtype == np.float32
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-4, atol=1e-5)
    enet = ElasticNet(alpha=0.5, l1_ratio=0.0).fit(X, Y[:, 0])
    reference = sk.ElasticNet(alpha=0.5, l1_ratio=0.0, tol=1e-12, max_iter=100_000).fit(
        X, Y[:, 0])
    np.testing.assert_allclose(enet.coef_, reference.coef_, rtol=1e-6)
    lasso_zero = Lasso(alpha=0.0).fit(X, Y[:, 0])  # plain least squares
    np.testing.assert_allclose(lasso_zero.coef_, np.linalg.lstsq(
        X - X.mean(axis=0), Y[:, 0] - Y[:, 0].mean(), rcond=None)[0], rtol=1e-8)


def test_fitted_estimator_pickles(rng):
    X, y = _classification(rng, n_classes=3)
    model = LogisticRegression().fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("n, p, route", [(300, 40, "sparse-cholesky"),
                                         (SPARSE_GRAM_LIMIT + 300, SPARSE_GRAM_LIMIT + 100, "cg"),
                                         (300, SPARSE_GRAM_LIMIT + 100, "dual-cg")])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sparse_ridge_matches_the_dense_solve(rng, n, p, route, fit_intercept):
    """Sparse ridge, by the centred Gram's Cholesky or by conjugate gradients on the normal
    equations (or on their dual form when wide), returns the dense route's exact solution
    (weighted, with or without intercept) and reports the gap at its point."""
    X = sp.random(n, p, density=0.05, random_state=1, format="csr") \
        @ sp.diags(rng.uniform(0.1, 10.0, p))
    y = X @ rng.standard_normal(p) + rng.standard_normal(n) + 3.0
    sw = rng.uniform(0.5, 2.0, n)
    dense = Ridge(alpha=0.5, fit_intercept=fit_intercept).fit(X.toarray(), y, sample_weight=sw)
    ours = Ridge(alpha=0.5, fit_intercept=fit_intercept, tol=1e-14, max_iter=2000).fit(
        X, y, sample_weight=sw)
    # a gap of 1e-14 P(0) bounds the distance to the solution by sqrt(2 gap / l2), about
    # 4e-5 here: CG meets it, the Gram's Cholesky is exact
    scale = np.max(np.abs(dense.coef_))
    np.testing.assert_allclose(ours.coef_, dense.coef_, rtol=1e-5, atol=1e-5 * scale)
    assert ours.intercept_ == pytest.approx(dense.intercept_, rel=1e-5, abs=1e-5 * scale)
    a = sw / sw.sum()
    res = bcd(X, y, Quadratic(sample_weight=sw), L2(0.5 / sw.sum()),
              fit_intercept=fit_intercept, tol=1e-6, max_iter=2000)
    assert res.route == route and res.converged
    Z = (X @ res.x + res.intercept).reshape(-1, 1)
    G = Quadratic().raw_gradient(Z, y, a, np)
    means = np.asarray(X.T @ a).reshape(-1) if fit_intercept else None
    _, gap, _ = optimality(Quadratic(), L2(0.5 / sw.sum()), res.x.reshape(-1, 1), Z, y, a,
                           np.asarray(X.T @ G), G, np, means)
    assert res.gap == pytest.approx(gap, rel=1e-6) and gap <= res.threshold


def test_sparse_ridge_cg_warm_start_resumes(rng):
    """Conjugate gradients start from the previous coefficients: a refit at the solution
    takes no iteration, a nearby alpha fewer than from zero, to the same point."""
    X = sp.random(200, SPARSE_GRAM_LIMIT + 50, density=0.05, random_state=2, format="csr")
    y = X @ rng.standard_normal(X.shape[1]) + rng.standard_normal(200)
    model = Ridge(tol=1e-10, max_iter=5000, warm_start=True).fit(X, y)
    cold_iterations = model.n_iter_
    assert model.fit(X, y).n_iter_ == 0 < cold_iterations
    model.set_params(alpha=1.1).fit(X, y)
    cold = Ridge(alpha=1.1, tol=1e-10, max_iter=5000).fit(X, y)
    assert model.n_iter_ < cold.n_iter_
    # both within a gap of 1e-10 P(0), about 1e-4 from the exact (dense) solution
    exact = Ridge(alpha=1.1).fit(X.toarray(), y).coef_
    np.testing.assert_allclose(model.coef_, exact, atol=1e-4)
    np.testing.assert_allclose(cold.coef_, exact, atol=1e-4)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_format_is_kept_on_the_smooth_route(fmt):
    """CSR input stays CSR on the smooth route (whose sparse products take either format;
    on wide data CSR's are three times faster than CSC's and the conversion costs more than
    the solve's iterations); every other route gets the kernels' CSC."""
    X = sp.random(30, 50, density=0.2, random_state=0, format=fmt)
    kept = "csr" if fmt == "csr" else "csc"
    assert _sparse_format(X, Quadratic(), L2(0.1), "auto", "auto", "auto") == kept
    assert _sparse_format(X, Logistic(), L2(0.1), "auto", "auto", "auto") == kept
    assert _sparse_format(X, Quadratic(), L1(0.1), "auto", "auto", "auto") == "csc"
    assert _sparse_format(X, Quadratic(), L2(0.1), "cyclic", "auto", "auto") == "csc"
    assert _sparse_format(X, Quadratic(), L2(0.1), "auto", "block", "auto") == "csc"
    assert _sparse_format(X, Quadratic(), L2(0.1), "auto", "auto", True) == "csc"
    assert _sparse_format(X.toarray(), Quadratic(), L2(0.1), "auto", "auto", "auto") == "csc"


# least squares without penalty only where it is well posed (wide X has many solutions)
@pytest.mark.parametrize("shape, alpha", [((80, 12), 0.3), ((40, 90), 0.3), ((80, 12), 0.0)])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_multi_target_ridge_is_one_factorisation_of_the_per_target_solves(
        rng, monkeypatch, shape, alpha, fit_intercept):
    """Several targets on dense X share one factorisation (Cholesky, dual Cholesky or
    least squares) and give each target what bcd gives it alone: coefficients, intercept,
    gap and history."""
    X = rng.standard_normal(shape) * rng.uniform(0.1, 10.0, shape[1])
    Y = X[:, :3] @ rng.standard_normal((3, 3)) + rng.standard_normal((shape[0], 3)) + 2.0
    sw = rng.uniform(0.5, 2.0, shape[0])
    factorisations = []
    for name in ("cho_factor", "lstsq"):
        original = getattr(scipy.linalg, name)
        monkeypatch.setattr(scipy.linalg, name, lambda *args, original=original, **kwargs: (
            factorisations.append(1), original(*args, **kwargs))[1])
    model = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X, Y, sample_weight=sw)
    assert len(factorisations) == 1
    for k in range(3):
        alone = bcd(X, Y[:, k], Quadratic(sample_weight=sw), L2(alpha / sw.sum()),
                    fit_intercept=fit_intercept, tol=1e-4)
        np.testing.assert_allclose(model.coef_[k], alone.x, rtol=1e-9, atol=1e-10)
        assert model.intercept_[k] == pytest.approx(alone.intercept, rel=1e-9, abs=1e-10)
        assert model.dual_gap_[k] == pytest.approx(alone.gap, rel=1e-3, abs=1e-12)
        assert model.history_[k]["objective"][-1] == pytest.approx(alone.objective, rel=1e-12)
        assert model.n_iter_[k] == 1


def test_multi_target_ridge_keeps_float32_and_sparse_targets_separate(rng):
    X = rng.standard_normal((60, 8))
    Y = X @ rng.standard_normal((8, 2)) + rng.standard_normal((60, 2))
    ours = Ridge(alpha=2.0).fit(X.astype(np.float32), Y)
    assert ours.coef_.dtype == np.float32 and ours.intercept_.dtype == np.float32
    sparse = Ridge(alpha=2.0).fit(sp.csr_matrix(X), Y)
    np.testing.assert_allclose(sparse.coef_, Ridge(alpha=2.0).fit(X, Y).coef_, rtol=1e-9)
    np.testing.assert_allclose(ours.coef_, sparse.coef_, rtol=1e-4)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_multi_target_ridge_gaps_without_a_problem_per_target(rng, monkeypatch,
                                                              fit_intercept):
    """With an L2 penalty each target's figures come from one compiled call on rows of the
    shared products, equal to the ones its own problem object computes (no such object is
    built per target)."""
    X = rng.standard_normal((70, 9))
    X -= X.mean(axis=0) if fit_intercept else 0.0
    Y = X[:, :2] @ rng.standard_normal((2, 3)) + rng.standard_normal((70, 3))
    a = np.full(70, 1.0 / 70)
    penalty = L2(0.05)
    built = []
    original = _smooth_route._Problem
    monkeypatch.setattr(_smooth_route, "_Problem", lambda *args, **kwargs: (
        built.append(1), original(*args, **kwargs))[1])
    recorders = [HistoryRecorder() for _ in range(3)]
    W, b, results = _smooth_route.solve_least_squares_targets(
        X, Y, a, Quadratic(), penalty, fit_intercept=fit_intercept, tol=1e-4,
        recorders=recorders)
    assert not built
    Zt = W.T @ X.T + b[:, None]
    Gt = (Zt - Y.T) * a
    grad = (Gt @ X).T
    for k, (result, recorder) in enumerate(zip(results, recorders)):
        problem = original(X, Y[:, k], a, Quadratic(), penalty, 1, fit_intercept, 1e-4)
        primal, gap = problem.criterion_at(W[:, k:k + 1], Zt[k:k + 1], Gt[k:k + 1],
                                           grad[:, k:k + 1], 0.0)
        assert (result.primal, result.criterion, result.threshold) == (
            primal, gap, problem.threshold)
        assert recorder.as_dict()["kkt"][-1] == problem.last_kkt
        assert result.converged == (gap <= problem.threshold)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_sparse_weighted_gram_is_the_dense_product(rng, dtype, index_dtype):
    """``X'AX`` from the rows of a CSR matrix, whose column indices may be unsorted or
    repeated (repeats add up, as in SciPy), in float64; rows of weight zero add nothing."""
    dense = rng.standard_normal((40, 7)) * (rng.uniform(size=(40, 7)) < 0.4)
    X = sp.csr_matrix(dense.astype(dtype))
    # the same matrix with each row's entries reversed and the first entry split in two
    data, indices, indptr = [], [], [0]
    for i in range(40):
        row = slice(X.indptr[i], X.indptr[i + 1])
        values, columns = list(X.data[row][::-1]), list(X.indices[row][::-1])
        if values:
            values += [values[0] / 2]
            values[0] /= 2
            columns += [columns[0]]
        data += values
        indices += columns
        indptr.append(len(data))
    a = rng.uniform(0.0, 2.0, 40)
    a[::5] = 0.0
    expected = dense.astype(dtype).astype(np.float64).T @ (a[:, None] * dense.astype(dtype))
    for matrix in (X, sp.csr_matrix((np.array(data, dtype=dtype), indices, indptr),
                                    shape=X.shape)):
        out = np.full((7, 7), np.nan)
        sparse_weighted_gram(matrix.data, matrix.indices.astype(index_dtype),
                             matrix.indptr.astype(index_dtype), a, out)
        np.testing.assert_allclose(out, expected, rtol=1e-6 if dtype == np.float32 else 1e-13,
                                   atol=1e-12)


def test_sparse_ridge_by_the_compiled_gram_matches_dense_ridge(rng):
    X = rng.standard_normal((90, 12)) * (rng.uniform(size=(90, 12)) < 0.3)
    y = X[:, :3].sum(axis=1) + rng.standard_normal(90)
    sw = rng.uniform(0.5, 2.0, 90)
    for fit_intercept in (True, False):
        dense = Ridge(fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
        for matrix in (sp.csr_matrix(X), sp.csc_matrix(X)):
            ours = Ridge(fit_intercept=fit_intercept).fit(matrix, y, sample_weight=sw)
            np.testing.assert_allclose(ours.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
            assert ours.intercept_ == pytest.approx(dense.intercept_, rel=1e-10, abs=1e-12)


def test_sparse_weighted_gram_checks_its_shapes():
    X = sp.csr_matrix(np.eye(3))
    with pytest.raises(ValueError, match="square"):
        sparse_weighted_gram(X.data, X.indices, X.indptr, np.ones(3), np.empty((3, 2)))
    with pytest.raises(ValueError, match="one weight per row"):
        sparse_weighted_gram(X.data, X.indices, X.indptr, np.ones(2), np.empty((3, 3)))
