"""BLAS threads of the solvers (``numsolve._blas_threads``): small logistic problems on the smooth route
and small dense problems on the working-set engines run on one BLAS thread, larger and
sparse ones keep the caller's threads; the caller's limit is back after the fit."""

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info, threadpool_limits

from numsolve.linear_model import L1, L2, Logistic, Multinomial, Quadratic, bcd
from numsolve.linear_model import _smooth_route, _solver


def _blas_threads():
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


@pytest.fixture
def recorded_threads(monkeypatch):
    """The BLAS thread counts seen by every loss evaluation of the optimiser."""
    seen = set()
    evaluate = _smooth_route._Problem.value_and_gradient

    def recording(problem, x):
        seen.update(_blas_threads())
        return evaluate(problem, x)

    monkeypatch.setattr(_smooth_route._Problem, "value_and_gradient", recording)
    return seen


def _problem(n_classes):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 20))
    y = np.argmax(X[:, :n_classes] + rng.standard_normal((600, n_classes)), axis=1)
    if n_classes == 2:
        return X, 2.0 * y - 1.0, Logistic()
    return X, y, Multinomial()


@pytest.mark.parametrize("n_classes", [2, 4])
def test_small_problem_is_optimised_on_one_blas_thread(recorded_threads, n_classes):
    X, y, datafit = _problem(n_classes)
    with threadpool_limits(2, user_api="blas"):
        threaded = bcd(X, y, datafit, L2(1.0), tol=1e-10)
        assert _blas_threads() == {2}  # the caller's limit is back after the fit
    assert recorded_threads == {1}
    with threadpool_limits(1, user_api="blas"):
        single = bcd(X, y, datafit, L2(1.0), tol=1e-10)
    np.testing.assert_array_equal(threaded.x, single.x)


def test_large_problem_keeps_the_callers_threads(recorded_threads, monkeypatch):
    monkeypatch.setattr(_smooth_route, "_SINGLE_THREAD_WORK", 100)
    X, y, datafit = _problem(4)
    with threadpool_limits(2, user_api="blas"):
        result = bcd(X, y, datafit, L2(1.0), tol=1e-10)
    assert recorded_threads == {2}
    assert result.converged and result.gap <= result.threshold


@pytest.fixture
def engine_threads(monkeypatch):
    """The BLAS thread counts the working-set engine was entered with."""
    seen = set()
    solve = _solver.solve_working_set

    def recording(*args, **kwargs):
        seen.update(_blas_threads())
        return solve(*args, **kwargs)

    monkeypatch.setattr(_solver, "solve_working_set", recording)
    return seen


def _lasso_problem():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 40))
    y = X[:, :3] @ np.array([2.0, -1.0, 0.5]) + 0.1 * rng.standard_normal(300)
    return X, y, 0.1 * np.max(np.abs(X.T @ y)) / 100


def test_small_dense_working_set_runs_on_one_blas_thread(engine_threads):
    X, y, alpha = _lasso_problem()
    with threadpool_limits(2, user_api="blas"):
        threaded = bcd(X, y, Quadratic(), L1(alpha), tol=1e-10, gram=False)
        assert _blas_threads() == {2}
    assert engine_threads == {1}
    with threadpool_limits(1, user_api="blas"):
        single = bcd(X, y, Quadratic(), L1(alpha), tol=1e-10, gram=False)
    np.testing.assert_array_equal(threaded.x, single.x)
    assert threaded.converged and threaded.gap <= threaded.threshold


@pytest.mark.parametrize("large", ["sparse", "bound"])
def test_sparse_and_large_dense_working_sets_keep_the_callers_threads(
        engine_threads, monkeypatch, large):
    X, y, alpha = _lasso_problem()
    if large == "sparse":
        X = sp.csc_array(X)
    else:
        monkeypatch.setattr(_solver, "_SMALL_DENSE_WORK", X.size - 1)
    with threadpool_limits(2, user_api="blas"):
        result = bcd(X, y, Quadratic(), L1(alpha), tol=1e-10, gram=False)
    assert engine_threads == {2}
    assert result.converged and result.gap <= result.threshold


def test_products_too_small_to_thread_set_no_limit(engine_threads):
    """Below OpenBLAS's smallest threading threshold no limit is set (it would only cost):
    the engine sees the caller's threads and the fit is the one-thread fit."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((100, 30))
    y = X[:, :3] @ np.array([2.0, -1.0, 0.5]) + 0.1 * rng.standard_normal(100)
    alpha = 0.001 * np.max(np.abs(X.T @ y))
    with threadpool_limits(2, user_api="blas"):
        threaded = bcd(X, y, Quadratic(), L1(alpha), tol=1e-10, gram=False)
    assert engine_threads == {2}
    with threadpool_limits(1, user_api="blas"):
        single = bcd(X, y, Quadratic(), L1(alpha), tol=1e-10, gram=False)
    np.testing.assert_allclose(threaded.x, single.x, rtol=1e-10, atol=1e-12)
    assert threaded.converged and threaded.gap <= threaded.threshold
