"""plot_convergence on what solvers and estimators return: any history key, zeros, estimators."""

import warnings

import numpy as np
import pytest

from numsolve import SolveResult

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from numsolve.plotting import plot_convergence  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    matplotlib.pyplot.close("all")


def result(**history):
    length = len(next(iter(history.values())))
    return SolveResult(None, length, True, "ok",
                       history={"iteration": np.arange(float(length)), "elapsed":
                                np.linspace(0.0, 1.0, length), **history})


def test_topo_history_draws_its_score():
    from numsolve.dag import topo_swaps
    from numsolve.dag._simulate import simulate_dag, simulate_linear_sem, simulate_parameter

    B = simulate_dag(6, 6, "ER", random_state=0)
    X = simulate_linear_sem(simulate_parameter(B, random_state=0), 200, random_state=0)
    res = topo_swaps(X, random_state=0)
    ax = plot_convergence(res)
    assert ax.get_ylabel() == "score"
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), res.history["score"])


def test_a_history_without_a_preferred_key_draws_its_first_figure():
    ax = plot_convergence(result(swaps=np.array([3.0, 1.0, 0.0]), other=np.ones(3)))
    assert ax.get_ylabel() == "swaps"


def test_fitted_estimators_are_drawn_from_their_history():
    from numsolve.linear_model import Lasso

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 10))
    Y = X[:, :2] @ np.array([[1.0, 2.0], [-1.0, 0.5]])
    single = Lasso(alpha=0.01, tol=1e-10).fit(X, Y[:, 0])
    ax = plot_convergence(single)
    assert ax.get_ylabel() == "gap"
    np.testing.assert_array_equal(ax.lines[0].get_ydata(),
                                  np.where(single.history_["gap"] > 0,
                                           single.history_["gap"], np.nan))
    ax = plot_convergence({"two targets": Lasso(alpha=0.01).fit(X, Y)})
    assert [line.get_label() for line in ax.lines] == ["two targets [0]", "two targets [1]"]


def test_an_estimator_holding_a_result_is_drawn():
    class Fitted:
        result_ = result(residual=np.array([1.0, 0.5]))

    assert plot_convergence(Fitted()).get_ylabel() == "residual"
    with pytest.raises(TypeError, match="fitted estimator with history_"):
        plot_convergence(object())


def test_a_gap_of_exactly_zero_leaves_the_log_plot_finite():
    ax = plot_convergence(result(gap=np.array([1.0, 1e-3, 0.0])))
    ax.figure.canvas.draw()
    low, high = ax.get_ylim()
    assert ax.get_yscale() == "log" and 0 < low < 1e-3 and high >= 1.0
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [1.0, 1e-3, np.nan])


def test_all_zero_values_fall_back_to_a_linear_axis():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns on a log axis without positives
        ax = plot_convergence(result(gap=np.zeros(3)))
        ax.figure.canvas.draw()
    assert ax.get_yscale() == "linear"
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), np.zeros(3))
