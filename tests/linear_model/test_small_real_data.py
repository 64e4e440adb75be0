"""Lasso and ElasticNet with their defaults on small real data sets (the shortcut of tall dense
least squares to the Gram engine): scikit-learn's solutions, the requested gap, dtypes kept,
inputs untouched."""

import numpy as np
import pytest
from sklearn import datasets
from sklearn import linear_model as sk
from sklearn.exceptions import ConvergenceWarning

from numsolve.linear_model import L1, ElasticNet, L1PlusL2, Lasso, Quadratic, bcd
from numsolve.linear_model import _gram_engine

_SETS = {"diabetes": datasets.load_diabetes, "breast_cancer": datasets.load_breast_cancer,
         "wine": datasets.load_wine}


def _data(name):
    X, y = _SETS[name](return_X_y=True)
    return X, y.astype(float)


def _duality_gap(X, y, coef, intercept, alpha, l1_ratio):
    """The elastic net's duality gap on numsolve's objective scale (its dual point), from
    scratch:
    ``1/(2n) ||y - Xw - b||^2 + alpha l1_ratio ||w||_1 + alpha (1 - l1_ratio)/2 ||w||^2``,
    with ``b`` optimal (centred data) when ``intercept`` is not None."""
    X = np.asarray(X, dtype=float)
    if intercept is not None:
        X, y = X - X.mean(axis=0), y - y.mean()
    n = X.shape[0]
    w = np.asarray(coef, dtype=float)
    l1, l2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
    r = (y - X @ w) / n
    # the dual point: the residual, scaled into the L1 ball when there is no ridge part
    correlation = np.max(np.abs(X.T @ r))
    theta = r if l2 > 0 or correlation <= l1 else (l1 / correlation) * r
    v = X.T @ theta
    primal = 0.5 * n * r @ r + l1 * np.abs(w).sum() + 0.5 * l2 * w @ w
    excess = np.maximum(np.abs(v) - l1, 0.0)
    conjugate = excess @ excess / (2 * l2) if l2 > 0 else 0.0
    dual = theta @ y - 0.5 * n * theta @ theta - conjugate
    return primal - dual


@pytest.mark.parametrize("name", sorted(_SETS))
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_defaults_agree_with_scikit_learn_to_the_requested_gap(name, fit_intercept, l1_ratio):
    """With default settings the fit's gap, computed independently, meets ``tol * P(0)``,
    and the coefficients are those of a tight scikit-learn fit within what that gap allows
    (the objective is 1/n-strongly convex along the data: ``||X(w - w*)||^2 / (2n) <= gap``)."""
    X, y = _data(name)
    ours = (Lasso(fit_intercept=fit_intercept) if l1_ratio == 1.0
            else ElasticNet(fit_intercept=fit_intercept)).fit(X, y)
    reference = sk.ElasticNet(alpha=1.0, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                              tol=1e-14, max_iter=100_000, precompute=True).fit(X, y)
    gap = _duality_gap(X, y, ours.coef_, ours.intercept_ if fit_intercept else None, 1.0,
                       l1_ratio)
    threshold = 1e-4 * 0.5 * np.mean(y * y)  # tol * P(0), as documented
    round_off = 1e-9 * threshold  # gaps reached at round-off read slightly apart
    assert -round_off <= gap <= threshold + round_off
    assert ours.dual_gap_ == pytest.approx(gap, rel=1e-6, abs=round_off)
    Xc = X - X.mean(axis=0) if fit_intercept else X
    distance = np.mean((Xc @ (ours.coef_ - reference.coef_)) ** 2) / 2
    assert distance <= gap * (1 + 1e-6) + round_off
    if fit_intercept:
        expected = y.mean() - X.mean(axis=0) @ ours.coef_
        assert ours.intercept_ == pytest.approx(expected, rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("name", ["breast_cancer", "diabetes"])
def test_tight_fits_match_scikit_learn(name):
    """At a tight tolerance both solvers land on the same coefficients."""
    X, y = _data(name)
    ours = Lasso(alpha=0.1, tol=1e-14).fit(X, y)
    reference = sk.Lasso(alpha=0.1, tol=1e-14, max_iter=100_000, precompute=True).fit(X, y)
    scale = np.abs(reference.coef_).max()
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=0, atol=1e-6 * scale)
    assert ours.intercept_ == pytest.approx(reference.intercept_, rel=1e-6)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_estimator_shortcut_is_bcds_gram_route(fit_intercept):
    """The estimators' direct call of the engine solves what :func:`bcd` solves (same
    objective, centring and stopping rule): the same solution at a tight tolerance, and the
    same gap figures at the default one."""
    X, y = _data("breast_cancer")
    for model, penalty in ((Lasso(alpha=0.05), L1(0.05)),
                           (ElasticNet(alpha=0.05, l1_ratio=0.3), L1PlusL2(0.05, 0.3))):
        model.set_params(fit_intercept=fit_intercept, tol=1e-13).fit(X, y)
        result = bcd(X, y, Quadratic(), penalty, tol=1e-13, fit_intercept=fit_intercept)
        assert result.route == "gram"
        scale = np.abs(result.x).max()
        np.testing.assert_allclose(model.coef_, result.x, rtol=0, atol=1e-6 * scale)
        if fit_intercept:
            assert model.intercept_ == pytest.approx(float(result.intercept), rel=1e-6)
        model.set_params(tol=1e-4).fit(X, y)
        result = bcd(X, y, Quadratic(), penalty, tol=1e-4, fit_intercept=fit_intercept)
        assert model.dual_gap_ <= result.threshold and result.gap <= result.threshold
        assert model.history_["gap"][-1] == model.dual_gap_


def test_whole_gram_and_lazy_gram_reach_the_same_solution(monkeypatch):
    """The whole Gram at once (small problems) and the Gram grown by working sets solve the
    same problem: both meet the requested gap at the same coefficients."""
    X, y = _data("breast_cancer")
    whole = Lasso(alpha=0.05, tol=1e-12).fit(X, y)
    monkeypatch.setattr(_gram_engine, "WHOLE_GRAM_WORK", 0)
    lazy = Lasso(alpha=0.05, tol=1e-12).fit(X, y)
    assert whole.n_iter_ == 1  # one working set holds every feature
    np.testing.assert_allclose(whole.coef_, lazy.coef_, rtol=1e-6,
                               atol=1e-6 * np.abs(lazy.coef_).max())


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_float32_is_kept_and_close_to_float64(fit_intercept):
    X, y = _data("wine")
    single = Lasso(alpha=0.1, fit_intercept=fit_intercept).fit(X.astype(np.float32),
                                                               y.astype(np.float32))
    double = Lasso(alpha=0.1, fit_intercept=fit_intercept).fit(X, y)
    assert single.coef_.dtype == np.float32
    assert single.predict(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(single.coef_, double.coef_, rtol=1e-4,
                               atol=1e-4 * np.abs(double.coef_).max())


def test_callers_arrays_are_not_modified():
    """Integer, C-ordered and Fortran-ordered inputs and the sample weights come back as
    they went in (the shortcut centres a copy)."""
    X, y = _data("diabetes")
    weights = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    for design in (X, np.asfortranarray(X), np.round(100 * X).astype(np.int64)):
        copies = design.copy(), y.copy(), weights.copy()
        ElasticNet(alpha=0.01).fit(design, y, sample_weight=weights)
        Lasso(alpha=0.01, fit_intercept=False).fit(design, y)
        for before, after in zip(copies, (design, y, weights)):
            np.testing.assert_array_equal(before, after)


def test_sample_weights_match_repeated_rows():
    """Integer sample weights are the same fit as repeating those rows."""
    X, y = _data("diabetes")
    counts = np.random.default_rng(1).integers(1, 4, X.shape[0])
    weighted = Lasso(alpha=0.05, tol=1e-12).fit(X, y, sample_weight=counts)
    repeated = Lasso(alpha=0.05, tol=1e-12).fit(np.repeat(X, counts, axis=0),
                                                np.repeat(y, counts))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6,
                               atol=1e-6 * np.abs(repeated.coef_).max())
    assert weighted.intercept_ == pytest.approx(repeated.intercept_, rel=1e-6)


def test_warm_start_continues_from_the_previous_fit():
    X, y = _data("breast_cancer")
    model = Lasso(alpha=0.1, warm_start=True, tol=1e-8).fit(X, y)
    model.set_params(alpha=0.05).fit(X, y)
    cold = Lasso(alpha=0.05, tol=1e-8).fit(X, y)
    np.testing.assert_allclose(model.coef_, cold.coef_, rtol=1e-4,
                               atol=1e-4 * np.abs(cold.coef_).max())
    assert model.intercept_ == pytest.approx(cold.intercept_, rel=1e-4)


def test_iteration_budget_too_small_warns(rng):
    """The shortcut warns as bcd does when ``max_iter`` outer iterations miss the gap (a
    problem too large for the whole Gram, so one outer iteration solves one working set)."""
    X = rng.standard_normal((2000, 300))
    y = X[:, :30] @ rng.standard_normal(30) + rng.standard_normal(2000)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model = Lasso(alpha=0.001, max_iter=1, tol=1e-12).fit(X, y)
    assert model.n_iter_ == 1 and model.dual_gap_ > 1e-12 * 0.5 * np.mean(y * y)


@pytest.mark.parametrize("name, most", [("wine", 2), ("breast_cancer", 3)])
def test_small_grams_run_long_compiled_runs(monkeypatch, name, most):
    """On a Gram of a few dozen features an epoch costs far less than a round of Python
    (extrapolation, stall test): without intercept wine is solved in two compiled runs
    (four when runs started at six epochs and doubled), breast cancer in three (six with
    runs of 2**14 multiply-adds), to the requested gap."""
    from unittest.mock import Mock

    from numsolve.linear_model import _gram_route

    X, y = _data(name)
    runs = Mock(wraps=_gram_route.gram_epochs)
    monkeypatch.setattr(_gram_route, "gram_epochs", runs)
    model = Lasso(fit_intercept=False).fit(X, y)
    assert runs.call_count <= most
    gap = _duality_gap(X, y, model.coef_, None, 1.0, 1.0)
    assert gap <= 1e-4 * 0.5 * np.mean(y * y)


def test_intercept_is_eliminated_on_the_gram_without_a_centred_copy():
    """With an intercept on a small tall problem the Gram is centred in place of ``X``: the
    fit allocates far less than a copy of ``X`` (Fortran float64 input, read in place)."""
    import tracemalloc

    X, y = datasets.load_digits(return_X_y=True)
    X, y = np.asfortranarray(X, dtype=np.float64), y.astype(float)
    model = Lasso()
    model.fit(X, y)  # imports and caches first
    tracemalloc.start()
    model.fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < X.nbytes / 4


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_gram_centring_falls_back_where_it_would_lose_digits(rng, offset):
    """A feature whose mean dwarfs its spread (1e6 against 1: centring on the Gram would
    cancel twelve digits) gets the same fit as without the offset."""
    X = rng.standard_normal((300, 8))
    y = X @ rng.standard_normal(8) + rng.standard_normal(300)
    shifted = X.copy()
    shifted[:, 2] += offset
    fit = Lasso(alpha=0.01, tol=1e-12).fit(shifted, y)
    reference = Lasso(alpha=0.01, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(fit.coef_, reference.coef_, rtol=1e-7, atol=1e-9)
    assert fit.intercept_ == pytest.approx(reference.intercept_ - offset * fit.coef_[2],
                                           rel=1e-7, abs=1e-7)


def test_whole_problem_is_solved_to_the_requested_gap_not_half(monkeypatch):
    """With every feature in the one working set its restricted gap is the problem's gap:
    the solve aims at the threshold itself (half of it made some fits run past the
    threshold: breast cancer with intercept, 6.1e-6 against 5.8e-6, then a Newton step)."""
    from unittest.mock import Mock

    X, y = _data("breast_cancer")
    solve = Mock(wraps=_gram_engine.solve_restricted)
    monkeypatch.setattr(_gram_engine, "solve_restricted", solve)
    result = bcd(X, y, Quadratic(), L1(1.0), tol=1e-4, fit_intercept=True)
    assert result.converged and result.gap <= result.threshold
    assert {call.args[6] for call in solve.call_args_list} == {result.threshold}
