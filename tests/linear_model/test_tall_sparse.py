"""Sparse least squares: on tall data the whole problem is one working set solved by
coordinate epochs, and its last check is the final evaluation (no extra full gradient); a
settled support small against n is finished by epochs, not by the exact Newton finish, where
their rate reaches the requested gap soon."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Lasso

from numsolve.linear_model import L1, Quadratic, _working_set, bcd
from numsolve.linear_model._design import Design
from numsolve.linear_model._objective import optimality
from numsolve.linear_model._working_set import _EPOCH_FINISH, _epochs_to


def _problem(n, p, seed=0, density=0.02, offset=2.0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csc", random_state=seed,
                  data_rvs=rng.standard_normal)
    w = np.zeros(p)
    w[rng.choice(p, 20, replace=False)] = 3 * rng.standard_normal(20)
    y = X @ w + 0.1 * rng.standard_normal(n) + offset
    return X, y


def _gap(X, y, coef, intercept, alpha, a):
    """Primal objective and duality gap; with an intercept the dual point is centred."""
    W = np.asarray(coef, dtype=float).reshape(-1, 1)
    Z = np.asarray(X @ W) + (0.0 if intercept is None else intercept)
    G = Quadratic().raw_gradient(Z, y, a, np)
    if intercept is not None:
        G = G - a[:, None] * G.sum()
    return optimality(Quadratic(), L1(alpha), W, Z, y, a, np.asarray(X.T @ G), G, np)[:2]


@pytest.fixture
def calls(monkeypatch):
    """Working-set sizes given to the epochs, full evaluations (the start's, taken with the
    column norms, included) and Newton finishes."""
    seen = {"sizes": [], "evaluations": 0, "newton": 0}
    inner, evaluate, first, newton = (_working_set._inner, _working_set._evaluate,
                                      _working_set._first_evaluation,
                                      _working_set.newton_finish)

    def counted_inner(design, y, a, datafit, penalty, W, b, Z, G, ws, *args):
        seen["sizes"].append(ws.size)
        return inner(design, y, a, datafit, penalty, W, b, Z, G, ws, *args)

    def counted(evaluation):
        def run(*args):
            seen["evaluations"] += 1
            return evaluation(*args)
        return run

    def counted_newton(*args, **kwargs):
        seen["newton"] += 1
        return newton(*args, **kwargs)

    monkeypatch.setattr(_working_set, "_inner", counted_inner)
    monkeypatch.setattr(_working_set, "_evaluate", counted(evaluate))
    monkeypatch.setattr(_working_set, "_first_evaluation", counted(first))
    monkeypatch.setattr(_working_set, "newton_finish", counted_newton)
    return seen


@pytest.mark.parametrize("divisor", [10, 1000])
def test_tall_problem_is_one_working_set(calls, divisor):
    n, p = 4000, 200
    X, y = _problem(n, p)
    y = y - 2.0
    alpha = np.abs(X.T @ y).max() / n / divisor
    result = bcd(X, y, Quadratic(), L1(alpha), tol=1e-8)
    # every feature, solved to where screening starts; then what screening kept
    assert result.converged and result.n_iter == 2
    assert calls["sizes"][0] == p and calls["sizes"][1] == p - result.history["n_screened"][1]
    assert calls["newton"] == 0
    if divisor == 10:  # a support of about 20: screening keeps few features
        assert calls["sizes"][1] < p // 4
    # the start's evaluation only: each solve's last check is the next evaluation
    assert calls["evaluations"] == 1
    gap = _gap(X, y, result.x, None, alpha, np.full(n, 1.0 / n))[1]
    threshold = result.extras["threshold"]
    # lands on the request, not on round-off: within 100x below it
    assert threshold / 100 <= gap <= threshold
    assert gap == pytest.approx(result.extras["gap"], rel=1e-6, abs=1e-15)


def test_tall_problem_without_screening_is_one_solve(calls):
    n, p = 4000, 200
    X, y = _problem(n, p)
    alpha = np.abs(X.T @ (y - 2.0)).max() / n / 100
    result = bcd(X, y - 2.0, Quadratic(), L1(alpha), tol=1e-8, screening=False)
    assert result.converged and result.n_iter == 1 and calls["sizes"] == [p]


def test_tall_problem_matches_scikit_learn_with_intercept_and_weights():
    n, p = 3000, 150
    X, y = _problem(n, p, seed=1)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, n)
    alpha = np.abs(X.T @ (y - y.mean())).max() / n / 100
    result = bcd(X, y, Quadratic(sample_weight=weights), L1(alpha), tol=1e-10,
                 fit_intercept=True)
    assert result.converged and result.n_iter <= 2
    reference = Lasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(
        X, y, sample_weight=weights * n / weights.sum())
    a = weights / weights.sum()
    ours, _ = _gap(X, y, result.x, result.extras["intercept"], alpha, a)
    theirs, _ = _gap(X, y, reference.coef_, reference.intercept_, alpha, a)
    assert ours <= theirs + result.extras["threshold"]
    np.testing.assert_allclose(result.x, reference.coef_, atol=1e-5)


def test_square_problem_keeps_growing_working_sets(calls):
    n, p = 600, 300  # n < 10 p: epochs over every feature would be dearer than the schedule
    X, y = _problem(n, p)
    alpha = np.abs(X.T @ (y - 2.0)).max() / n / 10
    result = bcd(X, y - 2.0, Quadratic(), L1(alpha), tol=1e-8, gram=False)
    assert result.converged
    assert calls["sizes"][0] == 10 < p


def test_design_keeps_a_validated_csc_matrix():
    from numsolve.linear_model._design import Design

    X, _ = _problem(300, 30)
    assert Design(X).X is X  # its canonical-format check is not repeated on a new object
    # duplicates are summed on a copy, never in the caller's matrix
    rows, cols = X.nonzero()
    values = np.asarray(X[rows, cols]).ravel()
    duplicated = sp.csc_matrix((np.r_[values, values], (np.r_[rows, rows], np.r_[cols, cols])),
                               shape=X.shape)
    duplicated.has_canonical_format = False
    stored = duplicated.data.copy()
    design = Design(duplicated)
    assert design.X is not duplicated
    np.testing.assert_array_equal(duplicated.data, stored)
    np.testing.assert_allclose(design.X.toarray(), 2 * X.toarray())


def test_epochs_to_the_target_at_the_measured_rate():
    assert _epochs_to(1e-5, 1e-3, -1.0) == pytest.approx(np.log(100.0))
    assert _epochs_to(1e-5, 1e-3, None) == np.inf
    assert _epochs_to(1e-5, 1e-3, 0.5) == np.inf  # no decrease measured
    assert _epochs_to(1e-3, 1e-5, -1.0) == 0.0  # already there


def _fit(monkeypatch, epoch_finish):
    n, p = 1000, 10_000
    X, y = _problem(n, p, density=2e-3, offset=0.0)
    alpha = np.abs(X.T @ y).max() / n / 10
    finishes = []
    newton = _working_set.newton_finish

    def counted(*args, **kwargs):
        finishes.append(1)
        return newton(*args, **kwargs)

    monkeypatch.setattr(_working_set, "newton_finish", counted)
    monkeypatch.setattr(_working_set, "_EPOCH_FINISH", epoch_finish)
    # where the solve itself stops: the landing would step either point back to near the
    # request afterwards (tests/linear_model/test_landing.py)
    monkeypatch.setattr(_working_set, "overshot", lambda crit, threshold: False)
    result = bcd(X, y, Quadratic(), L1(alpha), tol=1e-8)
    return result, len(finishes), _gap(X, y, result.x, None, alpha, np.full(n, 1.0 / n))[1]


def test_epochs_replace_the_last_exact_finish(monkeypatch):
    exact, exact_finishes, exact_gap = _fit(monkeypatch, epoch_finish=0)
    result, finishes, gap = _fit(monkeypatch, epoch_finish=_EPOCH_FINISH)
    assert exact.converged and result.converged
    assert finishes < exact_finishes
    threshold = result.extras["threshold"]
    # the exact finish lands at round-off; the epochs stop nearer the request
    assert exact_gap < 1e-6 * threshold < gap <= threshold
    np.testing.assert_allclose(result.x, exact.x, atol=1e-4)


def test_tall_route_runs_one_call_per_check(monkeypatch):
    """The tall route enters the compiled epochs once per check, not once per epoch, each
    call returning its check's gradient (no separate full gradient), and still lands on
    scikit-learn's solution."""
    X, y = _problem(4000, 200, offset=0.0)
    n = X.shape[0]
    alpha = np.abs(X.T @ y).max() / n / 1000
    calls = []
    epochs = Design.epochs

    def counted(self, kind, y, a, W, Z, ws, lips, l1, l2, positive, snapshots, G=None):
        calls.append((len(snapshots), G is not None))
        return epochs(self, kind, y, a, W, Z, ws, lips, l1, l2, positive, snapshots, G)

    monkeypatch.setattr(Design, "epochs", counted)
    result = bcd(X, y, Quadratic(), L1(alpha), tol=1e-8)
    assert result.converged and result.route == "columns"
    assert sum(count for count, _ in calls) == result.extras["epochs"]
    assert len(calls) < result.extras["epochs"] and all(checked for _, checked in calls)
    reference = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(result.x, reference.coef_, atol=1e-6)
