"""The bcd solver: agreement with scikit-learn, gaps, KKT, Newton finish, rules, bad input."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso as SkLasso
from sklearn.linear_model import LogisticRegression as SkLogistic
from sklearn.linear_model import ElasticNet as SkElasticNet

from numsolve import SolveResult
from numsolve.linear_model import (L1, L2, L1PlusL2, Logistic, Multinomial, NoPenalty,
                                   NonNegL1, Quadratic, bcd)
from numsolve.linear_model._rules import RULES
from numsolve.linear_model._updates import UPDATES


@pytest.fixture
def regression(rng):
    X = rng.standard_normal((60, 40))
    w = np.zeros(40)
    w[:5] = rng.standard_normal(5) * 2
    y = X @ w + 0.1 * rng.standard_normal(60)
    return X, y


def _alpha_max(X, y):
    return np.abs(X.T @ y).max() / X.shape[0]


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_lasso_matches_sklearn(regression, sparse, fit_intercept):
    X, y = regression
    alpha = _alpha_max(X, y) / 20
    Xs = sp.csc_matrix(X) if sparse else X
    res = bcd(Xs, y, Quadratic(), L1(alpha), tol=1e-12, fit_intercept=fit_intercept)
    ref = SkLasso(alpha=alpha, tol=1e-14, max_iter=100_000,
                  fit_intercept=fit_intercept).fit(X, y)
    np.testing.assert_allclose(res.x, ref.coef_, atol=1e-8)
    if fit_intercept:
        assert res.intercept == pytest.approx(ref.intercept_, abs=1e-8)
    objective = 0.5 * np.mean((y - X @ ref.coef_ - ref.intercept_) ** 2) \
        + alpha * np.abs(ref.coef_).sum()
    assert res.objective == pytest.approx(objective, rel=1e-10)
    assert res.converged and res.gap <= res.threshold


@pytest.mark.parametrize("sparse", [False, True])
def test_elastic_net_with_weights_matches_sklearn(regression, rng, sparse):
    X, y = regression
    sw = rng.uniform(0.2, 2.0, X.shape[0])
    Xs = sp.csc_matrix(X) if sparse else X
    res = bcd(Xs, y, Quadratic(sample_weight=sw), L1PlusL2(0.05, 0.3), tol=1e-15,
              fit_intercept=True)
    ref = SkElasticNet(alpha=0.05, l1_ratio=0.3, tol=1e-14, max_iter=100_000).fit(
        X, y, sample_weight=sw)
    np.testing.assert_allclose(res.x, ref.coef_, atol=1e-7)


@pytest.mark.parametrize("sparse", [False, True])
def test_l1_logistic_matches_liblinear(rng, sparse):
    X = rng.standard_normal((80, 30))
    y = np.sign(X[:, 0] - X[:, 1] + 0.5 * rng.standard_normal(80))
    C = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        ref = SkLogistic(penalty="l1", C=C, solver="liblinear", tol=1e-12, max_iter=10_000,
                         fit_intercept=False).fit(X, y)
    Xs = sp.csc_matrix(X) if sparse else X
    res = bcd(Xs, y, Logistic(), L1(1 / (C * 80)), tol=1e-12)
    np.testing.assert_allclose(res.x, ref.coef_[0], atol=1e-6)


def test_multinomial_l2_matches_sklearn(rng):
    X = rng.standard_normal((90, 6))
    y = np.argmax(X[:, :3] + 0.5 * rng.standard_normal((90, 3)), axis=1)
    C = 2.0
    ref = SkLogistic(C=C, tol=1e-12, max_iter=10_000, fit_intercept=False).fit(X, y)
    res = bcd(X, y.astype(float), Multinomial(), L2(1 / (C * 90)), tol=1e-13)
    # sklearn's multinomial is the symmetric parametrisation: coefficients sum to 0 over
    # classes at the L2 solution, as ours do
    np.testing.assert_allclose(res.x.T, ref.coef_, atol=1e-5)


@pytest.mark.parametrize("penalty", [L1(0.05), NonNegL1(0.05), L1PlusL2(0.05, 0.5), L2(0.1)],
                         ids=repr)
@pytest.mark.parametrize("datafit", [Quadratic(), Logistic()], ids=repr)
def test_gap_and_kkt_at_exit(rng, datafit, penalty):
    X = rng.standard_normal((50, 30))
    y = X[:, 0] - X[:, 1] + 0.3 * rng.standard_normal(50)
    if isinstance(datafit, Logistic):
        y = np.where(y > 0, 1.0, -1.0)
    res = bcd(X, y, datafit, penalty, tol=1e-10, fit_intercept=True)
    assert res.converged and 0 <= res.gap <= res.threshold
    # KKT: |grad_j| <= l1 off the support, grad_j = -l1 sign(w_j) - l2 w_j on it
    z = X @ res.x + res.intercept
    G = datafit.raw_gradient(z[:, None], datafit.encode(y), np.full(50, 1 / 50), np)
    grad = X.T @ G[:, 0]
    assert abs(G.sum()) < 1e-6
    assert penalty.subdiff_distance(res.x, grad, np).max() < 1e-4
    if penalty.positive:
        assert res.x.min() >= 0


def test_history_and_result_type(regression):
    X, y = regression
    res = bcd(X, y, Quadratic(), L1(0.1))
    assert isinstance(res, SolveResult)
    assert set(res.history) >= {"iteration", "elapsed", "objective", "gap", "kkt"}
    assert res.history["gap"][-1] == pytest.approx(res.gap)


def test_newton_finish_terminates_finitely_on_planted_problem(rng):
    # planted sparse least squares with correlated columns: once the support is identified
    # the Newton finish lands on the exact solution (gap at round-off level), long before
    # proximal coordinate descent alone gets there (the column route: the Gram route has no
    # Newton finish)
    n, p = 150, 300
    cov = 0.9 ** np.abs(np.subtract.outer(np.arange(p), np.arange(p)))
    X = rng.standard_normal((n, p)) @ np.linalg.cholesky(cov).T
    w = np.zeros(p)
    w[rng.choice(p, 10, replace=False)] = rng.choice([-3.0, 3.0], 10)
    y = X @ w + 0.01 * rng.standard_normal(n)
    alpha = _alpha_max(X, y) / 50
    res = bcd(X, y, Quadratic(), L1(alpha), tol=1e-14, gram=False)
    assert res.converged and res.gap <= 1e-14 * res.history["objective"][0]
    slow = bcd(X, y, Quadratic(), L1(alpha), tol=1e-14, update="lipschitz", gram=False)
    assert res.epochs < slow.epochs
    np.testing.assert_allclose(res.x, slow.x, atol=1e-8)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("partition", ["variable", "sort"])
def test_every_rule_converges(rng, rule, partition):
    X = rng.standard_normal((30, 12))
    y = X @ rng.standard_normal(12)
    res = bcd(X, y, Quadratic(), L1(0.05), rule=rule, block_size=3, partition=partition,
              tol=1e-8, max_iter=5000, random_state=0)
    ref = bcd(X, y, Quadratic(), L1(0.05), tol=1e-12)
    assert res.converged
    assert res.objective == pytest.approx(ref.objective, rel=1e-6)


@pytest.mark.parametrize("update", UPDATES)
@pytest.mark.parametrize("penalty", [L1(0.02), L2(0.05)], ids=repr)
def test_every_update_converges(rng, update, penalty):
    X = rng.standard_normal((40, 10))
    y = X @ rng.standard_normal(10) + rng.standard_normal(40)
    datafit = Quadratic()
    if update != "exact":
        datafit, y = Logistic(), np.where(y > 0, 1.0, -1.0)
    res = bcd(X, y, datafit, penalty, rule="gsl", block_size=4, partition="order",
              update=update, tol=1e-8, max_iter=5000)
    ref = bcd(X, y, datafit, penalty, tol=1e-12)
    assert res.converged
    assert res.objective == pytest.approx(ref.objective, rel=1e-6)


def test_float32_and_warm_start(regression):
    X, y = regression
    res32 = bcd(X.astype(np.float32), y.astype(np.float32), Quadratic(), L1(0.05), tol=1e-8)
    res64 = bcd(X, y, Quadratic(), L1(0.05), tol=1e-8)
    assert res32.x.dtype == np.float32
    np.testing.assert_allclose(res32.x, res64.x, atol=1e-5)
    warm = bcd(X, y, Quadratic(), L1(0.05), tol=1e-8, coef_init=res64.x)
    assert warm.n_iter <= 1


def test_inputs_unchanged(regression):
    X, y = regression
    X0, y0 = X.copy(), y.copy()
    bcd(X, y, Quadratic(), L1(0.05), fit_intercept=True)
    with pytest.warns(ConvergenceWarning):  # a short budget: the inputs matter here
        bcd(X, y, Quadratic(), L1(0.05), rule="gs", block_size=2, max_iter=20)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_not_converged_warns(regression):
    X, y = regression
    with pytest.warns(ConvergenceWarning, match="gap"):
        res = bcd(X, y, Quadratic(), L1(0.001), rule="cyclic", max_iter=3)
    assert not res.converged


def test_no_penalty_uses_kkt(regression):
    X, y = regression
    res = bcd(X[:, :10], y, Quadratic(), NoPenalty(), tol=1e-9)
    ref = np.linalg.lstsq(X[:, :10], y, rcond=None)[0]
    np.testing.assert_allclose(res.x, ref, atol=1e-6)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(rule="best"), ValueError, "rule"),
    (dict(update="fast"), ValueError, "update"),
    (dict(partition="random"), ValueError, "partition"),
    (dict(block_size=0), ValueError, "block_size"),
    (dict(tol=-1.0), ValueError, "tol"),
    (dict(max_iter=0), ValueError, "max_iter"),
    (dict(coef_init=np.zeros(3)), ValueError, "coef_init"),
])
def test_bad_options(regression, kwargs, error, match):
    X, y = regression
    with pytest.raises(error, match=match):
        bcd(X, y, Quadratic(), L1(0.1), **kwargs)


def test_bad_inputs(regression):
    X, y = regression
    with pytest.raises(TypeError, match="datafit"):
        bcd(X, y, "quadratic", L1(0.1))
    with pytest.raises(TypeError, match="penalty"):
        bcd(X, y, Quadratic(), 0.1)
    with pytest.raises(ValueError, match="y has length"):
        bcd(X, y[:-1], Quadratic(), L1(0.1))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        bcd(bad, y, Quadratic(), L1(0.1))
    with pytest.raises(ValueError, match="exact"):
        bcd(X, np.sign(y), Logistic(), L1(0.1), update="exact", rule="gs")
    with pytest.raises(ValueError, match="-1, \\+1"):
        bcd(X, y, Logistic(), L1(0.1))


@pytest.mark.parametrize("shape, size", [((400, 800), 50), ((2000, 100), 10), ((50, 4000), 80)])
def test_auto_first_working_set_follows_the_width(shape, size):
    from numsolve.linear_model._solver import _first_working_set

    X = np.zeros(shape)
    assert _first_working_set("auto", Logistic(), X) == size
    assert _first_working_set("auto", Quadratic(), X) == 10
    assert _first_working_set("auto", Logistic(), sp.csc_matrix(X)) == 10
    assert _first_working_set(7, Logistic(), X) == 7


def test_auto_first_working_set_reaches_the_fixed_ones_solution(rng):
    """A larger first working set changes the path, not the solution: both fits meet the
    requested gap and agree on the objective to it."""
    X = rng.standard_normal((300, 800))
    y = np.sign(X[:, :5] @ rng.standard_normal(5) + 0.3 * rng.standard_normal(300))
    alpha = np.abs(X.T @ y).max() / (2 * 300) / 20
    tol = 1e-8
    auto, fixed = (bcd(X, y, Logistic(), L1(alpha), tol=tol, p0=p0) for p0 in ("auto", 10))
    assert auto.converged and fixed.converged
    assert abs(auto.objective - fixed.objective) <= tol * np.log(2)
    with pytest.raises(ValueError, match="p0"):
        bcd(X, y, Logistic(), L1(alpha), p0="large")
